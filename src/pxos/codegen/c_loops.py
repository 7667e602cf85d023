"""The thread loops of the C dialect: a block's threads as loops, whole or in tiles.

On a CPU the threads of a block are loops (x innermost, ``#pragma omp simd``: neighbouring
threads as SIMD lanes). A kernel with barriers arrives rewritten by ``ir/passes/fission``
(``ir.ThreadLoop``, rendered by ``codegen/render``). Here: a loop-form kernel's body split
into regions and block loops around a uniform inner loop (``codegen/interchange``, with
the plan structures of ``ir/passes/fission``) runs each region as such a loop nest, and
keeps each variable that crosses regions per thread, in a *lane array* indexed by the
thread's slot. :func:`regions` renders that for every thread of a block (or a tile).

A block loop (``for k: for each thread: acc[thread] += …``) keeps ``acc`` in memory when
the threads are many: a load and a store per step. So two forms run the plan on *tiles*
of a block's threads instead, small enough that the lane arrays stay in registers once
gcc unrolls the tile's loops:

* :func:`jammed` (``codegen/interchange.jam``: threads whose accesses are a row apart):
  tiles of :data:`JAM` x threads, the x loop unrolled, no SIMD (unroll-and-jam);
* :func:`tiled` (an interchange plan in 2-D or 3-D: a matrix product): tiles of
  :data:`TILE_X` × :data:`TILE_Y` threads, x as SIMD lanes, y unrolled, so that each step
  of the inner loop reads ``b[k, j…j+15]`` once for four rows, from registers
  (register blocking, as BLAS micro-kernels do; Goto and van de Geijn, "Anatomy of
  high-performance matrix multiplication", ACM TOMS 2008).

Threads of a block left over by the tiles (the last, partial ones) run the plain form.
Each thread still runs its own statements in its own order: results are bit-identical.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from pxos.codegen.render import Renderer, linear, var_name
from pxos.ir import nodes as ir
from pxos.ir.passes.fission import Region, block_loop_vars, lane_variables, names_in

# x threads per tile of an unroll-and-jam: independent chains enough to cover an add's
# latency on the FP ports of a current x86 core (gemv, one thread, 2 cores: 9.1 ms plain,
# 4.9 ms with 4, 3.2-3.8 ms with 8, 3.3 ms with 16)
JAM = 8
# threads per tile of a 2-D/3-D interchange: 4 rows of 16 lanes (f64: 16 AVX2 registers
# of sums at most, 8 for f32)
TILE_X, TILE_Y = 16, 4


@dataclass(frozen=True)
class Tile:
    """The threads of a block that the loops of a region run, when not all of them.

    Attributes:
        lanes: the length of the lane arrays.
        slot: the C expression of a thread's slot in them.
        simd: x threads as SIMD lanes (where the region holds no loop).
        unroll: the axes whose loops are fully unrolled, with their trip counts.
    """

    lanes: int
    slot: str
    simd: bool
    unroll: tuple[tuple[str, int], ...]


JAM_TILE = Tile(JAM, "pxos_lx - pxos_t", False, (("x", JAM),))
GRID_TILE = Tile(TILE_X * TILE_Y, f"(pxos_ly - pxos_ty) * {TILE_X} + (pxos_lx - pxos_t)",
                 True, (("y", TILE_Y),))


def indent(lines: list[str]) -> list[str]:
    """``lines`` one level deeper (preprocessor lines stay in column 0)."""
    return ["    " + x if x and not x.startswith("#") else x for x in lines]


def regions(r: Renderer, kernel: ir.Kernel, items: list, variables: dict, ends: list,
            starts: list | None = None, recomputed: frozenset = frozenset(),
            tile: Tile | None = None) -> list[str]:
    """The declarations and loops of a body split into regions and block loops
    (``ir/passes/fission``, ``codegen/interchange``): variables crossing regions are kept
    per thread (lane arrays), but not the ``recomputed`` ones, which each region assigns.
    ``ends``/``starts``: the thread loops' bounds, x first; ``tile``: they span one tile."""
    d = r.d
    lanes = lane_variables(items, set(variables)) - set(recomputed)
    block_vars = block_loop_vars(items)
    r.lane_arrays = lanes
    size = tile.lanes if tile else math.prod(kernel.block)
    out = [f"{d.type_name(variables[name])} {var_name(name)}[{size}] = {{0}};"
           for name in sorted(lanes)]
    out += [f"{d.type_name(variables[name])} {var_name(name)} = 0;"
            for name in sorted(block_vars)]
    local = set(variables) - lanes - block_vars
    return out + _items(r, items, local, variables, ends, starts, tile)


def jammed(r: Renderer, kernel: ir.Kernel, body: ir.Body, plan: tuple, variables: dict,
           ends: list[str], starts: list[str]) -> list[str]:
    """Unroll-and-jam: for each row of the block (y, z), its x threads in tiles of
    :data:`JAM` running ``plan`` (``codegen/interchange.jam``), then the last threads
    (fewer than a tile) one by one, as ``body``."""
    items, recomputed = plan
    x_end = ends[0]
    tiles = regions(r, kernel, items, variables, [f"pxos_t + {JAM}"], ["pxos_t"],
                    recomputed, JAM_TILE)
    r.lane_arrays = set()
    rest = thread_loop(r, body, set(variables), variables, [x_end], ["pxos_t"])
    loop = [f"int32_t pxos_t = (int32_t){starts[0]};",
            f"for (; pxos_t <= {x_end} - {JAM}; pxos_t += {JAM}) {{", *indent(tiles), "}",
            *rest]
    return _rows(loop, "yz", starts[1:], ends[1:])


