"""The C backend's probe kernels as one translation unit, shipped with pxos (``probes.c``),
so that calibration starts the compiler on them first (issue 14: calibration time).

Rendering the probes needs NumPy, the `.px` parser, the IR and the C code generator: about
0.3 s of imports on the 2-core development machine before the compiler could start, and
the compiler is most of a CPU-only calibration (about 0.5 s for the four probes). This
module imports the standard library alone (and ``backends/c_compiler``): :func:`start`
writes the shipped unit, with the path of ``probes.px`` for its ``#line`` directives, and
starts the compiler on it in the background while the rest of pxos is imported. The C
backend then uses that library only where the unit it renders itself is this very text
(:meth:`EarlyBuild.library`); otherwise (a stale file, a failed compile) it builds as
without it, so a stale file costs time, never a wrong kernel. The file is generated, as
the grammar tables are (``lang/px/tables``); after editing ``probes.px`` or the C code
generator, regenerate it (a test fails until then)::

    python3 -m pxos.planner.probe_source
"""

from __future__ import annotations

import atexit
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from pxos.backends.c_compiler import FLAGS, LIBRARY_MAGIC, compiler

FILE = Path(__file__).with_name("probes.c")
PROBES = Path(__file__).with_name("probes.px")
PLACEHOLDER = "@PROBES_PX@"  # the path of probes.px in the shipped text


class EarlyBuild:
    """A compiler run on the shipped unit, started by :func:`start`."""

    def __init__(self, unit: str, folder: Path, process: subprocess.Popen):
        self.unit = unit
        self._folder, self._process = folder, process
        self._started = time.perf_counter()
        self.seconds: float | None = None  # its wall time, once :meth:`library` waited

    def library(self, unit: str) -> bytes | None:
        """The shared library built from ``unit``, once the compiler is done (this waits
        for it), if ``unit`` is the text it compiled and it succeeded; else None. Its
        folder is removed either way."""
        try:
            if unit != self.unit:
                return None
            if self._process.wait() != 0:
                return None
            self.seconds = time.perf_counter() - self._started
            built = self._folder / "probes.so"
            data = built.read_bytes() if built.exists() else b""
            return data if data.startswith(LIBRARY_MAGIC) else None  # else built again
        finally:
            self.discard()

    @property
    def over(self) -> bool:
        """Whether its compiler has ended and its folder is gone."""
        return self._process.poll() is not None and not self._folder.exists()

    def discard(self) -> None:
        """Stop the compiler if it runs, and remove its folder."""
        if self._process.poll() is None:
            self._process.kill()
            self._process.wait()
        shutil.rmtree(self._folder, ignore_errors=True)


def start() -> EarlyBuild | None:
    """Start compiling the shipped unit in the background; None where there is no C
    compiler or no shipped file."""
    cc = compiler()
    try:
        template = FILE.read_text(encoding="utf-8")
    except OSError:
        return None
    if cc is None:
        return None
    unit = template.replace(PLACEHOLDER, str(PROBES))
    folder = Path(tempfile.mkdtemp(prefix="pxos-probes-"))
    (folder / "probes.c").write_text(unit, encoding="utf-8")
    process = subprocess.Popen([cc, *FLAGS, str(folder / "probes.c"), "-o",
                                str(folder / "probes.so"), "-lm"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    early = EarlyBuild(unit, folder, process)
    atexit.register(early.discard)  # a process that never got to use it leaves nothing
    return early


def render() -> str:
    """What :data:`FILE` must hold: the C backend's unit of its probes as rendered now
    (``backends/c.one_unit``), the path of ``probes.px`` replaced by :data:`PLACEHOLDER`.

    Raises:
        PxBackendError: no C compiler (the C backend cannot be made).
    """
    from pxos.backends.c import CBackend, one_unit
    from pxos.planner.probes import kernels_for

    backend = CBackend()
    unit = one_unit([backend.render(k, False)[0] for k in kernels_for(backend)])
    return unit.replace(str(PROBES), PLACEHOLDER)


def write() -> None:
    """Write :func:`render`'s text to :data:`FILE` (atomically)."""
    from pxos.atomic_write import write_atomic

    write_atomic(FILE, render().encode("utf-8"))


if __name__ == "__main__":
    write()
    print(f"wrote {FILE}")
