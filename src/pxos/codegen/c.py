"""The C dialect: a kernel as a C function with OpenMP.

Blocks run in parallel across cores (``#pragma omp parallel for``); the threads of a block
are an inner loop the compiler can vectorise. A kernel with barriers or shared memory is
first rewritten as the code of one block (``ir/passes/fission``: loops over the block's
threads between its barriers). The function's signature, which the C backend loads with
ctypes, is

    void k_<name>(int64_t pxos_nx, int64_t pxos_ny, int64_t pxos_nz, <param>...,
                  [int64_t *pxos_err])

as ``codegen/signature`` describes.
"""

from __future__ import annotations

import math
from dataclasses import replace

from pxos.codegen.c_loops import indent, jammed, regions, thread_loop, tiled
from pxos.codegen.c_packed import packed_entry
from pxos.codegen.dialect import Dialect, KernelSource, comment, render_unit
from pxos.codegen.c_escape import escape_plan, escaped
from pxos.codegen.guard import guarded_function
from pxos.codegen.own_atomics import owned_code, owned_copies
from pxos.codegen.interchange import interchange, jam
from pxos.codegen.render import Renderer, var_name
from pxos.codegen.signature import entry_name, kernel_params
from pxos.codegen.thread_bounds import ThreadBounds, split_bounds
from pxos.ir import nodes as ir
from pxos.ir.passes.checked import check_bounds
from pxos.ir.passes.fission import fission
from pxos.ir.passes.uniform import hoist_uniform


# The OpenMP team of a launch: no more threads than blocks, so a small launch wakes only
# the cores it can use (one block: no team at all). Without OpenMP the pragmas are ignored.
TEAM = """#ifdef _OPENMP
#include <omp.h>
#define PXOS_TEAM(blocks) ((blocks) < omp_get_max_threads() ? (int)(blocks) \\
                                                            : omp_get_max_threads())
#else
#define PXOS_TEAM(blocks) 1
#endif
"""


class CDialect(Dialect):
    name = "c"
    simd_pragma = "#pragma omp simd"

    def prelude(self, f16: bool = False) -> str:
        return super().prelude(f16) + TEAM


