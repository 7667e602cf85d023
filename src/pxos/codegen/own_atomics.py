"""Owned copies of an atomically updated array: a C kernel's histogram without contention.

On a CPU, the atomic adds of a histogram kernel from several cores hit the same few cache
lines, which the cores take from one another on every add: on the 2-core machine
``histogram`` (256 ``u32`` counters, one ``ATOMIC_ADD`` a pixel) ran 4.5 times slower on
two threads than on one (1.98 against 0.44 ms at 10⁵ pixels, ``benchmarks/placement.py
--only histogram``), and PoCL's OpenCL was as slow. The classic cure is privatisation
(each thread its own copy, merged at the end: OpenMP's array ``reduction`` clause, and
CUDA's shared-memory histograms, as in NVIDIA's CUDA samples' ``histogram256``).

An array parameter qualifies (:func:`owned_arrays`) when the kernel touches it only
through atomics of one combining operation (``ADD``, ``MIN``, ``MAX``, ``AND``, ``OR``,
``XOR``) whose old value it does not use, and its elements are integers: then the order
in which the updates land cannot change the result, so updating a copy and merging it
gives exactly the same array. For each, the block function of the C backend's launch
(``codegen/guard``: one call per piece of blocks a pool member takes) gets
(:func:`owned_code`):

* before its loop, where the array has at most :data:`OWN_BYTES` of elements and the
  piece at least :data:`PER_ELEMENT` threads an element (for the first
  :data:`OWN_ARRAYS` such arrays of the kernel): a copy on the stack, filled with
  the operation's identity, which the array's pointer then names;
* after its loop, each element of the copy that changed merged into the array with the
  same atomic.

A fault in the piece leaves its copy unmerged; the launch raises ``PxFaultError`` then
anyway (``codegen/guard``).
"""

from __future__ import annotations

import math

from pxos.codegen.render import Renderer, dim_name, var_name
from pxos.ir import nodes as ir

OWN_BYTES = 16384  # the largest array copied (bytes): it stays in a core's L1 data cache
OWN_ARRAYS = 4  # arrays copied at most (the stack of a piece: 64 KiB of copies at most)
PER_ELEMENT = 4  # threads a piece runs per element of the array, at least, to copy it
# the identity of each combining operation, by C type: (min's, max's); add, or, xor: 0;
# and: all ones
_LIMITS = {"int32_t": ("INT32_MAX", "INT32_MIN"), "uint32_t": ("UINT32_MAX", "0"),
           "int64_t": ("INT64_MAX", "INT64_MIN"), "uint64_t": ("UINT64_MAX", "0")}


def owned_arrays(kernel: ir.Kernel) -> dict[str, str]:
    """The array parameters of ``kernel`` that a piece may update in a copy (module doc):
    name → the atomic operation (``add``, ``min``, …)."""
    ops: dict[str, set] = {}
    touched: set[str] = set()  # arrays loaded, stored, or an atomic's old value kept
    for s in ir.walk(kernel.body):
        if isinstance(s, ir.Atomic) and s.result is None:
            ops.setdefault(s.array, set()).add(s.op)
        elif isinstance(s, (ir.Atomic, ir.Store)):
            touched.add(s.array)
        for e in ir.stmt_exprs(s):
            touched.update(x.array for x in ir.subexprs(e) if isinstance(x, ir.Load))
    out = {}
    for p in kernel.params:
        found = ops.get(p.name)
        if found and len(found) == 1 and p.name not in touched \
                and isinstance(p.type, ir.Array) and p.type.elem.is_int \
                and "exch" not in found:
            out[p.name] = next(iter(found))
    return out


def _identity(op: str, ctype: str) -> str:
    if op == "min":
        return _LIMITS[ctype][0]
    if op == "max":
        return _LIMITS[ctype][1]
    return f"({ctype})~({ctype})0" if op == "and" else "0"


def owned_copies(kernel: ir.Kernel, d) -> dict[str, str]:
    """Those of :func:`owned_arrays` that get a copy in dialect ``d`` (the first
    :data:`OWN_ARRAYS` of 32- and 64-bit integers), each → the C flag that says, in a
    piece, whether it has one: the renderer's ``owned``, so that an update of the copy
    takes no lock (``Intrinsics._own``)."""
    return {name: f"pxos_on_{name}"
            for name in list(owned_arrays(kernel))[:OWN_ARRAYS]
            if d.type_name(kernel.param(name).type.elem) in _LIMITS}


def owned_code(r: Renderer, kernel: ir.Kernel) -> tuple[list[str], list[str]]:
    """(the lines before a block function's loop, the lines after it) that update the
    arrays of :func:`owned_copies` (the renderer's ``owned``) in copies; ([], []) where
    none qualifies. The lines read the piece's first and end block, ``pxos_lo`` and
    ``pxos_hi``."""
    before, after = [], []
    threads = math.prod(kernel.block)
    ops = owned_arrays(kernel)
    for name, on in r.owned.items():  # owned_copies, as render_c set them
        p, op = kernel.param(name), ops[name]
        ctype = r.d.type_name(p.type.elem)
        v, own, to, n = (var_name(name), f"pxos_own_{name}", f"pxos_to_{name}",
                         f"pxos_n_{name}")
        cap = OWN_BYTES * 8 // p.type.elem.bits
        size = " * ".join(dim_name(name, a) for a in range(p.type.ndim))
        ident = _identity(op, ctype)
        merge = r.operation(f"atomic_{op}", p.type.elem, [f"&{to}[pxos_i]", f"{own}[pxos_i]"])
        before += [
            f"{ctype} {own}[{cap}];",
            f"{ctype} *const {to} = {v};",
            f"const int64_t {n} = {size};",
            f"const int {on} = {n} <= {cap} && "
            f"{n} * {PER_ELEMENT} <= (pxos_hi - pxos_lo) * {threads};",
            f"if ({on}) {{",
            f"    for (int64_t pxos_i = 0; pxos_i < {n}; ++pxos_i) {own}[pxos_i] = {ident};",
            f"    {v} = {own};",
            "}"]
        after += [
            f"if ({on})",
            f"    for (int64_t pxos_i = 0; pxos_i < {n}; ++pxos_i)",
            f"        if ({own}[pxos_i] != {ident}) (void){merge};"]
    return before, after
