"""The kernel advisor (``pxos lint``): what in a kernel costs time on a GPU, and the
barriers that make it wrong. It reads the access patterns and branch kinds of
``ir/analysis/access`` (through ``ir/analysis/features``) and reports one :class:`Lint` per
finding (``docs/lint.md``; a bad and a fixed case of each under ``tests/ir/lint_cases/``):

- ``stride``: a global access whose neighbouring threads touch addresses a stride apart;
- ``reuse``: a global array that neighbouring threads re-read (a stencil), no shared tile;
- ``block``: a ``GPU_BLOCK`` whose thread count is not a multiple of the warp (32);
- ``divergence``: a branch whose condition differs between the threads of one warp;
- ``contention``: an atomic that every thread applies to the same element;
- ``barrier`` (an error; the others are warnings): ``SYNC_THREADS`` some threads miss.

Kernels are linted one by one: a barrier error is reported as a lint and the rest of that
kernel, and the other kernels, are still linted. Every other ``PxError`` (syntax, names,
types) propagates as from ``pxos check``.
"""

from __future__ import annotations

from pxos.errors import PxBarrierError
from pxos.ir import nodes as ir
from pxos.ir.barrier import check_barriers
from pxos.ir.check import check_kernel
from pxos.ir.check_host import check_program
from pxos.ir.lint.advisor import Advisor
from pxos.ir.lint.finding import CODES, HINTS, Lint

__all__ = ["CODES", "HINTS", "Lint", "lint_kernel", "lint_program"]


def lint_program(program: ir.Program) -> list[Lint]:
    """Lint every kernel of a program, in source order.

    Args:
        program: a parsed (unchecked) :class:`ir.Program`: ``lang.px.parser.parse_file``
            of a ``.px`` file, or a Python front-end's program.

    Returns:
        The lints of all kernels, sorted by line and column.

    Raises:
        PxError: any problem of the program other than a barrier error (which becomes a
            ``barrier`` lint): syntax, names, types, host statements.
    """
    checked = check_program(program, barriers=False)
    lints = [x for k in checked.kernels for x in lint_kernel(k, program.source)]
    return sorted(lints, key=lambda x: (x.span.file, x.span.line, x.span.col))


def lint_kernel(kernel: ir.Kernel, source: str | None = None) -> list[Lint]:
    """Lint one kernel.

    Args:
        kernel: a parsed kernel, or one checked by ``check_kernel`` (with or without the
            barrier rule: ``check_kernel(k, barriers=False)``).
        source: the text of the kernel's file, to point the ``block`` lint at the
            ``GPU_BLOCK`` line; without it the lint points at the kernel's name.

    Returns:
        Its lints, sorted by line and column.

    Raises:
        PxError: ``kernel`` is not checked and checking it fails (other than the barrier
            rule).
    """
    if not _is_checked(kernel):
        kernel = check_kernel(kernel, barriers=False)
    lints: list[Lint] = []
    try:
        check_barriers(kernel)
    except PxBarrierError as err:
        lints.append(Lint("barrier", "error", err.message, err.span or kernel.span, err.hint))
    Advisor(kernel, source).run(lints)
    return sorted(lints, key=lambda x: (x.span.line, x.span.col))


def _is_checked(kernel: ir.Kernel) -> bool:
    return kernel.block is not None and kernel.threads is not None \
        and all(e.type is not None for e in kernel.threads)
