"""One `.px` line to IR: first the fast path (``lang/px/fast_parse``); a line it does not
take goes to the Lark parser of grammar.lark, which makes every syntax error, and to the
rules of ``lang/px/to_ir`` applied to Lark's tree.

Simple statements become IR statements directly; compound and kernel-header lines become a
:class:`Header` that ``lang/px/parser.py`` assembles into blocks and kernels.

Lark (about 0.2 s to import) and its tables are loaded only when a line leaves the fast
path: a file of well-formed lines parses without them.
"""

from __future__ import annotations

import sys
from functools import cache
from typing import TYPE_CHECKING

from pxos.cache_folder import cache_folder
from pxos.errors import PxSyntaxError
from pxos.ir import nodes as ir
from pxos.lang.px.fast_parse import parse_fast
from pxos.lang.px.hints import refuse_glued_words, syntax_hint
from pxos.lang.px.to_ir import Header, ToIR
from pxos.span import Span

if TYPE_CHECKING:
    import lark


MAX_DEPTH = 100  # parse-tree levels of one line: deep enough for any real expression
MAX_LINE = 10_000  # characters


@cache
def _parser(lexer: str) -> lark.Lark:
    """The parser of grammar.lark with ``lexer``: the basic one from the tables shipped
    with pxos (``lang/px/tables``) where they match, else built by Lark, which keeps the
    tables in the per-user cache (:func:`_parser_cache`)."""
    import lark  # here, not at the top: the fast path needs neither Lark nor its tables

    from pxos.lang.px import tables

    text = tables.grammar()
    shipped = tables.load(text) if lexer == tables.OPTIONS["lexer"] else None
    if shipped is not None:
        return shipped
    return lark.Lark(text, **{**tables.OPTIONS, "lexer": lexer}, cache=_parser_cache(lexer))


def _parse(text: str) -> lark.Tree:
    """One line's parse tree. The basic lexer (one regular expression for all terminals)
    goes first: it is built in a few milliseconds, where the contextual lexer builds one per
    parser state. Where the basic lexer's tokens parse, the contextual lexer finds the same
    ones (it tries the same terminals in the same order, only fewer of them), so the tree is
    the same. A line the basic pass refuses is parsed again with the contextual lexer, whose
    errors name what each position accepts, and which accepts a name that is a keyword
    elsewhere."""
    import lark

    try:
        return _parser("basic").parse(text)
    except lark.exceptions.UnexpectedInput:
        return _parser("contextual").parse(text)


def _parser_cache(lexer: str) -> str | bool:
    """The file where Lark keeps the built LALR tables between processes (building them
    takes about half a second; loading them a few milliseconds). Lark stores a SHA-256 of
    the grammar, its options, its own version and Python's in the file and rebuilds on any
    difference, or when the file is damaged. No cache (``False``) if the folder cannot be
    made: parsing still works, only slower to start."""
    folder = cache_folder() / "parser"
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return False
    import lark

    python = "".join(map(str, sys.version_info[:2]))
    return str(folder / f"px-{lexer}-lark{lark.__version__}-py{python}.pickle")


_TOKEN_WORDS = {
    "ARROW": "'→'", "NAME": "a name", "INT": "an integer", "FLOAT": "a number",
    "STRING": 'a "string"', "COLON": "':'", "LSQB": "'['", "RSQB": "']'", "LPAR": "'('",
    "RPAR": "')'", "COMMA": "','", "EQUAL": "'='", "$END": "end of line", "MINUS": "'-'",
}


def parse_line(text: str, lineno: int, file: str) -> ir.Stmt | Header:
    """Parse one non-blank line (its indentation included, so columns are the file's): by
    the fast path where it takes the line, else by Lark (the same IR either way).

    Raises:
        PxSyntaxError: the line is not a statement of spec v1.
        PxTypeError: a type name that does not exist.
    """
    base = Span(file, lineno, 1, 1, text)
    if text.count("(") > MAX_DEPTH or len(text) > MAX_LINE:
        raise PxSyntaxError(f"line too long or too deeply nested (at most {MAX_LINE} "
                            f"characters and {MAX_DEPTH} parentheses)", base)
    fast = parse_fast(text, base)
    return fast if fast is not None else parse_line_lark(text, base)


def parse_line_lark(text: str, base: Span) -> ir.Stmt | Header:
    """:func:`parse_line` by Lark alone (no fast path), on a line whose length and nesting
    :func:`parse_line` has checked; ``base`` is the line's span. The reference that the fast
    path's tests compare it with.

    Raises:
        PxSyntaxError, PxTypeError: as :func:`parse_line`.
    """
    import lark

    try:
        tree = _parse(text)
    except lark.UnexpectedToken as err:
        tok = err.token
        found = "end of line" if tok.type == "$END" else repr(str(tok))
        expected = sorted({_describe(t) for t in err.expected})
        hint = None
        if tok.type not in ("NAME", "$END") and str(tok).isupper() and "a name" in expected:
            hint = f"{tok} is a reserved keyword and cannot be used as a name"
        col = tok.column if tok.type != "$END" else len(text.rstrip()) + 1
        if hint is None and tok.type != "$END":
            hint = syntax_hint(text, str(tok), col,
                               {_literals().get(t, t) for t in err.expected})
        raise PxSyntaxError(
            f"unexpected {found}; expected {_one_of(expected)}",
            base.at(max(1, col), max(1, len(str(tok))) if tok.type != "$END" else 1),
            hint,
        ) from None
    except lark.UnexpectedCharacters as err:
        raise PxSyntaxError(
            f"unexpected character {text[err.column - 1]!r}", base.at(err.column)
        ) from None
    except lark.UnexpectedEOF:
        raise PxSyntaxError("line ends too early", base.at(len(text.rstrip()) + 1)) from None
    if _depth(tree) > MAX_DEPTH:
        raise PxSyntaxError(f"expression nested more than {MAX_DEPTH} levels deep; split it "
                            "with SET", base)
    refuse_glued_words(tree, base, _literals().values())
    return ToIR(base).transform(tree)


def _depth(tree) -> int:
    """The depth of a parse tree, without recursion (later passes recurse over it)."""
    deepest, stack = 0, [(tree, 1)]
    while stack:
        node, d = stack.pop()
        deepest = max(deepest, d)
        stack.extend((c, d + 1) for c in getattr(node, "children", ()) if c is not None)
    return deepest


@cache
def _literals() -> dict[str, str]:
    import lark

    return {t.name: t.pattern.value for t in _parser("basic").terminals
            if isinstance(t.pattern, lark.lexer.PatternStr)}


def _describe(terminal: str) -> str:
    if terminal in _TOKEN_WORDS:
        return _TOKEN_WORDS[terminal]
    return repr(_literals().get(terminal, terminal))


def _one_of(words: list[str]) -> str:
    if len(words) > 8:
        words = words[:8] + ["…"]
    return words[0] if len(words) == 1 else "one of " + ", ".join(words)
