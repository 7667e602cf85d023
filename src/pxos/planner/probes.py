"""The measurements behind calibration: each probe kernel of ``probes.px`` run through a
backend, grown until it runs long enough to time, and divided into the work
``ir/analysis`` counts for it (see ``planner/calibration`` for what each figure means)."""

from __future__ import annotations

import dataclasses
import math
import statistics
import time
import uuid
from functools import cache
from typing import Callable

import numpy as np

from pxos import registry
from pxos.backends.base import HOST, make_launch
from pxos.ir import nodes as ir
from pxos.ir.analysis.features import launch_work
from pxos.planner.calibration import CACHE_BYTES, PROBES, DeviceFigures
from pxos.planner.probe_memory import FIRST, OUTPUT, ProbeMemory

TARGET_S = 0.002  # a timed probe runs at least this long (where its size limit allows)
MIN_GROWTH = 16  # a probe's timed size is at least this many times its first
SETTLED = 0.1  # a probe's last size is timed until a launch gains less than this on the best
TINY = 1e-9


@cache
def probe_kernels() -> dict[str, ir.Kernel]:
    """The checked kernels of ``probes.px`` by name."""
    from pxos.ir.check_host import check_program
    from pxos.lang.px.parser import parse_file

    return {k.name: k for k in check_program(parse_file(PROBES)).kernels}


def kernels_for(backend) -> list[ir.Kernel]:
    """The probe kernels calibration builds and times on ``backend``: all of them, but
    ``probe_vector`` where the backend vectorises loops of uniform count whether the count
    is a literal or not (``Backend.uniform_loops_vectorised``: there it is the code of
    ``probe_ops``, and its build about a quarter of the C backend's probe builds), and
    ``probe_divergent`` on a GPU (the model uses its rate on CPUs only)."""
    skip = {"probe_vector"} if backend.uniform_loops_vectorised else set()
    if is_gpu_backend(backend.name, backend):
        skip.add("probe_divergent")
    return [k for name, k in probe_kernels().items() if name not in skip]


def best_time(run: Callable[[], None], repeats: int = 3, warm: bool = True) -> float:
    """The fastest of ``repeats`` timed calls of ``run``, seconds; ``warm``: after one
    untimed call (first-use costs: code loading, page faults, thread start)."""
    if warm:
        run()
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - t0)
    return best


def _settled(run: Callable[[], None], seconds: float, most: int = 5) -> float:
    """The best time of ``run``, given one launch that took ``seconds``: launched again
    until a launch is not :data:`SETTLED` faster than the best so far, at most ``most``
    launches in all. On an idle machine two launches agree and it stops there; on a busy
    one, a launch slowed by a neighbour (a thread preempted in an OpenMP team) is followed
    by more, up to one that ran undisturbed."""
    best = seconds
    for _ in range(most - 1):
        again = best_time(run, 1, False)
        settled = again >= best * (1 - SETTLED)
        best = min(best, again)
        if settled:
            break
    return best


