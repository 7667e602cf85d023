"""Where pxos keeps what it builds once per machine: compiled kernels (``backends/cache``),
the `.px` parser's tables (``lang/px/lines``), calibration and history (``planner``).

``$PXOS_CACHE_DIR`` if set, else ``$XDG_CACHE_HOME/pxos``, else ``~/.cache/pxos``. This
module sits at the bottom layer (with ``errors``) so that every layer can find the folder.
"""

from __future__ import annotations

import os
from pathlib import Path


def cache_folder() -> Path:
    """The root of the pxos cache (not created here; callers create what they need)."""
    root = os.environ.get("PXOS_CACHE_DIR")
    if root:
        return Path(root)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "pxos"
