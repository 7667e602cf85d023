"""Launch checks: refuse a launch whose affine accesses would leave their arrays.

Many indices are affine in the thread index: ``out[i]``, ``a[i + 1]``, ``img[y, x]``,
``a[y * w + x]`` (``w`` a scalar parameter), ``m[i * n + k]`` in ``FOR k IN 0..n``. For
such an access, executed by every thread of the launch (or by the threads an
``IF i < n`` / ``IF i >= n: RETURN`` guard lets through), and in every iteration of the
loops around it, the largest and smallest index lie at a corner of the box of thread
indices and loop variables; so a few evaluations decide whether any thread of the launch
would index outside the array. :func:`launch_checker` finds these accesses once per kernel
and compiles them into one Python function of the arguments and thread counts; a launch
then costs O(parameters + checked accesses).

``LOCAL_ID`` indices into ``GPU_SHARED_MEM`` arrays are checked the same way against
their declared sizes, over the block (an index mixing ``LOCAL_ID`` and ``THREAD_ID`` is
not: the two are not independent).

A ``FOR v IN a..b [STEP k]`` loop is an axis of the box when ``a`` and ``b`` are the same
for every thread, ``k`` is a positive literal, ``v`` is assigned nowhere else and its body
has no ``BREAK``; ``IF v >= n: CONTINUE`` narrows it as a guard does.

Other integer indices over the same axes and the parameters (``/``, ``%``, ``&``, ``|``,
``^``, ``min``, ``max``, products of thread indices) are evaluated at the same corners,
with C's arithmetic (``i32`` wraps; ``/`` truncates): the corners are points the launch
surely reaches, so a violation found there is real; one strictly between corners (possible
only for such non-affine indices) is missed.

What is not checked (the kernel may still index out of bounds; ``--checked`` catches it):
an index that depends on loaded data, a variable assigned more than once, shifts; an access
inside a ``WHILE`` or another loop, inside an ``IF`` whose condition is not a conjunction
of comparisons of a thread index or loop variable with a uniform value, in an
``ELIF``/``ELSE`` arm, or after a ``RETURN``/``CONTINUE`` the analysis cannot follow;
loads under ``AND``/``OR``/``select`` (they may not be evaluated).
"""

from __future__ import annotations

from typing import Callable

from pxos.errors import PxBoundsError
from pxos.ir import nodes as ir
from pxos.ir.analysis.bounds_walk import Check, axis_name, collect_checks

def _source(checks: list[Check], exact: bool) -> str:
    """The checker's Python source: ``check(a, nx, ny)`` → None or (check number, index,
    extent, tx, ty) of the first access out of bounds. Each check evaluates its index at
    the corners of its box (the axes it depends on), if the box is not empty: points that
    the launch surely reaches, so a violation found is real (an index out of bounds only
    between corners is missed)."""
    lines = ["def check(a, nx, ny):"]
    for n, c in enumerate(checks):
        lo: dict[int, list[str]] = {0: ["0"], 1: ["0"]}
        hi: dict[int, list[str]] = {0: ["nx - 1"], 1: ["ny - 1"]}
        for axis, side, text in c.box:
            (lo if side == "lo" else hi).setdefault(axis, []).append(text)
        axes = sorted(lo)
        lines += [f"    l{x}, h{x} = {_fold('max', lo[x])}, {_fold('min', hi[x])}"
                  for x in axes]
        lines += ["    if " + " and ".join(f"l{x} <= h{x}" for x in axes) + ":",
                  f"        e = {c.extent}"]
        pad = "        "
        for x in axes:
            corners = f"(l{x}, h{x})" if f"{axis_name(x)}" in c.index else f"(l{x},)"
            lines.append(f"{pad}for {axis_name(x)} in {corners}:")
            pad += "    "
        lines += [f"{pad}v = {c.exact if exact else c.index}", f"{pad}if v < 0 or v >= e:",
                  f"{pad}    return ({n}, v, e, tx, ty)"]
    return "\n".join(lines + ["    return None"])


def _fold(fn: str, items: list[str]) -> str:
    return items[0] if len(items) == 1 else f"{fn}({', '.join(items)})"


def _wrap(v: int, width: tuple[int, bool]) -> int:
    """``v`` wrapped to ``width`` = (bits, signed), as C's arithmetic under -fwrapv."""
    bits, signed = width
    v &= (1 << bits) - 1
    return v - (1 << bits) if signed and v >> (bits - 1) else v


def _cdiv(a: int, b: int) -> int:
    """C's integer division: truncated toward zero."""
    q = abs(a) // abs(b)
    return q if (a < 0) == (b < 0) else -q


def _cmod(a: int, b: int) -> int:
    """C's ``%``: the sign of the dividend."""
    return a - b * _cdiv(a, b)


def _prod(shape) -> int:
    n = 1
    for s in shape:
        n *= int(s)
    return n


_MEMO: dict[int, tuple] = {}


def launch_checker(kernel: ir.Kernel) -> Callable[[list, tuple, object], None]:
    """A function ``check(args, threads, span=None)`` that raises before a launch of
    ``kernel`` over ``threads`` (x first) with ``args`` (in parameter order: arrays with a
    ``shape``, scalars) in which an affine access would leave its array. Made once per
    kernel object.

    Raises (the returned function):
        PxBoundsError: naming the array, the access (at its span), the index reached and
            the extent.
    """
    hit = _MEMO.get(id(kernel))
    if hit is not None and hit[0] is kernel:
        return hit[1]
    checks = collect_checks(kernel)
    if not checks:
        def none(args, threads, span=None):
            return None
        _MEMO[id(kernel)] = (kernel, none)
        return none
    helpers = {"_prod": _prod, "_wrap": _wrap, "_cdiv": _cdiv, "_cmod": _cmod}
    fast, exact = dict(helpers), dict(helpers)
    exec(_source(checks, False), fast)  # noqa: S102  (text built from the kernel's IR)
    exec(_source(checks, True), exact)  # noqa: S102
    fast, exact = fast["check"], exact["check"]
    block = kernel.block or (1, 1)

    def check(args, threads, span=None):
        nx = int(threads[0])
        ny = int(threads[1]) if len(threads) > 1 else 1
        if nx <= 0 or ny <= 0:
            return
        if not kernel.guarded:  # every thread of the last block runs
            nx = -(-nx // block[0]) * block[0]
            ny = -(-ny // block[1]) * block[1] if len(block) > 1 else ny
        try:  # a candidate without wrapping, confirmed with C's arithmetic
            bad = fast(args, nx, ny) and exact(args, nx, ny)
        except ZeroDivisionError:  # the kernel divides by zero: not ours to refuse
            return
        if bad is not None:
            _refuse(kernel, checks[bad[0]], bad, threads)
    _MEMO[id(kernel)] = (kernel, check)
    return check


def _refuse(kernel: ir.Kernel, c: Check, bad: tuple, threads) -> None:
    _, index, extent, tx, ty = bad
    axis = f" on axis {c.axis}" if c.axis >= 0 else ""
    thread = f"{tx}" if len(threads) == 1 else f"(x={tx}, y={ty})"
    raise PxBoundsError(
        f"kernel {kernel.name!r}: a launch of {' x '.join(str(int(t)) for t in threads)} "
        f"threads would index array {c.array!r} at {index}{axis} (thread {thread}), outside "
        f"its extent {extent}; the launch was refused before it ran", c.access.span,
        "size the arrays for the launch, or guard the access (IF i < LEN(a))")
