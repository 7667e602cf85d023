"""Source positions carried by every IR node and every error (the bottom layer, beside
``errors``, so that an error can point at a line without importing the IR)."""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Span:
    """A place in a source file.

    Attributes:
        file: path of the source as the user named it (``"<string>"`` for text).
        line: 1-based line number.
        col: 1-based column of the first character (in characters, not bytes).
        length: number of characters the caret should cover (at least 1 is drawn).
        text: the whole source line, for the caret display.
    """

    file: str
    line: int
    col: int = 1
    length: int = 1
    text: str = ""

    def where(self) -> str:
        """``file:line:col``."""
        return f"{self.file}:{self.line}:{self.col}"

    def at(self, col: int, length: int = 1) -> "Span":
        """The same line, another column (1-based)."""
        return Span(self.file, self.line, col, length, self.text)

    def find(self, name: str, result: bool = True) -> "Span":
        """The span of the word ``name`` in this statement: with ``result``, its first
        occurrence after an arrow (``→ name``) if the statement has one, else (or without
        ``result``) after the statement's first word; this span itself if the word is not
        there."""
        text, start = self.text, self.col - 1
        arrow = max(text.find("→", start), text.find("->", start)) if result else -1
        if arrow >= 0:
            start = arrow
        else:
            first = re.compile(r"\S+").match(text, start)
            start = first.end() if first else start
        m = re.compile(rf"(?<![A-Za-z0-9_]){re.escape(name)}(?![A-Za-z0-9_])").search(
            text, start)
        return self.at(m.start() + 1, len(name)) if m else self


NOWHERE = Span("<pxos>", 0, 1, 1, "")
