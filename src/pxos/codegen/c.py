"""The C dialect: a kernel as a C function with OpenMP.

Blocks run in parallel across cores (``#pragma omp parallel for``); the threads of a block
are an inner loop the compiler can vectorise. A kernel with barriers is split into regions
(``ir/passes/fission``). The function's signature, which the C backend loads with ctypes, is

    void k_<name>(int64_t pxos_nx, int64_t pxos_ny, int64_t pxos_nz, <param>...,
                  [int64_t *pxos_err])

as ``codegen/signature`` describes.
"""

from __future__ import annotations

import math
from dataclasses import replace

from pxos.codegen.c_packed import packed_entry
from pxos.codegen.dialect import Dialect, KernelSource, comment, render_unit
from pxos.codegen.guard import guarded_function
from pxos.codegen.interchange import interchange, jam
from pxos.codegen.render import Renderer, linear, var_name
from pxos.codegen.signature import entry_name, kernel_params
from pxos.codegen.thread_bounds import ThreadBounds, split_bounds
from pxos.ir import nodes as ir
from pxos.ir.passes.checked import check_bounds
from pxos.ir.passes.fission import (
    Region, block_loop_vars, lane_variables, names_in, split,
)
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
        jammed = jam(kernel, threads, uniform) if plan is None else None
        if plan is not None:
            items, recomputed = plan
            inner += _fissioned(r, kernel, items, variables, ends, starts, recomputed)
        elif jammed is not None:
            inner += _jammed(r, kernel, threads, jammed, variables, ends, starts)
        else:
            inner += _thread_loop(r, threads, set(variables), variables, ends, starts)
    else:
        for s in kernel.shared:
            size = 1
            for n in s.shape:
                size *= n
            inner.append(f"{d.type_name(s.elem)} {var_name(s.name)}[{size}] = {{0}};")
        inner += _block_values(r, hoisted)
        inner += _fissioned(r, kernel, split(rest), variables,
                            [f"pxos_bs{a}" for a in axes])
    body += ["    " + x if x and not x.startswith("#") else x for x in inner]
    body.append("}")

    fn = entry_name(kernel)
    header = comment(f"pxos: kernel {kernel.name} from {kernel.span.file}, C dialect "
                     "(OpenMP over blocks; threads of a block as an inner loop)")
    function = guarded_function(header, fn, params, body) if guard else "\n".join([
        header, f"void {fn}({', '.join(params)})", "{",
        *["    " + x if x and not x.startswith("#") else x for x in body], "}", "",
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


# x threads per tile of an unroll-and-jam (codegen/interchange.jam): independent chains
# enough to cover an add's latency on the two FP ports of a current x86 core (gemv, one
# thread, 2 cores: 9.1 ms plain, 4.9 ms with 4, 3.2-3.8 ms with 8, 3.3 ms with 16)
JAM = 8


def _fissioned(r: Renderer, kernel: ir.Kernel, items: list, variables: dict, ends: list,
               starts: list | None = None, recomputed: frozenset = frozenset(),
               tile: int = 0) -> list:
    """The declarations and loops of a body split into regions and block loops
    (``ir/passes/fission``, ``codegen/interchange``): variables crossing regions are kept
    per thread (lane arrays), but not the ``recomputed`` ones, which each region assigns.
    ``tile``: the regions run the ``tile`` x threads from ``pxos_t`` (:func:`_jammed`), and
    the lane arrays hold theirs; 0: every thread of the block."""
    d = r.d
    lanes = lane_variables(items, set(variables)) - set(recomputed)
    block_vars = block_loop_vars(items)
    r.lane_arrays = lanes
    out = [f"{d.type_name(variables[name])} {var_name(name)}"
           f"[{tile or math.prod(kernel.block)}] = {{0}};" for name in sorted(lanes)]
    out += [f"{d.type_name(variables[name])} {var_name(name)} = 0;"
            for name in sorted(block_vars)]
    local = set(variables) - lanes - block_vars
    return out + _items(r, items, local, variables, ends, starts, tile)


def _jammed(r: Renderer, kernel: ir.Kernel, body: ir.Body, plan: tuple, variables: dict,
            ends: list[str], starts: list[str]) -> list[str]:
    """Unroll-and-jam (``codegen/interchange.jam``): for each row of the block (y, z), its
    x threads in tiles of :data:`JAM`, each tile running the plan's regions and inner
    loops with the tile's threads as a fully unrolled lane loop, then the last threads
    (fewer than a tile) one by one."""
    items, recomputed = plan
    x_end = ends[0]
    tiled = _fissioned(r, kernel, items, variables, [f"pxos_t + {JAM}"], ["pxos_t"],
                       recomputed, tile=JAM)
    r.lane_arrays = set()
    rest = _thread_loop(r, body, set(variables), variables, [x_end], ["pxos_t"])
    loop = [f"int32_t pxos_t = (int32_t){starts[0]};",
            f"for (; pxos_t <= {x_end} - {JAM}; pxos_t += {JAM}) {{",
            *["    " + x if x and not x.startswith("#") else x for x in tiled], "}", *rest]
    for a, start, end in list(zip("yz", starts[1:], ends[1:])):
        loop = [f"for (int32_t pxos_l{a} = (int32_t){start}; pxos_l{a} < {end}; ++pxos_l{a}) {{",
                *["    " + x if x and not x.startswith("#") else x for x in loop], "}"]
    return loop


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


def _thread_loop(r: Renderer, body: ir.Body, local: set[str], variables: dict,
                 ends: list[str], starts: list[str] | None = None, tile: int = 0
                 ) -> list[str]:
    """``for lz … for ly … for lx … { declarations; body }`` for one region; ``ends`` are
    the loop bounds, x first (``starts`` the first threads, 0 by default). ``tile``: the x
    loop alone, over the threads of one tile of :func:`_jammed` (slot ``pxos_lx - pxos_t``),
    fully unrolled."""
    d = r.d
    decls = [f"{d.type_name(variables[n])} {var_name(n)} = 0;"
             for n in variables if n in local and _uses(body, n)]
    stmts = r.body(body, 0)
    uses_return = any(isinstance(s, ir.Return) for s in ir.walk(body))
    inner = decls
    axes = "xyz"[:len(ends)]
    if r.lane_arrays:
        slot = "pxos_lx - pxos_t" if tile else \
            linear([f"pxos_l{a}" for a in axes], [f"pxos_bs{a}" for a in axes[:-1]])
        inner = [f"const int32_t pxos_l = {slot};"] + inner
    loop = inner + stmts + (["pxos_end: ;"] if uses_return else [])
    # gcc vectorises no thread loop holding an inner loop (it would keep each thread's
    # variables in "omp simd arrays" in memory instead), so those get no pragma; the
    # threads of a tile are rows apart (gathers): unrolled, each its own chain
    simd = not tile and not any(isinstance(s, (ir.For, ir.While)) for s in ir.walk(body))
    unroll = [f"#pragma GCC unroll {tile}"] if tile else []
    for a, start, end in zip(axes, starts or ["0"] * len(ends), ends):  # x innermost:
        loop = ["#pragma omp simd"] * (a == "x" and simd) + unroll * (a == "x") + [
                f"for (int32_t pxos_l{a} = (int32_t){start}; pxos_l{a} < {end}; ++pxos_l{a}) {{",
                *["    " + x if x and not x.startswith("#") else x for x in loop], "}"]
    return loop


def _last_block_clamp(axis: str) -> str:
    """``pxos_l<axis>_end``: threads of this block that exist (the last block is partial)."""
    n, b, bs = f"pxos_n{axis}", f"pxos_b{axis}", f"pxos_bs{axis}"
    left = f"{n} - (int64_t){b} * {bs}"
    return f"int32_t pxos_l{axis}_end = (int32_t)({left} < {bs} ? {left} : {bs});"


def _uses(body: ir.Body, name: str) -> bool:
    return name in names_in(body)


def _items(r: Renderer, items: list, local: set[str], variables: dict, ends: list[str],
           starts: list[str] | None = None, tile: int = 0) -> list:
    out: list[str] = []
    for it in items:
        if isinstance(it, Region):
            out.append("/* region: every thread of the block, up to the next barrier */")
            out += _thread_loop(r, it.body, local, variables, ends, starts, tile)
            continue
        s = it.stmt
        r.lane = "0"  # block-level expressions read thread 0's copy (they are uniform)
        if isinstance(s, ir.For):
            head = r._s_for(ir.For(s.span, s.var, s.start, s.stop, s.step, ()), 0)[0]
        else:
            head = r._s_while(ir.While(s.span, s.cond, ()), 0)[0]
        r.lane = "pxos_l"
        out.append(head + "  /* uniform loop (a barrier in it, interchanged or jammed): "
                          "once per block (or tile) */")
        out += ["    " + x if x and not x.startswith("#") else x
                for x in _items(r, it.items, local, variables, ends, starts, tile)]
        out.append("}")
    return out
