"""Optional packages: each imported where first needed, through :func:`require`, which
names the pip extra that installs it (pyproject.toml's ``[project.optional-dependencies]``)
instead of ending in a traceback; :func:`installed` asks without importing."""

from __future__ import annotations

import importlib
import sys
from importlib.util import find_spec
from types import ModuleType

from pxos.errors import PxPackageError


def require(module: str, extra: str, needed_for: str) -> ModuleType:
    """Module ``module`` (a dotted name), imported.

    Args:
        extra: the pxos extra that installs it (``pipelines``, ``profile`` …).
        needed_for: what needs it, for the message (``"the zstd codec"``).

    Raises:
        PxPackageError: it is not installed, or fails to import; the hint is
            ``pip install 'pxos[extra]'``.
    """
    try:
        return importlib.import_module(module)
    except ImportError as err:
        raise PxPackageError(f"{needed_for} needs the Python package "
                             f"{module.split('.')[0]!r}, which is not installed ({err})",
                             hint=f"pip install 'pxos[{extra}]'") from None


def installed(module: str) -> bool:
    """Whether top-level package ``module`` can be imported (found, not imported). A
    package not found is remembered for this ``sys.path`` (as Python's own path finders
    cache a folder's listing): the planner asks for each backend's packages once per call
    it places (``backends.installed``), and searching the path cost about 90 µs each time
    on a machine without CuPy, half of placing a Python kernel's call."""
    missing = module not in sys.modules and (module, tuple(sys.path))
    if missing in _MISSING:
        return False
    try:
        found = find_spec(module) is not None
    except ValueError:  # in sys.modules as None: blocked
        return False
    if not found and missing:
        _MISSING.add(missing)
    return found


_MISSING: set = set()  # (package, sys.path) found missing (installed)
