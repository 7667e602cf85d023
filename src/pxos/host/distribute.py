"""One launch over NumPy arrays, split across several devices along its outer axis.

``saxpy(a, x, y, out, devices=["cuda:0", "cuda:1"])`` (or ``devices="auto"``) cuts the
launch's rows between the devices (``planner/distribute``), each piece with the halo its
stencil needs (``ir/analysis/halo``), runs the pieces at once, one host thread per device
(a CUDA device's piece inside ``cupy.cuda.Device(i)``: its own context and stream), and
writes back the rows each piece owns. An array written only by atomics is a reduction:
each piece starts from the operation's identity and the partials are combined into the
array, as one launch would have added to it. The result equals one launch.

A device is a backend name with an optional index (``cuda:1``, ``c:0``): several indices
of a CPU backend are *logical* devices (pieces that run at once on the same cores), which
is how the splitting is tested on a machine with no GPU or one.
"""

from __future__ import annotations

import contextlib
from concurrent.futures import ThreadPoolExecutor
from typing import Sequence

import numpy as np

from pxos import backends, registry
from pxos.errors import PxArgumentError
from pxos.arraylike import is_array
from pxos.host.launch import run_kernel
from pxos.host.pyargs import scalar_converter, thread_counts
from pxos.ir import nodes as ir
from pxos.ir.analysis.halo import Blocking, blocking
from pxos.ir.types import Array
from pxos.planner.distribute import Distribution, Piece, choose_split, split_rows

# the identity of each reducing atomic (what a partial result starts from), and the
# operation that combines partials
IDENTITY = {"add": lambda dt: 0, "or": lambda dt: 0, "xor": lambda dt: 0,
            "and": lambda dt: ~np.zeros((), dt),
            "min": lambda dt: np.inf if dt.kind == "f" else np.iinfo(dt).max,
            "max": lambda dt: -np.inf if dt.kind == "f" else np.iinfo(dt).min}
UFUNCS = {"add": np.add, "min": np.minimum, "max": np.maximum, "and": np.bitwise_and,
          "or": np.bitwise_or, "xor": np.bitwise_xor}


def backend_of(device: str) -> tuple[str, int | None]:
    """``cuda:1`` -> (``cuda``, 1); ``c`` -> (``c``, None)."""
    name, _, index = device.partition(":")
    return name, (int(index) if index.isdigit() else None)


def candidate_devices() -> list[str]:
    """``devices="auto"``: every GPU of this machine (``cuda:0`` …), else the CPU backend."""
    if "cuda" in backends.available():
        import cupy

        return [f"cuda:{i}" for i in range(cupy.cuda.runtime.getDeviceCount())]
    return [registry.cpu_backends()[0]]


def _context(device: str):
    name, index = backend_of(device)
    if name == "cuda" and index is not None:
        import cupy

        return cupy.cuda.Device(index)
    return contextlib.nullcontext()


def run_split(kernel: ir.Kernel, args: Sequence, devices, threads: Sequence[int]) -> Distribution:
    """Run checked ``kernel`` over ``args`` split across ``devices`` (module docstring).

    Args:
        args: in parameter order: C-contiguous NumPy arrays (updated in place) and NumPy
            scalars.
        devices: device names (``cuda:0``, ``c:1`` …), or ``"auto"``: the planner chooses
            how many of :func:`candidate_devices` pay.
        threads: the launch's thread counts, x first.

    Raises:
        PxArgumentError: the kernel cannot be split (``ir/analysis/halo`` says why), or a
            stencil whose reach is not a constant.
        PxBackendError: a device's backend cannot run here.
    """
    cut = blocking(kernel)
    halo = cut.halo[-1]
    if halo is None:
        raise PxArgumentError(f"kernel {kernel.name!r}: how far it reads along its outer "
                              "axis is not a constant, so its rows cannot be split",
                              kernel.span, "run it on one device")
    names = list(candidate_devices() if devices == "auto" else devices)
    if not names:
        raise PxArgumentError("devices= names no device")
    for d in names:
        backends.get(backend_of(d)[0])
    extent = int(threads[-1])
    if devices == "auto":
        plan = choose_split(extent, names, halo, _predictor(kernel, args, threads, cut))
    else:
        plan = Distribution(split_rows(extent, names, halo), {}, f"split over {names}")
    _run(kernel, cut, args, plan.pieces)
    return plan


