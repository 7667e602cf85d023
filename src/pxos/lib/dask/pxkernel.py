"""A kernel of a `.px` file, called from Python as a ``@pxos.kernel`` is.

``px_kernel("examples/heat.px", "diffuse")`` parses the file once and checks the kernel;
calling the result with NumPy arrays and numbers (in parameter order) launches it where
the planner predicts it runs fastest (``planner/call``), as a `.px` ``RUN`` of data on the
host does (``host/launch``): the arrays it writes are updated in place. This is what
``pxos.dask`` runs on each block of a `.px` kernel.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from pxos import backends, registry
from pxos.backends.base import HOST, make_launch
from pxos.errors import PxArgumentError, PxNameError
from pxos.host.launch import run_kernel
from pxos.host.pyargs import check_against, scalar_converter
from pxos.ir import nodes as ir
from pxos.ir.analysis.bounds import launch_checker
from pxos.ir.check import check_kernel
from pxos.ir.evaluate import eval_scalar
from pxos.ir.types import Array


class PxKernel:
    """One checked kernel of a `.px` file, callable with NumPy arrays.

    Args:
        kernel: the kernel's IR, from ``lang/px/parser.parse_file``; checked here unless
            ``checked`` says it was (a ``@pxos.kernel``'s IR for one signature).
        path: the file it came from (for pickling: a worker parses it again).

    Attributes:
        ir: the checked kernel; ``decision`` the planner's last choice.
    """

    def __init__(self, kernel: ir.Kernel, path: str | None = None, checked: bool = False):
        self.ir = kernel if checked else check_kernel(kernel)
        self.name = kernel.name
        self.path = path
        self.decision = None
        self._devices: dict[tuple, str] = {}  # the planner's choice per sizes and scalars
        self._built: dict[str, tuple] = {}  # device -> (backend, build, bounds check)
        self._valid: set[tuple] = set()  # argument kinds already checked
        self._extents = _extents(self.ir)
        self._types = [np.ndarray if isinstance(p.type, Array) else p.type.dtype.type
                       for p in self.ir.params]

    def __reduce__(self):
        if self.path is None:
            return PxKernel, (self.ir, None, True)
        return px_kernel, (self.path, self.name)

    def __repr__(self) -> str:
        return f"<pxos .px kernel {self.name} of {self.path or 'a program'}>"

    def __call__(self, *args, device: str | None = None) -> None:
        """Launch over ``args``: C-contiguous NumPy arrays of each array parameter's dtype
        and rank (updated with what the kernel writes), numbers for scalars.

        Raises:
            PxArgumentError, PxTypeError: a wrong count, rank, dtype or kind of argument.
            PxError: as a `.px` ``RUN`` (bounds, backend).
        """
        args = self._arguments(args)
        threads = self._threads(args)
        if device in (None, "auto"):
            device = self._place(args, threads)
        built = self._built.get(device)
        if built is None:  # the backend, its build, and the bounds check: once per device
            backend = backends.get(device)
            if backend.memory != HOST or registry.always_checked(device):
                built = self._built[device] = (None, None, None)
            else:
                built = self._built[device] = (backend, backend.compile(self.ir, False),
                                               launch_checker(self.ir))
        backend, compiled, bounds = built
        if backend is None:  # a device with memory of its own: copies there and back
            run_kernel(device, self.ir, args, threads)
            return
        bounds(args, threads)
        backend.launch(compiled, args, make_launch(self.ir, threads))

    def _threads(self, args) -> tuple[int, ...]:
        """The launch's thread counts: extents of the arguments, or the host evaluator."""
        if self._extents is not None:
            return tuple(args[i].shape[axis] if axis is not None else args[i].size
                         for i, axis in self._extents)
        env = {p.name: a for p, a in zip(self.ir.params, args)}
        return tuple(int(eval_scalar(e, env)) for e in self.ir.threads)

    def _place(self, args, threads) -> str:
        """The planner's device for these sizes and scalars (decided once per them)."""
        key = tuple(a.shape if isinstance(a, np.ndarray) else a for a in args)
        device = self._devices.get(key)
        if device is None:
            from pxos.planner.call import MEMO_LIMIT, place_arguments

            self.decision = place_arguments(self.ir, args, threads)
            if len(self._devices) >= MEMO_LIMIT:
                self._devices.clear()
            device = self._devices[key] = self.decision.device
        return device

    def _arguments(self, args) -> list:
        params = self.ir.params
        if len(args) != len(params):
            raise PxArgumentError(f"kernel {self.name!r} takes {len(params)} arguments, got "
                                  f"{len(args)}", self.ir.span)
        kinds = tuple((a.dtype, a.ndim, a.flags.c_contiguous) if isinstance(a, np.ndarray)
                      else type(a) for a in args)
        if kinds in self._valid and all(map(isinstance, args, self._types)):
            return [a if t is np.ndarray else t(a) for a, t in zip(args, self._types)]
        out = self._check(args)
        self._valid.add(kinds)
        return out

    def _check(self, args) -> list:
        out = []
        access = dict(self.ir.access)
        for p, a in zip(self.ir.params, args):
            if isinstance(p.type, Array):
                if not isinstance(a, np.ndarray):
                    raise PxArgumentError(f"argument {p.name!r} of {self.name!r}: a NumPy "
                                          f"array, got {type(a).__name__}", p.span)
                check_against(p.name, a, p.type)
                if not a.flags.c_contiguous and "w" in access.get(p.name, ""):
                    raise PxArgumentError(f"argument {p.name!r} of {self.name!r}: the kernel "
                                          "writes it, so it must be C-contiguous", p.span,
                                          "pass numpy.ascontiguousarray(…) and read that")
                out.append(np.ascontiguousarray(a))
            else:
                out.append(scalar_converter(p.type, p.name)(a))
        return out


def _extents(kernel: ir.Kernel) -> list[tuple[int, int | None]] | None:
    """(argument, axis or None for all elements) per launch axis, when every thread count
    is an extent of an array parameter (as a `.px` kernel's default launch is)."""
    index = {p.name: i for i, p in enumerate(kernel.params)}
    out = []
    for e in kernel.threads:
        while isinstance(e, ir.Cast):
            e = e.operand
        if not isinstance(e, ir.Dim):
            return None
        out.append((index[e.array], e.axis))
    return out


def px_kernel(path: str | Path, name: str) -> PxKernel:
    """Kernel ``name`` of the `.px` file at ``path``, callable from Python.

    Raises:
        PxFileError, PxSyntaxError, PxTypeError: the file cannot be read or is not valid.
        PxNameError: the file has no kernel of that name.
    """
    from pxos.lang.px.parser import parse_file

    program = parse_file(path)
    for kernel in program.kernels:
        if kernel.name == name:
            return PxKernel(kernel, str(path))
    names = ", ".join(k.name for k in program.kernels) or "none"
    raise PxNameError(f"{path} has no kernel {name!r} (its kernels: {names})")
