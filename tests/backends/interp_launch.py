"""Running a `.px` kernel on the interpreter, for the interpreter's tests."""

from __future__ import annotations

from pxos.backends.base import make_launch
from pxos.backends.interp import InterpBackend
from pxos.ir.check_host import check_program
from pxos.lang.px.parser import parse_program


def kernel(src: str):
    """The first kernel of program ``src``, checked."""
    return check_program(parse_program(src, "t.px")).kernels[0]


def run(src: str, args: list, threads: tuple[int, ...]):
    """Run the first kernel of ``src`` on the interpreter over ``threads``; ``args``, whose
    arrays it wrote, back."""
    k = kernel(src)
    backend = InterpBackend()
    backend.launch(backend.compile(k), args, make_launch(k, threads))
    backend.synchronize()
    return args