class _Runner:
    """Launches probe kernels on one backend, with arguments in its memory."""

    def __init__(self, backend):
        self.backend = backend
        self.kernels = probe_kernels()

    def place(self, a: np.ndarray):
        """``a`` in the backend's memory: as is on the host; on a device, uploaded, or
        zero-filled there where ``a`` is a stand-in (:meth:`floats`)."""
        if self.backend.memory == HOST:
            return a
        if a.ndim == 1 and a.strides == (0,):
            return self.backend.zeros(a.shape, a.dtype)
        return self.backend.to_device(a)

    def floats(self, memory: ProbeMemory, slot: int, n: int, at: int = 0) -> np.ndarray:
        """``n`` float32 for a probe whose values do not matter: on the host, ones from
        ``memory``'s buffer ``slot`` at ``at``; for a device, a stand-in of no memory (stride 0)
        that :meth:`place` makes a zero-filled device array, with no host array written
        and copied (on a GPU the largest probe arrays are 256 MiB)."""
        if self.backend.memory == HOST:
            return memory.full(slot, n, 1, at)
        return np.broadcast_to(np.float32(1), (n,))

    def prepare(self, name: str, host_args: list, threads) -> tuple[Callable[[], None], object]:
        """(a call that launches kernel ``name`` on ``host_args`` placed in the backend's
        memory and waits for it, that launch's ``Work``)."""
        k = self.kernels[name]
        compiled = self.backend.compile(k)
        args = [self.place(a) if isinstance(a, np.ndarray) else a for a in host_args]
        launch = make_launch(k, threads)

        def run():
            self.backend.launch(compiled, args, launch)
            self.backend.synchronize()
        return run, launch_work(k, {p.name: a for p, a in zip(k.params, host_args)},
                                threads)

    def time(self, name: str, host_args: list, threads, repeats: int = 2) -> tuple[float, object]:
        """(seconds of one launch and wait, the best of ``repeats`` after one untimed
        launch; its ``Work``)."""
        run, work = self.prepare(name, host_args, threads)
        return best_time(run, repeats), work

    def grow(self, make: Callable[[int], tuple[str, list, tuple]], start: int, limit: int):
        """Time ``make(scale)`` for scale = start, ×4, … until it runs :data:`TARGET_S`
        at :data:`MIN_GROWTH` × ``start`` or more (a busy machine can make a small launch
        slow), or the scale reaches ``limit``; (seconds, work) of the last, the best of
        two launches there. A size that runs long enough short of that growth is followed
        by ``MIN_GROWTH × start`` itself (the memory probe on a machine of 5 GB/s: 2²³
        floats after 2²¹, twice the memory and time of 2²²).

        Only the first size is warmed up (the kernel is loaded and its threads started
        then; the probes' host arrays are touched when made: ``np.ones``, ``np.full``),
        and each size is timed once, the last until a launch no longer beats the best by
        :data:`SETTLED` (:func:`_settled`): the last size's launches are most of
        calibration's time (issue 14)."""
        scale, warm = start, True
        while True:
            run, work = self.prepare(*make(scale))
            seconds = best_time(run, 1, warm)
            warm = False
            if (seconds >= TARGET_S and scale >= MIN_GROWTH * start) or scale * 4 > limit:
                return _settled(run, seconds), work
            if seconds >= TARGET_S:  # long enough, not yet grown enough: just that much
                scale = MIN_GROWTH * start
            else:  # aim at 2 × TARGET_S, so that one more step is rarely needed
                scale *= max(4, min(64, math.ceil(2 * TARGET_S / max(seconds, TINY))))
            scale = min(scale, limit)


def is_gpu_backend(name: str, backend) -> bool:
    """Whether backend ``name`` runs on a GPU: a ``gpu`` backend of ``pxos.registry``, or
    one whose device says so (``Backend.on_gpu``: an OpenCL device of type GPU; PoCL and
    vendors' CPU drivers are not)."""
    return registry.is_gpu(name) or backend.on_gpu


