"""A kernel as one GPU kernel function: the outline CUDA C, OpenCL C, HIP and WGSL share.

One GPU thread runs one pxos thread; the launch geometry (``pxos_lx``, ``pxos_bx``, …) is
bound once at the top of the function, so the body reads the same as the C dialect's. The
outline (:func:`render_gpu`) is the same on every GPU target; what a target spells its own
way goes through the dialect's hooks (:class:`GpuDialect`), as tinygrad's
``renderer/cstyle.py`` routes a kernel's outline through overridable methods:

* :meth:`GpuDialect.admit`: refuse a kernel the target cannot run (WGSL's missing types);
* :meth:`GpuDialect.kernel_head`: the lines that open the function. By default a C
  function taking ``(int64_t pxos_nx, int64_t pxos_ny, int64_t pxos_nz, <param>...,
  [int64_t *pxos_err])`` as ``codegen/signature`` describes;
* :meth:`GpuDialect.kernel_prologue`: statements before the body (WGSL reads its
  parameters from a uniform buffer);
* :meth:`GpuDialect.launch_geometry`: the launch geometry's names and values (by default
  from the dialect's :meth:`GpuDialect.index` functions), bound where the body reads them;
* :meth:`GpuDialect.module`: the whole translation unit around the function (by default
  the prelude, the helpers, the function: ``dialect.render_unit``).
"""

from __future__ import annotations

import math
import re

from pxos.codegen.dialect import Dialect, KernelSource, comment, render_unit
from pxos.codegen.gpu_stride import grid_stride, render_stride
from pxos.codegen.render import Renderer, var_name
from pxos.codegen.signature import entry_name, kernel_params
from pxos.ir import nodes as ir
from pxos.ir.passes.checked import check_bounds
from pxos.ir.types import F16, Array


class GpuDialect(Dialect):
    """A dialect whose kernels are GPU kernel functions (CUDA C, OpenCL C, HIP, WGSL).

    Attributes:
        renderer_class: the statement renderer (OpenCL's subclass spells ``f16`` buffer
            access and atomics per address space).
        grid_stride: 1-D maps become grid-stride loops (``codegen/gpu_stride``).
        module_shared: shared arrays are declared at module scope (:meth:`module` declares
            them), not in the function.
        early_return: the statement returning from threads past ``GPU_THREADS``.
        constant_form: the binding of a launch-geometry name (``{name}``, ``{value}``).
    """

    renderer_class = Renderer
    grid_stride = False
    module_shared = False
    early_return = "if ({}) return;  /* threads past GPU_THREADS */"
    constant_form = "const int32_t {name} = {value};"  # a geometry name's binding

    def index(self, which: str, axis: int) -> str:
        """``local_id``, ``group_id``, ``local_size`` or ``num_groups`` on ``axis``, as
        an ``int32`` expression (for the default :meth:`launch_geometry`)."""
        raise NotImplementedError(f"the {self.name} dialect has no index functions")

    def kernel_qualifier(self, block: tuple[int, ...]) -> str:
        """What precedes the kernel function's name, ``void`` included, for a kernel of
        ``block`` threads per block (x first; for the default :meth:`kernel_head`)."""
        raise NotImplementedError(f"the {self.name} dialect has no kernel qualifier")

    def admit(self, kernel: ir.Kernel) -> None:
        """Refuse a kernel this target cannot run (``PxTypeError``); by default none."""

    def kernel_head(self, kernel: ir.Kernel, fn: str, checked: bool) -> list[str]:
        """The lines that open kernel function ``fn``, up to its opening brace."""
        params = ", ".join(kernel_params(kernel, self, checked))
        return [f"{self.kernel_qualifier(tuple(kernel.block))} {fn}({params})", "{"]

    def kernel_prologue(self, kernel: ir.Kernel, r: Renderer) -> list[str]:
        """Statements at the top of the function, before its variables; by default none."""
        return []

    def launch_geometry(self, kernel: ir.Kernel) -> list[tuple[str, str]]:
        """Each launch-geometry name (``pxos_lx`` …) and its value, from :meth:`index`."""
        axes = "xyz"[:kernel.ndim]
        geometry = [(f"pxos_{g}{a}", self.index(fn, i)) for i, a in enumerate(axes)
                    for g, fn in (("l", "local_id"), ("b", "group_id"), ("bs", "local_size"))]
        return geometry + [("pxos_gx", self.index("num_groups", 0)),
                           ("pxos_gy", self.index("num_groups", 1))]

    def geometry_lines(self, kernel: ir.Kernel, body: str) -> list[str]:
        """Bindings of the launch-geometry names (:meth:`launch_geometry`) ``body`` reads."""
        return [self.constant_form.format(name=name, value=value) for name, value in
                self.launch_geometry(kernel) if re.search(rf"\b{name}\b", body)]

    def module(self, kernel: ir.Kernel, r: Renderer, helpers, function: str,
               checked: bool) -> str:
        """The translation unit holding ``function`` and ``helpers`` ((name, text) pairs)."""
        return render_unit(self, helpers, [function], uses_f16(kernel))


