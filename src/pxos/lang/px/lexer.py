"""The tokens of one `.px` line as Lark's basic lexer of grammar.lark makes them, without
Lark: the fast path's tokenizer (``lang/px/fast_parse``).

Lark's basic lexer tries one alternation of the grammar's terminals, regular expressions
first (FLOAT before INT), then the literal symbols, longer ones first; a NAME that spells a
literal word of the grammar (``SET``, ``ROWS`` …) is that keyword; spaces, tabs, form feeds,
carriage returns and ``#`` comments are skipped. :data:`_TOKEN` is that alternation, with
the terminals' patterns copied from grammar.lark (a test compares the keywords and symbols
with Lark's).
"""

from __future__ import annotations

import re
from importlib import resources

_SYMBOLS = ["->", "→", "..", "**", "<<", ">>", "<=", ">=", "==", "!=",
            "<", ">", "=", "+", "-", "*", "/", "%", "&", "|", "^", "~", "(", ")", "[", "]",
            ",", ":"]
_TOKEN = re.compile("|".join([
    r"(?P<SKIP>[ \t\f\r]+|#[^\n]*)",
    r"(?P<FLOAT>[0-9]+\.[0-9]+(?:[eE][+-]?[0-9]+)?|[0-9]+[eE][+-]?[0-9]+"
    r"|\.[0-9]+(?:[eE][+-]?[0-9]+)?)",
    r"(?P<INT>0[xX][0-9a-fA-F]+|[0-9]+)",
    r"(?P<NAME>[A-Za-z_][A-Za-z0-9_]*)",
    r'(?P<STRING>"[^"\n]*")',
    "(?P<SYMBOL>" + "|".join(map(re.escape, _SYMBOLS)) + ")",
]))
_KEYWORDS = frozenset(re.findall(r'"([A-Z_][A-Z0-9_]*)"', resources.files(__package__)
                                 .joinpath("grammar.lark").read_text("utf-8")))
_WORD_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_")
_ARROWS = ("->", "→")


def tokenize(text: str) -> tuple[list[str], list[str], list[int]] | None:
    """The tokens of one line: their kinds (the keyword or symbol itself, or ``NAME``,
    ``INT``, ``FLOAT``, ``STRING``, ``ARROW``), their texts and their 0-based start offsets,
    each list ending with an ``$END`` token at the end of ``text``.

    None where the basic lexer would refuse a character, and where a word starts right
    after the end of another (``1abc``, ``RUNN``-like splits, ``1AND``): those lines are
    for Lark and ``hints.refuse_glued_words``. Raises nothing.
    """
    kinds, texts, starts = [], [], []
    pos, word_before = 0, False
    for m in _TOKEN.finditer(text):
        start = m.start()
        if start != pos:
            return None  # a character no terminal matches
        pos = m.end()
        kind = m.lastgroup
        if kind == "SKIP":
            word_before = False
            continue
        value = m.group()
        if kind == "SYMBOL":
            kind = "ARROW" if value in _ARROWS else value
        elif word_before and value[0] in _WORD_CHARS:
            return None
        elif kind == "NAME" and value in _KEYWORDS:
            kind = value
        word_before = value[-1] in _WORD_CHARS
        kinds.append(kind)
        texts.append(value)
        starts.append(start)
    if pos != len(text):
        return None
    kinds.append("$END")
    texts.append("")
    starts.append(pos)
    return kinds, texts, starts
