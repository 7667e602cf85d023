"""Source positions carried by every IR node."""

from __future__ import annotations

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


NOWHERE = Span("<pxos>", 0, 1, 1, "")
