"""Number literals of `.px`: integers (decimal or ``0x`` hexadecimal, at most 64 bits) and
floats (finite in ``f64``; whether they fit ``f32`` is checked with their type).

A decimal literal may not start with ``0`` unless it is ``0`` itself: C would read ``07``
as octal and Python refuses it, so `.px` refuses it with a hint rather than guess. A
literal with more digits than any 64-bit value has is refused here, before Python's own
limit on converting long digit strings (4,300 digits) could raise.
"""

from __future__ import annotations

import math

from pxos.errors import PxSyntaxError, PxTypeError
from pxos.span import Span

_MAX_DECIMAL_DIGITS = 20  # 2**64 - 1 = 18446744073709551615
_MAX_HEX_DIGITS = 16


def short_literal(text: str, keep: int = 24) -> str:
    """``text`` itself if short, else its first digits, an ellipsis and its length."""
    return text if len(text) <= keep else f"{text[:keep]}… ({len(text)} characters)"


def int_literal(text: str, span: Span) -> int:
    """The value of the integer literal ``text`` (an ``INT`` token of the grammar).

    Raises:
        PxSyntaxError: a decimal literal with a leading zero (``07``).
        PxTypeError: a literal too long for 64 bits.
    """
    if text[:2] in ("0x", "0X"):
        digits, base, most = text[2:].lstrip("0"), 16, _MAX_HEX_DIGITS
    else:
        if len(text) > 1 and text[0] == "0":
            value = text.lstrip("0") or "0"
            raise PxSyntaxError(
                f"integer literal {short_literal(text)} has a leading zero", span,
                f"write {short_literal(value)}; .px has no octal literals (write 0x… for "
                "hexadecimal)")
        digits, base, most = text, 10, _MAX_DECIMAL_DIGITS
    if len(digits) > most:
        raise PxTypeError(f"integer literal {short_literal(text)} does not fit in 64 bits",
                          span)
    return int(digits or "0", base)


def float_literal(text: str, span: Span) -> float:
    """The value of the float literal ``text`` (a ``FLOAT`` token of the grammar).

    Raises:
        PxTypeError: a literal beyond the range of ``f64`` (``1e999``), which Python would
            read as infinity.
    """
    value = float(text)
    if math.isinf(value):
        raise PxTypeError(f"the literal {short_literal(text)} is too large for f64 (largest "
                          "1.79769e+308)", span)
    return value