def render_gpu(kernel: ir.Kernel, d: GpuDialect, checked: bool = False) -> KernelSource:
    """Render a checked kernel as a GPU kernel function in dialect ``d``.

    Args:
        kernel: from ``ir.check.check_kernel``.
        d: a GPU dialect (``codegen/cuda``, ``opencl``, ``hip``, ``wgsl``).
        checked: add bounds checks that report through ``pxos_err``.

    Returns:
        The translation unit, with line markers back to the `.px` file.

    Raises:
        PxTypeError: the target cannot run ``kernel`` (:meth:`GpuDialect.admit`).
    """
    given = kernel
    d.admit(kernel)
    if checked:
        kernel = check_bounds(kernel)
    r = d.renderer_class(kernel, d)
    body = d.kernel_prologue(kernel, r)
    if not d.module_shared:
        body += [d.shared_array(var_name(s.name), s.elem, math.prod(s.shape))
                 for s in kernel.shared]
    body += [d.declare(var_name(name), t, d.literal(0, t)) for name, t in kernel.variables]
    if d.grid_stride and grid_stride(kernel):
        body += render_stride(r, kernel)
    else:
        if kernel.guarded:
            body.append(d.early_return.format(past_threads(kernel, d)))
        body += r.body(kernel.body, 0)
    body = d.geometry_lines(kernel, "\n".join(body)) + body
    fn = entry_name(kernel)
    header = comment(f"pxos: kernel {kernel.name} from {kernel.span.file}, {d.name} dialect "
                     "(one GPU thread per pxos thread)")
    function = "\n".join([
        header, *d.kernel_head(kernel, fn, checked),
        *["    " + x if x and not x.startswith("#") else x for x in body], "}", "",
    ])
    helpers = tuple(r.intrinsics.needed.items())
    return KernelSource(given, d.module(kernel, r, helpers, function, checked), fn, function,
                        helpers, checked)


def past_threads(kernel: ir.Kernel, d: Dialect) -> str:
    """The condition of a GPU thread past the requested threads (a loop-form kernel's
    ``GPU_THREADS`` rounds the launch up to whole blocks)."""
    return " || ".join(f"{d.as_index(f'pxos_b{a}')} * pxos_bs{a} + pxos_l{a} >= pxos_n{a}"
                       for a in "xyz"[:kernel.ndim])


def uses_f16(kernel: ir.Kernel) -> bool:
    """Whether any parameter, shared array or variable of ``kernel`` is ``f16``."""
    types = [p.type.elem if isinstance(p.type, Array) else p.type for p in kernel.params]
    types += [s.elem for s in kernel.shared] + [t for _, t in kernel.variables]
    return F16 in types
