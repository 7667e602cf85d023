"""Memory-bound maps on a GPU: a grid-stride loop, and 16-byte loads where alignment allows.

A 1-D loop-form kernel that cannot observe its block (no ``LOCAL_ID``, ``BLOCK_ID``,
``BLOCK_SIZE``) is rendered as a grid-stride loop (each GPU thread runs pxos threads
``t, t + stride, …``), so the backend may launch only a few blocks per SM
(``backends/cuda``: :data:`BLOCKS_PER_SM`) instead of one thread per element.

When, in addition, the kernel is straight-line (assignments and stores only, no branch,
``SELECT``, ``AND``/``OR`` or loop) and every array it touches is 1-D with 4-byte elements
and indexed only by the thread index itself, each GPU thread takes four consecutive pxos
threads at a time: it loads each array it reads as one ``float4``/``int4``/``uint4``, runs
the four threads' statements in order on the four components, and stores each array it
writes as one vector. This runs only when every array's address is a multiple of 16 bytes
(checked at run time); the last ``n % 4`` threads, and every thread of an unaligned call,
take the scalar grid-stride loop. Each pxos thread still runs its own statements in its own
order on its own elements, so results are unchanged.
"""

from __future__ import annotations

from pxos.codegen.render import Renderer, var_name
from pxos.ir import nodes as ir
from pxos.ir.types import Array

BLOCKS_PER_SM = 16  # a grid-stride launch: blocks per streaming multiprocessor, at most
_VECTOR = {"f32": "float4", "i32": "int4", "u32": "uint4"}


def block_unobservable(kernel: ir.Kernel) -> bool:
    """Whether ``kernel`` is loop-form and reads no launch index but its thread index, so
    its block shape and grid cannot change its result."""
    if not kernel.guarded:
        return False
    return not any(isinstance(x, ir.Builtin) and x.name != "thread_id"
                   for s in ir.walk(kernel.body) for e in ir.stmt_exprs(s)
                   for x in ir.subexprs(e))


def grid_stride(kernel: ir.Kernel) -> bool:
    """Whether the CUDA code of ``kernel`` is a grid-stride loop (module docstring)."""
    return kernel.ndim == 1 and block_unobservable(kernel)


def quad_arrays(kernel: ir.Kernel) -> dict[str, str] | None:
    """The arrays a grid-stride ``kernel`` moves as 16-byte vectors, by name: their vector
    type; None where the rule of the module docstring does not hold."""
    body = kernel.body
    if not body or not isinstance(body[0], ir.Assign) \
            or not isinstance(body[0].value, ir.Builtin):
        return None
    index = body[0].name
    arrays = {p.name: p.type for p in kernel.params if isinstance(p.type, Array)}
    used: dict[str, str] = {}
    for s in body:
        if not isinstance(s, (ir.Assign, ir.Store)):
            return None
        if isinstance(s, ir.Assign) and s.name == index and s is not body[0]:
            return None
        exprs = list(ir.stmt_exprs(s))
        accesses = [x for e in exprs for x in ir.subexprs(e) if isinstance(x, ir.Load)]
        if isinstance(s, ir.Store):
            accesses.append(ir.Load(s.span, s.array, s.index))
        for x in (y for e in exprs for y in ir.subexprs(e)):
            if (isinstance(x, ir.Call) and x.fn == "select") or \
                    (isinstance(x, ir.Binary) and x.op in ("and", "or")):
                return None
        for a in accesses:
            t = arrays.get(a.array)
            if t is None or t.ndim != 1 or t.elem.name not in _VECTOR \
                    or not (isinstance(a.index[0], ir.Var) and a.index[0].name == index):
                return None
            used[a.array] = _VECTOR[t.elem.name]
    return used or None


def render_stride(r: Renderer, kernel: ir.Kernel) -> list[str]:
    """The grid-stride body of ``kernel`` (its statements; variables declared before);
    no vectors in a checked kernel (each access is checked as written)."""
    first = "(int64_t)blockIdx.x * blockDim.x + threadIdx.x"
    out = ["const int64_t pxos_stride = (int64_t)gridDim.x * blockDim.x;",
           "int64_t pxos_from = 0;"]
    quads = quad_arrays(kernel)  # None when checked: a Bound index is not the thread's
    if quads:
        written = {s.array for s in kernel.body if isinstance(s, ir.Store)}
        aligned = " | ".join(f"(unsigned long long){var_name(a)}" for a in sorted(quads))
        out += [f"if ((({aligned}) & 15) == 0) {{  /* 16-byte loads and stores */",
                "    const int64_t pxos_quads = pxos_nx / 4;",
                f"    for (int64_t pxos_q = {first}; pxos_q < pxos_quads; "
                "pxos_q += pxos_stride) {"]
        for a, vec in sorted(quads.items()):
            init = f" = ((const {vec} *){var_name(a)})[pxos_q]" if _reads(kernel, a) else ""
            out.append(f"        {vec} pxos_v_{a}{init};")
        for lane, comp in enumerate("xyzw"):
            r.thread_index = f"(int32_t)(4 * pxos_q + {lane})"
            r.element_override = {a: f"pxos_v_{a}.{comp}" for a in quads}
            r._line = None
            out += ["        " + x if not x.startswith("#") else x
                    for x in r.body(kernel.body, 0)]
        r.element_override = {}
        out += [f"        (({quads[a]} *){var_name(a)})[pxos_q] = pxos_v_{a};"
                for a in sorted(written)]
        out += ["    }", "    pxos_from = pxos_quads * 4;", "}"]
    r.thread_index = "(int32_t)pxos_t"
    r._line = None
    out += [f"for (int64_t pxos_t = pxos_from + {first}; pxos_t < pxos_nx; "
            "pxos_t += pxos_stride) {",
            *["    " + x if not x.startswith("#") else x for x in r.body(kernel.body, 0)],
            "}"]
    r.thread_index = None
    return out


def _reads(kernel: ir.Kernel, array: str) -> bool:
    return any(isinstance(x, ir.Load) and x.array == array
               for s in ir.walk(kernel.body) for e in ir.stmt_exprs(s)
               for x in ir.subexprs(e))
