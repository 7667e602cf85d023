"""Predicting a HYBRID placement: one elementwise launch split between the CPU backend
and a device (``backends/hybrid``).

With the data on the host, a share ``s`` of the elements runs on the CPU backend and the
rest on the device, at once; the device's part pays for its copies there and back. Those
copies also load the host's memory, which the CPU part streams from: a pageable copy
passes through the driver's staging buffer, one read and one write of host memory per
byte (:data:`STAGING`), so they count in the CPU part's memory traffic. A memory-bound
kernel over host data therefore gains nothing from a split (moving a byte to the device
costs the host more than computing with it); a compute-bound one can. The
launch takes as long as the slower part plus the split's own fixed cost (the device part
handed to a worker thread and joined, the host's cores shared with the driver's calls),
which calibration times on a launch too small for its work to count
(:func:`split_overhead`): on the H200 machine a ``c+cuda`` split of ``option_price`` at
10⁵ elements took 1.07 ms, against 0.30 ms on ``cuda`` alone with its copies. The best
share is where the two parts meet; it is found on a grid of shares (every 5 %). The
planner offers HYBRID only where the two devices alone are predicted within :data:`CLOSE`
of each other, and what runs teach about it is kept under its own name (``c+cuda``) in
``planner/history``.

A split must never lose to a device alone, so it is offered only where the model predicts
it to pay by more than the model's own error on splits: the best device alone must be
predicted slower than the split by more than :func:`split_margin` (the relative error of
the split that calibration timed, at least :data:`MIN_MARGIN`). And one measured loss (a
split that ran slower than the best device alone was predicted) withdraws splits of that
kernel at that size and below (``History.withdraw``), in this process and later ones.
"""

from __future__ import annotations

import dataclasses

from pxos import backends, registry
from pxos.arraylike import is_array
from pxos.backends.base import HOST
from pxos.ir.analysis.features import Work
from pxos.planner.model import Copies, Estimate, predict_launch

CLOSE = 3.0  # offer HYBRID when the slower device alone is predicted within 3× the faster
MIN_MARGIN = 0.2  # a split must be predicted at least 20 % faster than the best alone
UNKNOWN_ERROR = 0.5  # the margin where calibration did not time a split
UNKNOWN_OVERHEAD = 1e-3  # a split's fixed cost (s) where calibration did not time one
SHARES = [i / 20 for i in range(1, 20)]
STAGING = 2  # bytes of host memory traffic per byte of a pageable copy (see above)


def scaled(work: Work, share: float) -> Work:
    """The :class:`Work` of ``share`` of an elementwise launch's threads."""
    return dataclasses.replace(work, threads=max(1, int(work.threads * share)),
                               memory_bytes=work.memory_bytes * share,
                               cpu_memory_bytes=work.cpu_memory_bytes * share)


def predict_split(machine, cpu: str, device: str, work: Work, read_bytes: int,
                  write_bytes: int, memory: str, correction: float = 1.0,
                  launch_s: dict | None = None, overhead: float | None = None) -> Estimate:
    """The best split's :class:`Estimate` (its ``split`` is the CPU's share): the slower
    part plus the split's own fixed cost (:func:`split_overhead`), corrected.

    Args:
        read_bytes, write_bytes: bytes of the arrays the device's part receives (all of
            them, ``backends/hybrid``) and sends back (those the kernel writes); the part
            moves its share of each.
        memory: the device's memory (``cuda``, ``opencl``).
        correction: what runs taught about this kernel's HYBRID placement.
        launch_s: learned launch overheads by device (``planner/history``).
        overhead: the split's fixed cost in seconds; default the calibrated one.
    """
    launch_s = launch_s or {}
    fixed = split_overhead(machine, f"{cpu}+{device}") if overhead is None else overhead
    best = None
    for share in SHARES:
        rest = 1 - share
        copies = Copies(up=1, up_bytes=int(read_bytes * rest), down=1,
                        down_bytes=int(write_bytes * rest), memory=memory)
        part = scaled(work, share)
        part = dataclasses.replace(part, cpu_memory_bytes=part.cpu_memory_bytes + STAGING * (
            copies.up_bytes + copies.down_bytes))
        on_cpu = predict_launch(machine, cpu, part, Copies(), True, launch_s=launch_s.get(cpu))
        on_dev = predict_launch(machine, device, scaled(work, rest), copies, True,
                                launch_s=launch_s.get(device))
        seconds = (max(on_cpu.seconds, on_dev.seconds) + fixed) * correction
        if best is None or seconds < best.seconds:
            # the parts overlap, so the whole is one figure: what runs correct
            best = Estimate(f"{cpu}+{device}", seconds, work_s=seconds,
                            memory_s=max(on_cpu.memory_s, on_dev.memory_s),
                            compute_s=max(on_cpu.compute_s, on_dev.compute_s),
                            correction=correction, bound="split", split=share)
    return best


