"""Quantities in words, as pxos's reports print them: bytes (``4.0 MB``) and seconds
(``12.5 µs``). The bottom layer, beside ``errors``, so that every layer prints them alike."""

from __future__ import annotations


def format_bytes(n: float) -> str:
    """``n`` bytes in B, KB, MB or GB (SI powers of 1000): ``"512 B"``, ``"4.2 MB"``."""
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n} B"


def format_seconds(t: float) -> str:
    """``t`` seconds in the unit that reads best: ``"80 ns"``, ``"12.5 µs"``,
    ``"3.20 ms"``, ``"1.50 s"``."""
    if t < 1e-6:
        return f"{t * 1e9:.0f} ns"
    if t < 1e-3:
        return f"{t * 1e6:.1f} µs"
    if t < 1:
        return f"{t * 1e3:.2f} ms"
    return f"{t:.2f} s"