def render_c(kernel: ir.Kernel, checked: bool = False, guard: bool = False,
             restrict: bool = False) -> KernelSource:
    """Render a checked kernel as a C translation unit.

    Args:
        kernel: a kernel returned by ``ir.check.check_kernel``.
        checked: add bounds checks reported through the last parameter, ``pxos_err``.
        guard: catch a memory fault in the kernel (``codegen/guard``; the C backend's
            builds, which link against its guard library), and add the packed entry
            ``k_<name>_packed`` (``codegen/c_packed``) that native callers use.
        restrict: declare the array parameters ``restrict``: only for launches in which
            no array the kernel writes overlaps another array argument (``backends/c``
            checks each launch).

    Returns:
        The source, with ``#line`` directives back to the `.px` file.
    """
    d = CDialect()
    given, kernel = kernel, replace(kernel, block=cpu_block(kernel))
    if checked:
        kernel = check_bounds(kernel)
    r = Renderer(kernel, d)
    r.return_stmt = "goto pxos_end;"
    r.owned = owned_copies(kernel, d) if guard else {}  # (the guarded builds' copies)
    axes = "xyz"[:kernel.ndim]
    params = kernel_params(kernel, d, checked, restrict)
    hoisted, rest = hoist_uniform(kernel)  # once per block (ir/passes/uniform)
    uniform = frozenset(s.name for s in hoisted)
    variables = {n: t for n, t in kernel.variables if n not in uniform}

    body = _block_loop(kernel)
    inner: list[str] = []
    if kernel.guarded:
        inner += [_last_block_clamp(a) for a in axes]
        inner += _block_values(r, hoisted)
        bounds = split_bounds(replace(kernel, body=rest), uniform)
        starts = ["0"] * kernel.ndim
        if bounds is not None:
            inner += _narrowed(r, bounds, axes)
            starts = [f"pxos_l{a}_lo" for a in axes]
        threads = bounds.body if bounds else rest
        ends = [f"pxos_l{a}_end" for a in axes]
        plan = interchange(kernel, threads, uniform)
        jam_plan = jam(kernel, threads, uniform) if plan is None else None
        escape = escape_plan(kernel, threads) if plan is None and jam_plan is None else None
        if plan is not None and kernel.ndim > 1:  # rows of sums kept in registers
            inner += tiled(r, kernel, plan, variables, ends, starts)
        elif plan is not None:
            items, recomputed = plan
            inner += regions(r, kernel, items, variables, ends, starts, recomputed)
        elif jam_plan is not None:
            inner += jammed(r, kernel, threads, jam_plan, variables, ends, starts)
        elif escape is not None:  # an escape-time WHILE in lockstep (codegen/c_escape)
            inner += escaped(r, kernel, escape, variables, ends, starts)
        else:
            inner += thread_loop(r, threads, set(variables), variables, ends, starts)
    else:  # barriers or shared memory: the block's code from the fission pass
        block = fission(kernel)
        r.kernel, r.shared = block, {s.name: s for s in block.shared}
        inner += _block_code(r, block)
    body += indent(inner)
    body.append("}")

    fn = entry_name(kernel)
    header = comment(f"pxos: kernel {kernel.name} from {kernel.span.file}, C dialect "
                     "(OpenMP over blocks; threads of a block as an inner loop)")
    function = guarded_function(header, fn, params, body, owned_code(r, kernel)) \
        if guard else "\n".join([
        header, f"void {fn}({', '.join(params)})", "{",
        *indent(body), "}", "",
    ])
    helpers = tuple(r.intrinsics.needed.items())
    unit = [function, packed_entry(kernel, d, checked)] if guard else [function]
    return KernelSource(given, render_unit(d, helpers, unit), fn, function, helpers,
                        checked)


# Block shapes on a CPU, x first, where the kernel cannot observe its block: a block's
# threads are one core's work and its x threads SIMD lanes. Maps and stencils: long rows
# (whole cache lines, few partial vectors) and a few neighbouring rows, whose shared
# neighbours stay in cache; a thread with an inner loop (matrix products, reductions):
# narrower rows and more of them, so the rows of a block reuse one strip of the operand
# that the inner loop walks.
CPU_BLOCKS = {(1, False): (1024,), (2, False): (1024, 2), (3, False): (256, 4, 1),
              (1, True): (64,), (2, True): (128, 4), (3, True): (32, 4, 2)}


def cpu_block(kernel: ir.Kernel) -> tuple[int, ...]:
    """The block shape ``kernel`` runs with on a CPU: from :data:`CPU_BLOCKS` by its launch
    rank and whether a thread runs an inner loop, when the block cannot change its result
    (a loop-form kernel, no ``LOCAL_ID``/``BLOCK_ID``/``BLOCK_SIZE``); else its own."""
    if not kernel.guarded:
        return kernel.block
    for s in ir.walk(kernel.body):
        for e in ir.stmt_exprs(s):
            if any(isinstance(x, ir.Builtin) and x.name != "thread_id"
                   for x in ir.subexprs(e)):
                return kernel.block
    loops = any(isinstance(s, (ir.For, ir.While)) for s in ir.walk(kernel.body))
    return CPU_BLOCKS[kernel.ndim, loops]


def _block_code(r: Renderer, block: ir.Kernel) -> list[str]:
    """The code of one block of a kernel rewritten by ``ir/passes/fission``: its shared
    arrays (the lane arrays among them) and the variables outside its thread loops, each
    declared and zeroed once per block, then its statements."""
    private = {n for s in ir.walk(block.body) if isinstance(s, ir.ThreadLoop)
               for n in s.private}
    out = [f"{r.d.type_name(s.elem)} {var_name(s.name)}[{math.prod(s.shape)}] = {{0}};"
           for s in block.shared]
    out += [r.d.declare(var_name(n), t, "0") for n, t in block.variables if n not in private]
    return out + r.body(block.body, 0)


