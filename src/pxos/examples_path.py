"""Where the bundled examples are: inside the installed wheel (``pxos/examples``), or the
repository's ``examples/`` folder for an editable install."""

from __future__ import annotations

from pathlib import Path

from pxos.errors import PxError


def examples_dir() -> Path:
    """The folder holding the example `.px` programs and ``data/``.

    Raises:
        PxError: neither location exists (a broken install).
    """
    here = Path(__file__).resolve().parent
    for candidate in (here / "examples", here.parents[1] / "examples"):
        if (candidate / "edges.px").is_file():
            return candidate
    raise PxError("the bundled examples are missing from this installation of pxos")
