"""The packed entry of a C kernel: the kernel function called with one array of words.

A call through ctypes converts every argument on each launch (about 2 µs for ten). The
C backend's kernels therefore also export

    void k_<name>_packed(const int64_t *w)

which reads the kernel function's arguments (``codegen/signature``'s order: the three
thread counts, then per parameter its value or pointer and extents, then ``pxos_err``
when checked) from consecutive 64-bit words and calls it. A native caller (the host's
call helper, ``host/native_call``) fills the words and makes one plain C call. Word
layout: an integer or bool in the word's value (sign- or zero-extended), an ``f32`` in
the low four bytes (little- or big-endian alike: ``memcpy`` of the first four bytes, as
the caller writes them), an ``f64`` in all eight, a pointer as ``intptr_t``.
"""

from __future__ import annotations

from pxos.codegen.dialect import Dialect
from pxos.codegen.signature import AXES, entry_name, scalar_param_type
from pxos.ir import nodes as ir
from pxos.ir.types import Array

HELPERS = """#include <string.h>
static inline float pxos_word_f32(const int64_t *w) { float f; memcpy(&f, w, 4); return f; }
static inline double pxos_word_f64(const int64_t *w) { double f; memcpy(&f, w, 8); return f; }
"""


def packed_entry(kernel: ir.Kernel, d: Dialect, checked: bool) -> str:
    """The C text of ``k_<name>_packed`` for ``kernel`` (see the module docstring)."""
    fn = entry_name(kernel)
    args = [f"w[{i}]" for i in range(AXES)]
    n = AXES
    for p in kernel.params:
        if isinstance(p.type, Array):
            args.append(f"({d.pointer(p.type.elem)})(intptr_t)w[{n}]")
            args += [f"w[{n + 1 + a}]" for a in range(p.type.ndim)]
            n += 1 + p.type.ndim
            continue
        t = scalar_param_type(p.type)
        if t.is_float:
            args.append(f"pxos_word_f{t.bits}(&w[{n}])")
        else:
            args.append(f"({d.type_name(t)})w[{n}]")
        n += 1
    if checked:
        args.append(f"(int64_t *)(intptr_t)w[{n}]")
    return "\n".join([HELPERS, f"void {fn}_packed(const int64_t *w)", "{",
                      f"    {fn}({', '.join(args)});", "}", ""])
