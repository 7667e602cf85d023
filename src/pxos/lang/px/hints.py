"""Hints for the mistakes people make most when writing `.px`: the ``hint:`` line of a
syntax error (``lang/px/lines.py``), and the refusal of a Python program given to a
command that reads `.px` (``cli``).

Each hint names the fix in the program's own words: ``did you mean SET acc = acc + 1?``,
``did you mean STORE v → out[i]?``, ``did you mean GPU_PARAM?``, ``write float[,]``,
``write A[i, k]``, ``python3 foo.py``.
"""

from __future__ import annotations

import ast
import difflib
import re
from pathlib import Path
from typing import TYPE_CHECKING

from pxos.errors import PxFileError, PxSyntaxError
from pxos.span import Span

if TYPE_CHECKING:  # Lark is loaded only where a line leaves the fast path (lines.py)
    import lark

_KEYWORD = re.compile(r"[A-Z][A-Z0-9_]*")
# `name = …` or `name += …` at the start of a line (not `==`)
_ASSIGN = re.compile(r"\s*(?P<name>[A-Za-z_]\w*)\s*(?P<op>\*\*|<<|>>|[-+*/%&|^])?=(?!=)"
                     r"\s*(?P<value>.*)")
# `a[i] = …`: a store written as in Python or C
_STORE = re.compile(r"\s*(?P<target>[A-Za-z_]\w*\s*\[[^\[\]]*\])\s*=(?!=)\s*(?P<value>.*)")
_BRACKETS = re.compile(r"(?P<name>[A-Za-z_]\w*)\s*(?P<pairs>(?:\[[^\[\]]*\]\s*){2,})")


def syntax_hint(text: str, token: str, column: int, expected: set[str]) -> str | None:
    """The fix for a line that does not parse, or ``None`` when there is no likely one.

    Args:
        text: the whole line.
        token: the text of the token the parser did not expect ("" at the end of the line).
        column: its 1-based column.
        expected: the literal words and symbols the parser would have taken there
            (``"SET"``, ``"GPU_PARAM"``, ``"]"`` …).
    """
    if token == "[":
        return _brackets_hint(text, column)
    if not re.fullmatch(r"[A-Za-z_]\w*", token):
        return None
    first = column == len(text) - len(text.lstrip()) + 1
    if first:
        m = _ASSIGN.fullmatch(text.split("#")[0].rstrip())
        if m and m["value"]:
            value = m["value"] if m["op"] is None else f"{m['name']} {m['op']} {m['value']}"
            return f"did you mean `SET {m['name']} = {value}`? (an assignment starts with SET)"
        m = _STORE.fullmatch(text.split("#")[0].rstrip())
        if m and m["value"]:
            return f"did you mean `STORE {m['value']} → {m['target']}`?"
    keywords = sorted(w for w in expected if _KEYWORD.fullmatch(w))
    if token.upper() in keywords and token != token.upper():
        return f"keywords are written in upper case: {token.upper()}"
    close = difflib.get_close_matches(token.upper(), keywords, n=1, cutoff=0.6)
    return f"did you mean {close[0]}?" if close else None


def refuse_glued_words(tree: lark.Tree, line: Span, words) -> None:
    """Refuse a word that the lexer split into a keyword and a name (``RUNN k`` read as
    ``RUN N k``, ``SETacc = 1`` as ``SET acc = 1``): a named token of ``tree`` (NAME,
    INT …) glued to the word before it.

    Args:
        tree: the parse tree of one line; line: a span of that line (its ``text``);
        words: the grammar's literal words, of which the keywords are the upper-case ones.

    Raises:
        PxSyntaxError: under the whole word, with the closest keyword as the hint.
    """
    text = line.text
    for tok in tree.scan_values(lambda v: isinstance(v, str)):  # Lark's tokens are str
        col = tok.column - 1
        if col == 0 or not _is_word(str(tok)[:1]) or not _is_word(text[col - 1]):
            continue
        start = col
        while start > 0 and _is_word(text[start - 1]):
            start -= 1
        word = re.match(r"\w+", text[start:])[0]
        keywords = sorted(w for w in words if _KEYWORD.fullmatch(w))
        close = difflib.get_close_matches(word.upper(), keywords, n=1, cutoff=0.6)
        raise PxSyntaxError(f"unknown word {word!r}", line.at(start + 1, len(word)),
                            f"did you mean {close[0]}?" if close
                            else "put a space after the keyword")


def _is_word(char: str) -> bool:
    return char.isalnum() or char == "_"


def _brackets_hint(text: str, column: int) -> str | None:
    """``float[][]`` and ``A[i][k]``: one pair of brackets, with commas."""
    for m in _BRACKETS.finditer(text):
        if not m.start("pairs") < column - 1 < m.end("pairs"):
            continue
        parts = re.findall(r"\[([^\[\]]*)\]", m["pairs"])
        if all(not p.strip() or set(p.replace(" ", "")) == {","} for p in parts):
            dims = sum(p.count(",") + 1 for p in parts)
            fixed = f"{m['name']}[{',' * (dims - 1)}]"
            return f"write {fixed}: an array type has one pair of brackets, a comma per " \
                   "extra dimension"
        indices = ", ".join(p.strip() for p in parts)
        return f"write {m['name']}[{indices}]: an element has one pair of brackets, its " \
               "indices separated by commas"
    return None


def refuse_python(path: Path) -> None:
    """Refuse a Python program given where a `.px` program belongs.

    A file is taken for Python when its name ends in ``.py`` or ``.pyw``, or when it does
    not end in ``.px`` and either starts with a ``#!…python`` line or parses as Python
    with an ``import`` or ``def`` in it. A missing file passes (its reader reports it).

    Raises:
        PxFileError: the file is a Python program; the message says to run it with python.
    """
    path = Path(path)
    if path.suffix == ".px" or not path.is_file():
        return
    if path.suffix not in (".py", ".pyw") and not _looks_like_python(path):
        return
    raise PxFileError(f"{path} is a Python program, not a .px program; run it with python: "
                      f"python3 {path}",
                      hint="pxos run, check, compile, explain, lint and export read .px "
                           "programs; Python code calls pxos by importing it")


def _looks_like_python(path: Path) -> bool:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return False
    if text.startswith("#!") and "python" in text.split("\n", 1)[0]:
        return True
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError):
        return False
    return any(isinstance(n, (ast.Import, ast.ImportFrom, ast.FunctionDef))
               for n in tree.body)