def _block_values(r: Renderer, hoisted: tuple[ir.Assign, ...]) -> list[str]:
    """The declarations and assignments of the uniform variables, once per block."""
    types = dict(r.kernel.variables)
    out = [f"{r.d.type_name(types[s.name])} {var_name(s.name)} = 0;" for s in hoisted]
    return out + r.body(hoisted, 0)


def _block_loop(kernel: ir.Kernel) -> list[str]:
    """The block sizes and counts, and the head of the OpenMP loop over the blocks (its body
    reads ``pxos_bx``, ``pxos_by``, ``pxos_bz``)."""
    axes = "xyz"[:kernel.ndim]
    sizes = ", ".join(f"pxos_bs{a} = {b}" for a, b in zip(axes, kernel.block))
    out = [f"const int32_t {sizes};"]
    out += [f"const int32_t pxos_g{a} = (int32_t)((pxos_n{a} + pxos_bs{a} - 1) / pxos_bs{a});"
            for a in axes]
    out.append(f"if ({' || '.join(f'pxos_n{a} <= 0' for a in axes)}) return;")
    if kernel.ndim == 1:
        return out + [
            "#pragma omp parallel for schedule(static) num_threads(PXOS_TEAM(pxos_gx))",
            "for (int32_t pxos_bx = 0; pxos_bx < pxos_gx; ++pxos_bx) {"]
    blocks = "(int64_t)" + " * ".join(f"pxos_g{a}" for a in axes)
    out += [f"#pragma omp parallel for schedule(static) num_threads(PXOS_TEAM({blocks}))",
            f"for (int64_t pxos_block = 0; pxos_block < {blocks}; ++pxos_block) {{",
            "    const int32_t pxos_bx = (int32_t)(pxos_block % pxos_gx);"]
    if kernel.ndim == 2:
        return out + ["    const int32_t pxos_by = (int32_t)(pxos_block / pxos_gx);"]
    return out + ["    const int32_t pxos_by = (int32_t)(pxos_block / pxos_gx % pxos_gy);",
                  "    const int32_t pxos_bz = (int32_t)(pxos_block / pxos_gx / pxos_gy);"]


def _narrowed(r: Renderer, bounds: ThreadBounds, axes: str) -> list[str]:
    """``pxos_l<axis>_lo`` and a lower ``pxos_l<axis>_end``: the threads of this block that
    pass the kernel's bounds test (``codegen/thread_bounds``), computed in 64 bits."""
    out = []
    for n, a in enumerate(axes):
        lo, end, base = f"pxos_l{a}_lo", f"pxos_l{a}_end", f"(int64_t)pxos_b{a} * pxos_bs{a}"
        out.append(f"int64_t {lo} = 0;")
        for e, k in bounds.lower.get(n, []):
            out.append(f"{{ const int64_t pxos_t = (int64_t){r.expr(e)} + {k} - {base}; "
                       f"if (pxos_t > {lo}) {lo} = pxos_t; }}")
        for e, k in bounds.upper.get(n, []):
            out.append(f"{{ const int64_t pxos_t = (int64_t){r.expr(e)} + {k} - {base}; "
                       f"if (pxos_t < {end}) {end} = (int32_t)(pxos_t < {lo} ? {lo} : pxos_t); }}")
        out.append(f"if ({lo} > {end}) {lo} = {end};")
    return out


def _last_block_clamp(axis: str) -> str:
    """``pxos_l<axis>_end``: threads of this block that exist (the last block is partial)."""
    n, b, bs = f"pxos_n{axis}", f"pxos_b{axis}", f"pxos_bs{axis}"
    left = f"{n} - (int64_t){b} * {bs}"
    return f"int32_t pxos_l{axis}_end = (int32_t)({left} < {bs} ? {left} : {bs});"

