"""The C backend's compiler and flags, in a module of the standard library (and
``pxos.errors``) alone, so that calibration can start the compiler before NumPy and the
code generator are imported (``planner/probe_source``). ``backends/c`` explains the flags.
A failed build asks whether the compiler can build anything at all
(:func:`compiler_problem`), so that an unsuited compiler is named as such, not reported
as a pxos bug."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from functools import cache
from pathlib import Path

from pxos.errors import PxBackendError

FLAGS = ("-O3", "-march=native", "-fopenmp", "-fPIC", "-shared",
         "-ffp-contract=off", "-fno-math-errno", "-fno-trapping-math", "-std=gnu11")


def compiler() -> str | None:
    """The C compiler to use: ``$CC``, else ``cc``, ``gcc`` or ``clang`` on PATH."""
    for name in (os.environ.get("CC"), "cc", "gcc", "clang"):
        if name and shutil.which(name):
            return name
    return None


# what every library the C backend builds needs: OpenMP, libm, a shared object
TRIAL = """#include <math.h>
#include <omp.h>
int pxos_trial(int n)
{
    int s = 0;
#pragma omp parallel for reduction(+:s)
    for (int i = 0; i < n; ++i) s += i;
    return s + (int)sqrt((double)n) + omp_get_max_threads();
}
"""


@cache
def compiler_problem(cc: str) -> str | None:
    """Why ``cc`` cannot build the C backend's libraries (a shared library with OpenMP
    and libm, :data:`FLAGS`), or None where it can: the compiler's own words, or its exit
    status where it printed none. Asked after a build failed (once per process), to tell
    an unsuited compiler (``CC=false``, a clang without libomp) from generated code it
    rejects."""
    with tempfile.TemporaryDirectory(prefix="pxos-cc-") as tmp:
        c_file = Path(tmp) / "trial.c"
        c_file.write_text(TRIAL)
        so_file = Path(tmp) / "trial.so"
        try:
            proc = subprocess.run([cc, *FLAGS, str(c_file), "-o", str(so_file), "-lm"],
                                  capture_output=True, text=True, timeout=300)
            if proc.returncode == 0 and not so_file.exists():
                return "it exited with status 0 and wrote no library"
            if proc.returncode == 0:
                import ctypes  # here: calibration imports this module before it starts

                ctypes.CDLL(str(so_file)).pxos_trial
                return None
        except (OSError, AttributeError, subprocess.TimeoutExpired) as err:
            return f"what it built cannot be loaded ({err})" if so_file.exists() else str(err)
    said = (proc.stderr.strip() or proc.stdout.strip())[-2000:]
    return said or f"it exited with status {proc.returncode} and printed nothing"


def build_error(cc: str, what: str, output: str, span=None) -> PxBackendError:
    """The error for a failed build of ``what`` (``kernel 'k'``, ``pxos's memory-fault
    guard``) by ``cc`` that printed ``output``: the compiler's own fault where it cannot
    build even a trivial OpenMP library (:func:`compiler_problem`), else pxos's (the
    generated code is wrong: a bug to report)."""
    problem = compiler_problem(cc)
    if problem is not None:
        return PxBackendError(
            f"the C compiler {cc!r} cannot build a shared library with OpenMP here, so "
            f"it cannot build {what}:\n{problem}", span,
            hint="install gcc (with OpenMP), set CC to a compiler that has it, or run "
                 "with --device interp")
    return PxBackendError(f"the C compiler could not build the code generated for {what} "
                          f"(a pxos bug; please report it):\n{output[-4000:]}", span)


def built_library(cc: str, proc: subprocess.CompletedProcess, so_file: Path, what: str,
                  span=None) -> bytes:
    """The bytes of the shared library ``so_file`` that compiler run ``proc`` (of ``cc``,
    building ``what``) wrote.

    Raises:
        PxBackendError: the run failed, or wrote no shared library (none, or a file
            that does not start as one: :data:`LIBRARY_MAGIC`; :func:`build_error`).
    """
    if proc.returncode != 0:
        raise build_error(cc, what, str(proc.stderr or ""), span)
    data = so_file.read_bytes() if so_file.exists() else b""
    if not data.startswith(LIBRARY_MAGIC):
        raise build_error(cc, what, "it exited with status 0 and wrote no shared library "
                          f"({len(data)} bytes)", span)
    return data


# the first bytes of a shared library: ELF; Mach-O (32-, 64-bit, universal); PE
LIBRARY_MAGIC = (b"\x7fELF", b"\xce\xfa\xed\xfe", b"\xcf\xfa\xed\xfe", b"\xca\xfe\xba\xbe",
                 b"MZ")


def load_library(cc: str, path: Path, what: str, mode: int | None = None, span=None):
    """``ctypes.CDLL`` of the library ``path`` that ``cc`` built for ``what`` (a file of
    the kernel cache, removed if it cannot be loaded, so the next run builds it again),
    opened with ``mode`` (default ``ctypes.DEFAULT_MODE``).

    Raises:
        PxBackendError: it cannot be loaded (:func:`build_error`).
    """
    import ctypes

    try:
        return ctypes.CDLL(str(path), mode=ctypes.DEFAULT_MODE if mode is None else mode)
    except OSError as err:
        path.unlink(missing_ok=True)
        raise build_error(cc, what, f"the library it built cannot be loaded: {err}",
                          span) from None
