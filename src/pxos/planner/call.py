"""Placing one call of a Python kernel (``@pxos.kernel`` without ``device=``).

The call's arrays are where the caller keeps them (NumPy on the host, CuPy or CUDA PyTorch
on ``cuda``, a ``pxos.ndarray`` wherever it is current), and a call returns its results
there; so a device other than where an array lives costs a copy there and, for an array
the kernel writes, a copy back. The model (``planner/model``) predicts each candidate
backend with those copies and the fastest wins. Decisions are kept per argument shapes
and scalar values, so a repeated call decides by a dictionary lookup.
"""

from __future__ import annotations

import math

from pxos import backends, registry
from pxos.arraylike import is_array, library_of, numpy_dtype
from pxos.backends.base import HOST
from pxos.ir import nodes as ir
from pxos.ir.analysis.features import launch_work
from pxos.ir.types import Array
from pxos.planner.decision import Decision
from pxos.planner.dryrun import stand_in
from pxos.planner.history import alike_devices, fingerprint, history_for
from pxos.planner.model import Copies, predict_launch
from pxos.ir.analysis.split import elementwise
from pxos.planner.hybrid import estimate_split
from pxos.planner.costs import is_cached, statement_key
from pxos.planner.hybrid import hybrid_pair, memory_of, split_pays
from pxos.planner.reason import explain_choice

MEMO_LIMIT = 256


def call_devices(machine) -> list[str]:
    """The backends a call may run on: the compiling ones present (``interp`` only when
    there is none) that ``--device auto`` may choose (``backends.auto_candidates``)."""
    return backends.auto_candidates(registry.compiling(machine.present()))


def place_call(kernel: ir.Kernel, args, threads, memories: list[str | None],
               machine=None, devices: list[str] | None = None,
               split: bool = True, amortized: bool = False) -> Decision:
    """The :class:`Decision` for one call.

    Args:
        kernel: the checked kernel of the call's signature.
        args: the call's arguments in parameter order (arrays with ``shape``, ``dtype``,
            ``nbytes``; scalars).
        threads: the launch's thread counts.
        memories: for each argument, the memory holding its current contents (``host``,
            ``cuda``, ``opencl``; None for a scalar).
        devices: the candidates (default: :func:`call_devices`).
        split: offer HYBRID (``planner/hybrid``) where it may pay.
        amortized: charge no build time (the call is repeated: see :func:`calls_to_amortize`).
    """
    from pxos.planner.calibration import machine as this_machine

    machine = machine or this_machine()
    if machine.pending and devices is None:  # every backend is a candidate: measure all
        from pxos.planner.calibration import complete

        complete(machine, library=False)  # a call needs no REDUCE or SORT figures
    env = {p.name: (stand_in(a.shape, a.dtype) if isinstance(p.type, Array) else a)
           for p, a in zip(kernel.params, args)}
    work = launch_work(kernel, env, threads)
    access = dict(kernel.access)
    history = history_for(machine.key)
    key = fingerprint(kernel)
    estimates, moves = {}, {}
    for device in devices or call_devices(machine):
        memory = memory_of(machine, device)
        copies = moves[device] = Copies()
        for p, a, m in zip(kernel.params, args, memories):
            if m is None or m == memory:
                continue
            _move(copies, m, memory, int(a.nbytes), fresh=True)  # (host/arg_placement)
            if "w" in access.get(p.name, ""):  # and back to where the caller keeps it
                _move(copies, memory, m, int(a.nbytes))
        compiled = amortized or is_cached(device, kernel)
        estimates[device] = predict_launch(machine, device, work, copies, compiled,
                                           history.correction(key, device, work.threads,
                                                              alike_devices(machine, device)),
                                           launch_s=history.launch(device, None))
    pair = hybrid_pair(machine, list(estimates)) if split else None
    split = None
    if pair is not None and split_pays(machine, pair) and elementwise(kernel) \
            and all(m in (None, HOST) for m in memories):
        split = estimate_split(machine, kernel,
                               {p.name: a for p, a, m in zip(kernel.params, args, memories)
                                if m is not None}, work, pair, history,
                               [estimates[d].seconds for d in pair])
    if split is not None:
        estimates[split.device] = split
        moves[split.device] = Copies()
    device = min(estimates, key=lambda d: estimates[d].seconds)
    features = work.as_dict()
    reason = explain_choice(machine, None, device, estimates, None, 0.0, features,
                            call_devices(machine))
    predicted = dict(sorted(((d, e.seconds) for d, e in estimates.items()),
                            key=lambda kv: kv[1]))
    return Decision(kernel.span.line, f"{kernel.name}(…)", device, predicted, estimates,
                    reason, False, features, moves[device],
                    fingerprint=key, size=work.threads)