def measure_backend(name: str, backend, compile_s: float | None = None,
                    probe_memory: ProbeMemory | None = None,
                    progress: Callable[[str], None] | None = None) -> DeviceFigures:
    """Calibrate one backend (see ``planner/calibration``); ``compile_s``: the build time
    of a kernel not in the cache where one was just measured (``planner/probe_builds``), else
    a kernel of a fresh name is built and timed; ``probe_memory``: the host arrays' buffers,
    shared with the other probes of a calibration (``planner/probe_memory``);
    ``progress``: called with the name of each figure once it is measured."""
    r, mem = _Runner(backend), probe_memory or ProbeMemory()
    say = progress or (lambda figure: None)
    f32, u32, i32 = np.float32, np.uint32, np.int32
    on_host = backend.memory == HOST
    interpreted = not registry.compiles(name)
    big = 1 << (22 if interpreted else 24 if on_host else 26)

    launch_s = min(r.time("probe_stream", [f32(2), np.ones(32, f32), np.ones(32, f32)],
                          (32,), repeats=20)[0] for _ in range(2))

    def work_s(seconds):
        return max(seconds - launch_s, TINY)
    say("launch")

    # from 2^22 floats up (32 MiB: past most last-level caches), where the size allows
    sec, w = r.grow(lambda n: ("probe_stream", [f32(2), r.floats(mem, FIRST, n),
                                                r.floats(mem, FIRST, n, n)], (n,)),
                    min(1 << 18, big // 4), big)
    bandwidth = w.memory_bytes / work_s(sec)
    cache_bandwidth = 0.0
    if on_host and not interpreted:  # arrays of CACHE_BYTES, many blocks: the whole team
        n = CACHE_BYTES // 8
        sec, w = r.time("probe_stream", [f32(2), r.floats(mem, FIRST, n),
                                         r.floats(mem, FIRST, n, n)], (n,), repeats=20)
        cache_bandwidth = max(bandwidth, w.memory_bytes / work_s(sec))
    say("bandwidth")

    threads = 1 << (12 if interpreted else 14 if on_host else 20)
    out = r.floats(mem, OUTPUT, threads)
    sec, w = r.grow(lambda it: ("probe_ops", [i32(it), out], (threads,)), 16, 1 << 20)
    ops_rate = w.total("ops") / work_s(sec)
    vector_rate = ops_rate
    if not backend.uniform_loops_vectorised:  # else the same code (kernels_for)
        sec, w = r.grow(lambda n: ("probe_vector", [r.floats(mem, FIRST, n)], (n,)), 1 << 10,
                        threads * 64)
        vector_rate = w.total("ops") / work_s(sec)
    say("operations")
    sec, w = r.grow(lambda it: ("probe_ops", [i32(it), out[:1]], (1,)), 64, 1 << 22)
    serial_rate = w.total("ops") / work_s(sec)
    say("one thread")
    scalar_rate = 0.0
    if not is_gpu_backend(name, backend):
        sec, w = r.grow(lambda it: ("probe_divergent", [i32(it), out], (threads,)), 16,
                        1 << 20)
        scalar_rate = w.total("ops") / work_s(sec)
        say("divergent loops")
    sec, w = r.grow(lambda it: ("probe_transcendental", [i32(it), out], (threads,)), 4, 1 << 20)
    trans_rate = w.total("transcendental") / max(work_s(sec) - w.total("ops") / ops_rate, TINY)
    say("transcendentals")
    hist = np.zeros(256, u32)
    sec, w = r.grow(lambda n: ("probe_atomic", [i32(n), hist], (n,)), 1 << 14, big)
    atomic_rate = w.total("atomics") / work_s(sec)
    say("atomics")

    if compile_s is None:
        fresh = dataclasses.replace(r.kernels["probe_stream"],
                                    name=f"probe_{uuid.uuid4().hex[:12]}")
        t0 = time.perf_counter()
        backend.compile(fresh)
        compile_s = time.perf_counter() - t0

    figures = DeviceFigures(name, str(getattr(backend, "device_name", "") or "host CPU"),
                            backend.memory, launch_s, bandwidth, ops_rate, serial_rate,
                            trans_rate, atomic_rate, compile_s, vector_rate=vector_rate,
                            scalar_rate=scalar_rate,
                            gpu=is_gpu_backend(name, backend), cache_bandwidth=cache_bandwidth)
    if not on_host:
        gpu = registry.is_gpu(name)
        _measure_copies(backend, figures, 1 << (26 if gpu else 24),
                        registry.timer(name) == "cuda-events", mem, gpu)
        say("copies")
    return figures


def _measure_copies(backend, figures: DeviceFigures, nbytes: int, pinned: bool,
                    probe_memory: ProbeMemory, fresh: bool) -> None:
    """Upload and download rates of ``nbytes`` (the best of two after one untimed copy)
    and the time of a copy of 256 bytes each way (``up_s``, ``down_s``); ``fresh``: also
    the download into new host memory (``download_fresh``: on the H200 machine 2.9-3.0
    GB/s at 64 and 400 MiB, against 12.9-13.0 into pages already touched, 2026-12-05);
    ``pinned``: also from CuPy's page-locked host memory (a backend whose arrays are
    CuPy's, ``registry.BackendEntry.timer``)."""
    host = probe_memory.full(FIRST, nbytes // 4, 1)
    dev = backend.to_device(host)
    figures.upload = nbytes / best_time(lambda: (backend.to_device(host),
                                                 backend.synchronize()), 2)
    figures.download = nbytes / best_time(lambda: backend.to_host(dev, host), 2)
    if fresh:  # every page new: 64 MiB is over glibc's largest mmap threshold (32 MiB)
        figures.download_fresh = nbytes / best_time(
            lambda: backend.to_host(dev, np.empty(nbytes // 4, np.float32)), 2)
    tiny, small = host[:64], backend.to_device(host[:64])  # the fixed cost of a copy
    figures.up_s = best_time(lambda: (backend.to_device(tiny), backend.synchronize()), 5)
    figures.down_s = best_time(lambda: backend.to_host(small, tiny), 5)
    if pinned:
        import cupy  # (not cupyx.empty_pinned: importing cupyx imports SciPy, ~0.7 s)

        pinned = np.frombuffer(cupy.cuda.alloc_pinned_memory(nbytes), np.float32,
                               nbytes // 4)
        pinned[...] = 1
        figures.upload_pinned = nbytes / best_time(lambda: (dev.set(pinned),
                                                            backend.synchronize()), 2)
        figures.download_pinned = nbytes / best_time(lambda: (dev.get(out=pinned),
                                                              backend.synchronize()), 2)


def measure_split(machine, n: int = 1 << 24, probe_memory: ProbeMemory | None = None
                  ) -> tuple[dict[str, float], dict[str, float], dict[str, float]]:
    """For the HYBRID pair of ``machine`` (``planner/program.hybrid_pair``): how much
    faster a split runs than the faster device alone, where the planner would offer one,
    the model's relative error on that gain (|predicted ÷ measured − 1|), and the split's
    fixed cost in seconds (:func:`split_overhead`, measured first: the gain's prediction
    counts it).

    The launch is ``probe_ops`` over ``n`` host floats (2²⁴), with the fewest loop iterations
    (1, 2, 4 …) at which the model predicts the CPU alone no faster than the device with
    its copies (the two are close there: a split is offered only then). The share is the
    model's. Each is run once untimed, then three rounds each time both devices alone and
    the split; the result is the median of the rounds' (faster alone ÷ split). ({}, {}, {})
    where there is no pair; a gain of 0 where the split failed to run. ``probe_memory``:
    the buffers the host array is cut from (``planner/probe_memory``)."""
    from pxos.backends.hybrid import cut, run_split
    from pxos.planner.hybrid import predict_split
    from pxos.planner.model import Copies, predict_launch
    from pxos.planner.hybrid import hybrid_pair, memory_of

    pair = hybrid_pair(machine, registry.compiling(machine.devices))
    if pair is None:
        return {}, {}, {}
    name, (cpu, device) = "+".join(pair), pair
    memory = memory_of(machine, device)
    try:
        k = probe_kernels()["probe_ops"]
        fixed = split_overhead(machine, k, pair, probe_memory)
        out = (probe_memory or ProbeMemory()).full(FIRST, n, 0)
        copies = Copies(up=1, up_bytes=out.nbytes, down=1, down_bytes=out.nbytes,
                        memory=memory)
        for iters in (1 << e for e in range(12)):
            work = launch_work(k, {"iters": np.int32(iters), "out": out}, (n,))
            if predict_launch(machine, cpu, work, Copies(), True).seconds >= \
                    predict_launch(machine, device, work, copies, True).seconds:
                break
        args = [np.int32(iters), out]
        split = predict_split(machine, cpu, device, work, out.nbytes, out.nbytes, memory,
                              overhead=fixed)
        share = split.split
        predicted = min(predict_launch(machine, cpu, work, Copies(), True).seconds,
                        predict_launch(machine, device, work, copies, True).seconds) \
            / split.seconds
        runs = [lambda at=at: run_split(k, args, at, cpu, device)
                for at in (n, 0, cut(n, share))]  # the CPU alone, the device alone, split
        for run in runs:
            run()  # warmed up once each, not every round
        rounds = []
        for _ in range(3):
            cpu_s, device_s, split_s = (best_time(run, 1, warm=False) for run in runs)
            rounds.append(min(cpu_s, device_s) / split_s)
        gain = statistics.median(rounds)
        return {name: gain}, {name: abs(predicted / max(gain, TINY) - 1)}, {name: fixed}
    except Exception:  # a split that cannot run here is a split that does not pay
        return {name: 0.0}, {}, {}


SPLIT_TINY = 4 * 256  # elements of the launch whose split times the fixed cost (4 blocks)


def split_overhead(machine, kernel: ir.Kernel, pair: tuple[str, str],
                   probe_memory: ProbeMemory | None = None) -> float:
    """Seconds a HYBRID split of ``pair`` costs beyond what the model predicts for its
    slower part: ``kernel`` (``probe_ops``, one iteration) over :data:`SPLIT_TINY` host
    floats, where each part is a launch and its copies; the fastest of five timed splits
    after one untimed, less the prediction without a fixed cost, at least 0. What it
    measures is what every split pays whatever its size: the device part handed to a
    worker thread and joined, and the host's cores shared with the driver's calls.

    Raises:
        PxBackendError: a backend of the pair cannot run here.
    """
    from pxos.backends.hybrid import cut, run_split
    from pxos.planner.hybrid import memory_of, predict_split

    out = (probe_memory or ProbeMemory()).full(OUTPUT, SPLIT_TINY, 0)
    args = [np.int32(1), out]
    work = launch_work(kernel, {"iters": args[0], "out": out}, (SPLIT_TINY,))
    split = predict_split(machine, *pair, work, out.nbytes, out.nbytes,
                          memory_of(machine, pair[1]), overhead=0.0)
    at = cut(SPLIT_TINY, split.split)
    at = at if 0 < at < SPLIT_TINY else SPLIT_TINY // 2  # both parts run
    measured = best_time(lambda: run_split(kernel, args, at, *pair), 5)
    return max(0.0, measured - split.seconds)


HOST_REDUCE = 1 << 24  # floats REDUCE sums on the host: 64 MiB, past most last-level caches


def prefault(memory: ProbeMemory) -> None:
    """Write the host pages the probes will use (``REDUCE``'s 64 MiB, which the memory
    probe's x and y reuse) ahead of timing: NumPy writes them without the GIL, so a pool
    thread faults them in while calibration loads the backends (``probe_builds``)."""
    memory.full(FIRST, HOST_REDUCE, 0.5)


