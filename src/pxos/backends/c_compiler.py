"""The C backend's compiler and flags, in a module of the standard library alone, so that
calibration can start the compiler before NumPy and the code generator are imported
(``planner/probe_source``). ``backends/c`` explains the flags."""

from __future__ import annotations

import os
import shutil

FLAGS = ("-O3", "-march=native", "-fopenmp", "-fPIC", "-shared",
         "-ffp-contract=off", "-fno-math-errno", "-fno-trapping-math", "-std=gnu11")


def compiler() -> str | None:
    """The C compiler to use: ``$CC``, else ``cc``, ``gcc`` or ``clang`` on PATH."""
    for name in (os.environ.get("CC"), "cc", "gcc", "clang"):
        if name and shutil.which(name):
            return name
    return None