def _move(copies: Copies, src: str, dst: str, nbytes: int, fresh: bool = False) -> None:
    """Count the copies of ``nbytes`` from memory ``src`` to ``dst`` (through the host
    between two devices); ``fresh``: one from a device lands in a new host array."""
    copies.memory = copies.memory or (src if src != HOST else dst)
    if src != HOST:
        copies.down += 1
        copies.down_bytes += nbytes
        copies.fresh_bytes += nbytes * fresh
    if dst != HOST:
        copies.up += 1
        copies.up_bytes += nbytes


def calls_to_amortize(decision: Decision) -> int | None:
    """How many calls like ``decision``'s before it is to be made again with no build
    time charged (``place_arguments(amortized=True)``), or None where no other device
    would be faster once built. A first call charges each device the build of its code, so
    a short kernel goes where it builds fastest (``c``) even where another (``cuda``) runs
    it faster; after as many calls as the faster device's build time ÷ the time it saves
    per call, building it pays (the ski-rental rule: never more than twice the best
    offline cost)."""
    steady = {d: e.steady_s for d, e in decision.estimates.items()}
    chosen = steady.get(decision.device)
    counts = [math.ceil(decision.estimates[d].compile_s / (chosen - t))
              for d, t in steady.items() if chosen is not None and t < chosen]
    return max(1, min(counts)) if counts else None


def place_arguments(kernel: ir.Kernel, args, threads, amortized: bool = False) -> Decision:
    """:func:`place_call` for a Python call's own arguments: arrays of any library (NumPy,
    CuPy, PyTorch, ``pxos.ndarray``), where their library keeps them; no HYBRID (a call
    runs on one backend); ``amortized``: no build time charged."""
    arrays = [is_array(a) for a in args]
    memories = [None if not array else
                a.device if library_of(a) == "pxos" else  # pxos.ndarray: the memory's name
                registry.memory_of_library(library_of(a))
                for a, array in zip(args, arrays)]
    shadows = [stand_in(tuple(a.shape), numpy_dtype(a.dtype)) if array else a
               for a, array in zip(args, arrays)]  # NumPy's view of any array
    return place_call(kernel, shadows, threads, memories, split=False, amortized=amortized)


def place_library(op: str, array, memory: str, machine=None) -> Decision:
    """The :class:`Decision` for ``REDUCE`` (``op`` ``reduce``) or ``SORT`` (``sort``) of
    ``array`` whose contents are in ``memory``; a sort's result is wanted back there, a
    reduction's scalar on the host."""
    from pxos.planner.calibration import CUDA_LIBRARY, complete, machine as this_machine
    from pxos.planner.model import predict_library

    machine = machine or this_machine()
    if CUDA_LIBRARY in machine.pending:  # CuPy's operations: measured on first use
        complete(machine, [CUDA_LIBRARY])
    history = history_for(machine.key)
    key = f"{op.upper()} {array.dtype}"
    estimates, moves = {}, {}
    for side in machine.library:
        copies = moves[side] = Copies()
        if side != memory:
            _move(copies, memory, side, int(array.nbytes))
            if op == "sort":
                _move(copies, side, memory, int(array.nbytes))
        estimates[side] = predict_library(machine, side, op, int(array.size),
                                          int(array.nbytes), copies,
                                          history.correction(key, side, int(array.size)),
                                          history.launch(statement_key(op, side), None))
    side = min(estimates, key=lambda d: estimates[d].seconds)
    features = {"elements": int(array.size), "bytes": int(array.nbytes)}
    reason = explain_choice(machine, None, side, estimates, None, 0.0, features,
                            call_devices(machine))
    predicted = dict(sorted(((d, e.seconds) for d, e in estimates.items()),
                            key=lambda kv: kv[1]))
    return Decision(0, f"{op.upper()}", side, predicted, estimates, reason, False, features,
                    moves[side], fingerprint=key, size=int(array.size),
                    launch_key=statement_key(op, side))