def tiled(r: Renderer, kernel: ir.Kernel, plan: tuple, variables: dict, ends: list[str],
          starts: list[str]) -> list[str]:
    """An interchange ``plan`` of a 2-D/3-D kernel on tiles of :data:`TILE_X` ×
    :data:`TILE_Y` threads: for each z row of the block, its y rows in groups of
    :data:`TILE_Y` and, in each group, x in tiles of :data:`TILE_X`; the x threads left in
    a group, and the rows left after the last group, run the plan on the whole remainder."""
    items, recomputed = plan
    (x_start, y_start), (x_end, y_end) = starts[:2], ends[:2]
    group = f"pxos_ty + {TILE_Y}"
    tiles = regions(r, kernel, items, variables, [f"pxos_t + {TILE_X}", group],
                    ["pxos_t", "pxos_ty"], recomputed, GRID_TILE)
    x_rest = regions(r, kernel, items, variables, [x_end, group], ["pxos_t", "pxos_ty"],
                     recomputed)
    y_rest = regions(r, kernel, items, variables, [x_end, y_end], [x_start, "pxos_ty"],
                     recomputed)
    loop = [f"int32_t pxos_ty = (int32_t){y_start};",
            f"for (; pxos_ty <= {y_end} - {TILE_Y}; pxos_ty += {TILE_Y}) {{",
            f"    int32_t pxos_t = (int32_t){x_start};",
            f"    for (; pxos_t <= {x_end} - {TILE_X}; pxos_t += {TILE_X}) {{",
            *indent(indent(tiles)), "    }",
            f"    if (pxos_t < {x_end}) {{", *indent(indent(x_rest)), "    }", "}",
            f"if (pxos_ty < {y_end}) {{", *indent(y_rest), "}"]
    return _rows(loop, "z", starts[2:], ends[2:])


def _rows(loop: list[str], axes: str, starts: list[str], ends: list[str]) -> list[str]:
    """``loop`` inside the loops over the block's threads along ``axes`` (slowest last)."""
    for a, start, end in zip(axes, starts, ends):
        loop = [f"for (int32_t pxos_l{a} = (int32_t){start}; pxos_l{a} < {end}; ++pxos_l{a}) {{",
                *indent(loop), "}"]
    return loop


def thread_loop(r: Renderer, body: ir.Body, local: set[str], variables: dict,
                ends: list[str], starts: list[str] | None = None, tile: Tile | None = None
                ) -> list[str]:
    """``for lz … for ly … for lx … { declarations; body }`` for one region; ``ends`` are
    the loop bounds, x first (``starts`` the first threads, 0 by default), ``tile`` the
    tile they span (slot and pragmas), if not the whole block."""
    d = r.d
    decls = [f"{d.type_name(variables[n])} {var_name(n)} = 0;"
             for n in variables if n in local and n in names_in(body)]
    stmts = r.body(body, 0)
    uses_return = any(isinstance(s, ir.Return) for s in ir.walk(body))
    inner = decls
    axes = "xyz"[:len(ends)]
    if r.lane_arrays:
        slot = tile.slot if tile else \
            linear([f"pxos_l{a}" for a in axes], [f"pxos_bs{a}" for a in axes[:-1]])
        inner = [f"const int32_t pxos_l = {slot};"] + inner
    loop = inner + stmts + (["pxos_end: ;"] if uses_return else [])
    # gcc vectorises no thread loop holding an inner loop (it would keep each thread's
    # variables in "omp simd arrays" in memory instead), so those get no pragma
    simd = (tile is None or tile.simd) and \
        not any(isinstance(s, (ir.For, ir.While)) for s in ir.walk(body))
    unroll = dict(tile.unroll) if tile else {}
    for a, start, end in zip(axes, starts or ["0"] * len(ends), ends):  # x innermost:
        pragmas = ["#pragma omp simd"] * (a == "x" and simd) + \
            ([f"#pragma GCC unroll {unroll[a]}"] if a in unroll else [])
        loop = pragmas + [
            f"for (int32_t pxos_l{a} = (int32_t){start}; pxos_l{a} < {end}; ++pxos_l{a}) {{",
            *indent(loop), "}"]
    return loop


def _items(r: Renderer, items: list, local: set[str], variables: dict, ends: list[str],
           starts: list[str] | None = None, tile: Tile | None = None) -> list:
    out: list[str] = []
    for it in items:
        if isinstance(it, Region):
            out.append("/* region: every thread of the block, up to the next barrier */")
            out += thread_loop(r, it.body, local, variables, ends, starts, tile)
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
        out += indent(_items(r, it.items, local, variables, ends, starts, tile))
        out.append("}")
    return out