def estimate_split(machine, kernel, args: dict, work: Work, pair: tuple[str, str], history,
                   alone: list[float], pinned: bool = False) -> Estimate | None:
    """HYBRID's :class:`Estimate` for launching elementwise ``kernel`` with ``args``
    (parameter name → array or scalar, all on the host) split between ``pair``; None
    where the devices alone (predicted ``alone`` seconds) are not within :data:`CLOSE`
    of each other, where the split is not predicted to beat the faster by more than
    :func:`split_margin`, or where a split of this kernel lost at this size before
    (``History.withdrawn``), unless the split is ``pinned``."""
    from pxos.planner.history import fingerprint

    name = "+".join(pair)
    if not pinned and (max(alone) > CLOSE * min(alone)
                       or history.withdrawn(fingerprint(kernel), name, work.threads)):
        return None
    access = dict(kernel.access)
    arrays = {name: int(a.nbytes) for name, a in args.items() if is_array(a)}
    written = sum(b for name, b in arrays.items() if "w" in access.get(name, ""))
    est = predict_split(machine, pair[0], pair[1], work, sum(arrays.values()), written,
                        machine.devices[pair[1]].memory,
                        history.correction(fingerprint(kernel), name, work.threads),
                        {d: history.launch(d, None) for d in pair})
    if not pinned and est.seconds * (1 + split_margin(machine, name)) >= min(alone):
        return None  # not surely faster: a split that may lose is not offered
    return est


def split_margin(machine, name: str) -> float:
    """By how much (relative) a split ``name`` must be predicted faster than the best
    device alone to be offered: the model's error on the split calibration timed
    (``Machine.hybrid_error``), at least :data:`MIN_MARGIN`."""
    return max(MIN_MARGIN, machine.hybrid_error.get(name, UNKNOWN_ERROR))


def split_overhead(machine, name: str) -> float:
    """Seconds a split ``name`` costs beyond the slower of its parts (a worker thread
    handed the device part, the two parts joined, the host's cores shared with the
    device's driver thread), as calibration timed it on a launch too small for its work
    to count (``Machine.hybrid_overhead``); :data:`UNKNOWN_OVERHEAD` where it did not."""
    return machine.hybrid_overhead.get(name, UNKNOWN_OVERHEAD)


def memory_of(machine, device: str) -> str:
    """The memory a device's arrays live in (``host`` for the CPU backends and NumPy, and
    for a HYBRID split, which reads and leaves its arrays there), as calibration
    recorded it."""
    if device == HOST or "+" in device:
        return HOST
    fig = machine.devices.get(device)
    return fig.memory if fig is not None else backends.get(device).memory


def hybrid_pair(machine, devices: list[str]) -> tuple[str, str] | None:
    """(CPU backend, device with its own memory) to split between, or None: the first CPU
    backend of ``devices`` with the first GPU among the device backends, in registry order
    (``c`` with ``cuda``, else with an ``opencl`` GPU)."""
    cpu = next((d for d in devices if memory_of(machine, d) == HOST), None)
    gpu = next((d for d in registry.device_backends() if d in devices and machine.is_gpu(d)),
               None)
    return (cpu, gpu) if cpu and gpu else None


def split_pays(machine, pair: tuple[str, str]) -> bool:
    """Whether calibration saw a HYBRID split of ``pair`` beat both devices alone by more
    than the model's error on it twice over, ``(1 + split_margin)²`` (once for the split's
    prediction, once for the prediction of the device alone it must beat): only then does
    the planner offer one (``--device c+cuda`` still pins it). Calibration times the split
    where the model predicts it to pay best; on the H200 machine it ran 1.15× the faster
    device alone with a model error of 52 % in one calibration, 1.40× with 25 % in
    another, and the splits offered after either lost (``heavy_poly`` at 10⁶: 2.77 ms
    against 1.24 ms on ``cuda``, 1.64 ms predicted; at 10⁷: 23.1 against 18.2 ms): the CPU
    part's sixteen threads and the device part's pageable copies share the host."""
    name = "+".join(pair)
    return machine.hybrid.get(name, 0.0) > (1 + split_margin(machine, name)) ** 2