def split_call(kernel: ir.Kernel, args: Sequence, devices, threads, counts) -> Distribution:
    """``kernel(*args, devices=…)`` of a ``@pxos.kernel``: :func:`run_split` after
    converting the scalars; ``threads`` as the call's, else ``counts(args)``.

    Raises:
        PxArgumentError: an array other than NumPy's (each device gets rows of it).
    """
    if any(is_array(a) and not isinstance(a, np.ndarray) for a in args):
        raise PxArgumentError("devices= splits a launch over NumPy arrays only",
                              hint="pass numpy arrays (each device gets its rows)")
    values = [a if isinstance(p.type, Array) else scalar_converter(p.type, p.name)(a)
              for p, a in zip(kernel.params, args)]
    return run_split(kernel, values, devices, thread_counts(threads) or counts(values))


def _piece_args(kernel: ir.Kernel, cut: Blocking, args, piece: Piece) -> list:
    out = []
    for p, a in zip(kernel.params, args):
        role = cut.roles.get(p.name)
        if role == "block":
            out.append(np.array(a[piece.lo:piece.hi], order="C", copy=True))
        elif role == "reduce":
            out.append(np.full(a.shape, IDENTITY[cut.ops[p.name]](a.dtype), a.dtype))
        else:
            out.append(a)
    return out


def _piece_threads(cut: Blocking, kernel: ir.Kernel, parts: list) -> tuple[int, ...]:
    index = {p.name: i for i, p in enumerate(kernel.params)}
    return tuple(int(parts[index[name]].shape[axis]) for name, axis in cut.launch)


def _run(kernel: ir.Kernel, cut: Blocking, args, pieces: Sequence[Piece]) -> None:
    parts = [_piece_args(kernel, cut, args, p) for p in pieces]

    def one(i: int) -> None:
        with _context(pieces[i].device):
            run_kernel(backend_of(pieces[i].device)[0], kernel, parts[i],
                       _piece_threads(cut, kernel, parts[i]))

    with ThreadPoolExecutor(max_workers=len(pieces)) as pool:
        list(pool.map(one, range(len(pieces))))
    access = dict(kernel.access)
    for j, (p, a) in enumerate(zip(kernel.params, args)):
        if "w" not in access.get(p.name, "") or not isinstance(p.type, Array):
            continue
        if cut.roles[p.name] == "reduce":
            ufunc = UFUNCS[cut.ops[p.name]]
            a[...] = ufunc.reduce([a] + [part[j] for part in parts], axis=0)
            continue
        for piece, part in zip(pieces, parts):
            a[piece.start:piece.stop] = part[j][piece.start - piece.lo:piece.stop - piece.lo]


def _predictor(kernel: ir.Kernel, args, threads, cut: Blocking):
    """Seconds the cost model predicts for ``rows`` rows of the launch on a device."""
    from pxos.planner.call import place_call
    from pxos.planner.dryrun import stand_in

    def predict(device: str, rows: int) -> float:
        name = backend_of(device)[0]
        shadows, memories = [], []
        for p, a in zip(kernel.params, args):
            if isinstance(p.type, Array):
                shape = (rows,) + a.shape[1:] if cut.roles[p.name] == "block" else a.shape
                shadows.append(stand_in(shape, a.dtype))
                memories.append(registry.HOST)
            else:
                shadows.append(a)
                memories.append(None)
        piece_threads = tuple(threads[:-1]) + (rows,)
        decision = place_call(kernel, shadows, piece_threads, memories, devices=[name],
                              split=False)
        return decision.predicted[name]
    return predict
