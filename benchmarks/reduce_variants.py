"""Sum of 2²⁸ f32 on the H200: where ``REDUCE SUM`` and a ``.px`` grid-stride block
reduction spend their time against ``cupy.sum``, and which variant of each is fastest.

    python3 benchmarks/reduce_variants.py [--out benchmarks/results/reduce_variants.json]
                                          [--repeat 15] [--log2n 28]

Two times per row, each the median of ``--repeat`` by CUDA events:
* ``wall_ms``: events recorded around the call from an idle GPU (the host's work before
  the launch counts, as in ``benchmarks/gpu.py``);
* ``gpu_ms``: the same, after a one-thread kernel that keeps the GPU busy for 0.3 ms, so
  that the host has queued the launch before the GPU reaches it: the kernels' time alone
  (plus the host's wake-up where the call waits for its result).

First (``--parts host``) the host time of a call on 4,096 f32 (REDUCE, its launch as
before through ``cupy.RawKernel``, its launch and wait alone without ``reduce_array``,
``cupy.sum``); then (``turns``) the same calls on the 2²⁸ floats, timed in turns round
by round.
Rows: ``cupy.sum`` (not fetched, and fetched as a float); ``REDUCE``
(``backends/library.reduce_array``), its old launch, its launch alone, and its
kernel (``backends/cuda_reduce``) alone under
variants of threads a block, blocks a multiprocessor and loads in flight; the ``.px``
grid-stride reduction (``examples/grid_sum.px``'s form) with 4, 8 and 16 loads in flight a
thread, on grids of 4 and 8 blocks a multiprocessor, each followed by ``REDUCE SUM`` of
its partial sums, and its generated CUDA with the data pointer ``const __restrict__``
(loads through the read-only path). Output: JSON with the device.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time as time_module
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from pxos import backends  # noqa: E402
from pxos.backends import cuda_reduce  # noqa: E402
from pxos.backends.base import make_launch  # noqa: E402
from pxos.backends.library import reduce_array  # noqa: E402
from pxos.codegen.cuda import render_cuda  # noqa: E402
from pxos.ir.check_host import check_program  # noqa: E402
from pxos.lang.px.parser import parse_program  # noqa: E402

SPIN = r"""extern "C" __global__ void spin(long long cycles)
{ long long t0 = clock64(); while (clock64() - t0 < cycles) { } }"""


def grid_sum_px(loads: int, block: int = 256, atomic: bool = False) -> str:
    """The ``.px`` grid-stride sum with ``loads`` loads of ``data`` a thread in flight; each
    block's sum stored in ``partial`` or (``atomic``) added to ``total[0]``."""
    terms = " + ".join(["data[i]"] + [f"data[i + {u} * nt]" for u in range(1, loads)])
    half = block // 2
    last = "ATOMIC_ADD total[0] tile[0]" if atomic else "STORE tile[0] → partial[bid]"
    return f"""\
GPU_KERNEL grid_sum
    GPU_PARAM data float[]
    GPU_PARAM partial float[]
    GPU_PARAM total float[]
    GPU_SHARED_MEM tile float {block}
    GPU_THREADS LEN(partial) * {block}
    GPU_BLOCK {block}
GPU_THREAD_CODE:
    THREAD_ID → tid
    LOCAL_ID → lid
    BLOCK_ID → bid
    NUM_THREADS → nt
    SET v = 0.0
    SET i = tid
    WHILE i < LEN(data) - {loads - 1} * nt:
        SET v = v + {terms}
        SET i = i + {loads} * nt
    WHILE i < LEN(data):
        SET v = v + data[i]
        SET i = i + nt
    STORE v → tile[lid]
    SYNC_THREADS
    SET stride = {half}
    WHILE stride > 0:
        IF lid < stride:
            STORE tile[lid] + tile[lid + stride] → tile[lid]
        SYNC_THREADS
        SET stride = stride / 2
    IF lid == 0:
        {last}
GPU_END
"""


class Timer:
    """CUDA-event medians of a call, from an idle GPU and behind a spin kernel; each row
    printed as soon as it is measured (a run cut short keeps the rows before)."""

    def __init__(self, cp, repeat: int, n: int):
        self.cp, self.repeat, self.n = cp, repeat, n
        self.spin = cp.RawKernel(SPIN, "spin")
        rate = cp.cuda.Device().attributes["ClockRate"] * 1e3  # Hz
        self.cycles = np.int64(3e-4 * rate)
        self.rows: dict = {}

    def __call__(self, name: str, fn) -> None:
        cp = self.cp
        fn()
        cp.cuda.Device().synchronize()
        row = {}
        for key, busy in (("wall_ms", False), ("gpu_ms", True)):
            times = []
            for _ in range(self.repeat):
                start, stop = cp.cuda.Event(), cp.cuda.Event()
                if busy:
                    self.spin((1,), (1,), (self.cycles,))
                start.record()
                fn()
                stop.record()
                stop.synchronize()
                times.append(cp.cuda.get_elapsed_time(start, stop))
            row[key] = statistics.median(times)
        row["GBps_gpu"] = 4 * self.n / 1e6 / row["gpu_ms"]
        self.rows[name] = row
        base = self.rows[next(iter(self.rows))]  # the first row: cupy.sum
        print(f"{name:<30} wall {row['wall_ms']:.4f} gpu {row['gpu_ms']:.4f} ms; "
              f"cupy.sum/this wall {base['wall_ms'] / row['wall_ms']:.3f} "
              f"gpu {base['gpu_ms'] / row['gpu_ms']:.3f}", flush=True)


def old_path(cp, x):
    """``REDUCE``'s launch before it packed its parameters once: a ``cupy.RawKernel``
    call, then a wait for the stream; the sum (f32 data)."""
    kernel = cuda_reduce._kernel(x.dtype, x.data.ptr % 16 == 0)
    space = cuda_reduce._workspace(np.dtype(np.float64))
    blocks = max(1, min(space.partial.size, -(-x.size // cuda_reduce.THREADS)))
    args = (x, np.int64(x.size), space.partial, space.done, np.uint64(space.out))

    def run():
        kernel((blocks,), (cuda_reduce.THREADS,), args)
        cp.cuda.get_current_stream().synchronize()
        return space.result[0]
    return run


def direct(cp, x):
    """``REDUCE``'s kernel launch and wait alone, without ``reduce_array`` before it."""
    launcher = cuda_reduce._new_launcher((x.data.device_id, cp.cuda.get_current_stream().ptr,
                                          x.dtype, x.data.ptr % 16 == 0))
    return lambda: launcher.sum(x, np.dtype(np.float64))


def host_rows(cp, report: dict) -> None:
    """Host time a call (perf_counter, median of 400) on 4,096 f32, where the GPU's work
    is a few µs: REDUCE, its old launch, ``cupy.sum`` fetched and not."""
    small = cp.random.random(4096, dtype=cp.float32)
    calls = {"REDUCE": lambda: reduce_array("sum", small), "old launch": old_path(cp, small),
             "direct": direct(cp, small), "cupy_sum": lambda: cp.sum(small),
             "cupy_sum_fetched": lambda: float(cp.sum(small))}
    want = float(cp.sum(small, dtype=cp.float64))
    assert abs(float(calls["REDUCE"]()) - want) <= 1e-9 * want
    for name in ("old launch", "direct"):
        assert abs(float(calls[name]()) - want) <= 1e-9 * want, name
    out = {}
    for name, fn in calls.items():
        times = []
        for _ in range(400):
            t0 = time_module.perf_counter()
            fn()
            times.append(time_module.perf_counter() - t0)
        cp.cuda.Device().synchronize()
        out[name] = statistics.median(times) * 1e6
        print(f"host time {name:<20} {out[name]:.2f} us", flush=True)
    report["host_us"] = out


def turns_rows(cp, x, repeat: int, report: dict) -> None:
    """``cupy.sum`` (and fetched), REDUCE, its launch alone and its old launch, timed
    in turns round by round (``gpu_timing.event_times``), from an idle GPU and behind a
    spin kernel; medians in ms."""
    from gpu_timing import event_times

    calls = {"cupy_sum": lambda: cp.sum(x), "cupy_sum_fetched": lambda: float(cp.sum(x)),
             "REDUCE": lambda: reduce_array("sum", x), "direct": direct(cp, x),
             "old launch": old_path(cp, x)}
    out = {}
    for key, busy in (("wall_ms", False), ("gpu_ms", True)):
        for name, t in event_times(cp, calls, repeat, busy).items():
            out.setdefault(name, {})[key] = t * 1e3
    for name, row in out.items():
        print(f"turns {name:<24} wall {row['wall_ms']:.4f} gpu {row['gpu_ms']:.4f} ms; "
              f"cupy.sum/this wall {out['cupy_sum']['wall_ms'] / row['wall_ms']:.3f}",
              flush=True)
    report["turns"] = out


def reduce_rows(cp, x, time) -> None:
    time("REDUCE", lambda: reduce_array("sum", x))
    time("REDUCE old launch", old_path(cp, x))
    time("REDUCE direct", direct(cp, x))
    done = cp.zeros(1, np.uint32)
    sms = cp.cuda.Device().attributes["MultiProcessorCount"]
    want = float(cp.sum(x, dtype=cp.float64))
    for threads, per_sm, unroll in ((512, 4, 4), (512, 4, 8), (256, 8, 4), (1024, 2, 4),
                                    (512, 4, 2)):
        src = cuda_reduce.kernel_source(np.float32).replace(
            f"#define THREADS {cuda_reduce.THREADS}\n", f"#define THREADS {threads}\n"
        ).replace(f"#define BLOCKS_PER_SM {cuda_reduce.BLOCKS_PER_SM}\n",
                  f"#define BLOCKS_PER_SM {per_sm}\n").replace(
            f"#define UNROLL {cuda_reduce.UNROLL}\n", f"#define UNROLL {unroll}\n")
        assert f"THREADS {threads}\n" in src and f"SM {per_sm}\n" in src and \
            f"UNROLL {unroll}\n" in src
        k = cp.RawKernel(src, "pxos_reduce_sum")
        blocks = sms * per_sm
        partial = cp.empty(blocks, np.float64)
        host = np.frombuffer(cp.cuda.alloc_pinned_memory(8), np.float64, 1)
        ptr = np.uint64(host.ctypes.data)
        args = (x, np.int64(x.size), partial, done, ptr)  # partial: kept alive by args
        run = lambda k=k, blocks=blocks, threads=threads, args=args: \
            k((blocks,), (threads,), args)  # noqa: E731
        run()
        cp.cuda.Device().synchronize()
        assert abs(host[0] - want) <= 1e-6 * want, (host[0], want)
        time(f"kernel t{threads} b{per_sm} u{unroll}", run)


# the sum kernel's 16-byte load of f32 data, as a PTX load with cache hints (sm_80 and
# later: L2::256B asks the L2 to fetch 256 bytes around each miss; evict_first / no_allocate
# keep streamed data from displacing other lines; PTX ISA, "ld")
LOADS = {"plain": None, "nc L2::256B": "ld.global.nc.L2::256B", "nc L2::128B":
         "ld.global.nc.L2::128B", "nc no_allocate L2::256B":
         "ld.global.nc.L1::no_allocate.L2::256B", "cs": "ld.global.cs"}
LOAD_LINE = "for (int u = 0; u < UNROLL; u++) v[u] = xv[i + u * stride];"


def load_source(op: str | None) -> str:
    """The f32 sum kernel with its unrolled 16-byte loads as ``op`` (None: as shipped)."""
    src = cuda_reduce.kernel_source(np.float32)
    if op is None:
        return src
    assert LOAD_LINE in src
    fn = ("__device__ __forceinline__ float4 pxos_ld(const float4 *p)\n"
          "{ float4 v; asm("
          f'"{op}.v4.f32 {{%0,%1,%2,%3}}, [%4];" : "=f"(v.x), "=f"(v.y), "=f"(v.z), '
          '"=f"(v.w) : "l"(p)); return v; }\n')
    src = src.replace(LOAD_LINE, LOAD_LINE.replace("xv[i + u * stride]",
                                                   "pxos_ld(xv + i + u * stride)"))
    return src.replace("extern \"C\" __global__", fn + "extern \"C\" __global__", 1)


def loads_rows(cp, x, repeat: int, report: dict) -> None:
    """The kernel alone under each of :data:`LOADS`, in turns behind a spin kernel (the
    GPU's time) and from an idle GPU; each result checked against CuPy's f64 sum."""
    from gpu_timing import event_times

    sms = cp.cuda.Device().attributes["MultiProcessorCount"]
    blocks, want = sms * cuda_reduce.BLOCKS_PER_SM, float(cp.sum(x, dtype=cp.float64))
    calls = {}
    for name, op in LOADS.items():
        k = cp.RawKernel(load_source(op), "pxos_reduce_sum")
        host = np.frombuffer(cp.cuda.alloc_pinned_memory(8), np.float64, 1)
        args = (x, np.int64(x.size), cp.empty(blocks, np.float64), cp.zeros(1, np.uint32),
                np.uint64(host.ctypes.data))
        calls[name] = lambda k=k, args=args: k((blocks,), (cuda_reduce.THREADS,), args)
        calls[name]()
        cp.cuda.Device().synchronize()
        assert abs(host[0] - want) <= 1e-6 * want, (name, host[0], want)
    out = {}
    for key, busy in (("gpu_ms", True), ("wall_ms", False)):
        for name, t in event_times(cp, calls, repeat, busy).items():
            out.setdefault(name, {})[key] = t * 1e3
    for name, row in out.items():
        print(f"load {name:<26} gpu {row['gpu_ms']:.4f} wall {row['wall_ms']:.4f} ms; "
              f"plain/this gpu {out['plain']['gpu_ms'] / row['gpu_ms']:.3f}", flush=True)
    report["loads"] = out


def px_rows(cp, x, time) -> None:
    b = backends.get("cuda")
    sms = cp.cuda.Device().attributes["MultiProcessorCount"]
    want = float(cp.sum(x, dtype=cp.float64))
    total = cp.zeros(1, cp.float32)
    for loads in (4, 8, 16):
        k = check_program(parse_program(grid_sum_px(loads), "grid_sum.px")).kernels[0]
        ka = check_program(parse_program(grid_sum_px(loads, atomic=True),
                                         "grid_sum.px")).kernels[0]
        compiled, atomic = b.compile(k), b.compile(ka)
        source = render_cuda(k).source
        fast = cp.RawKernel(source.replace("float *v_data", "const float *__restrict__ v_data"),
                            "k_grid_sum")
        for per_sm in (4, 8):
            grid = sms * per_sm
            launch = make_launch(k, (grid * 256,))
            partial = cp.empty(grid, cp.float32)
            args = (x, partial, total)

            def run(args=args, launch=launch, partial=partial):
                b.launch(compiled, args, launch)
                return reduce_array("sum", partial)

            def run_restrict(grid=grid, partial=partial):
                fast((grid,), (256,), (np.int64(grid * 256), np.int64(1), np.int64(1), x,
                                       np.int64(x.size), partial, np.int64(grid), total,
                                       np.int64(1)))
                return reduce_array("sum", partial)

            def run_atomic(args=args, launch=launch):
                total.fill(0)
                b.launch(atomic, args, launch)
                return total[0]
            for name, fn in ((f"px loads{loads} b{per_sm}", run),
                             (f"px loads{loads} b{per_sm} restrict", run_restrict),
                             (f"px loads{loads} b{per_sm} atomic", run_atomic)):
                assert abs(float(fn()[()]) - want) <= 1e-4 * want, name  # f32 sums
                time(name, fn)
            time(f"px loads{loads} b{per_sm} kernel",
                 lambda args=args, launch=launch: b.launch(compiled, args, launch))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path,
                        default=ROOT / "benchmarks/results/reduce_variants.json")
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--log2n", type=int, default=28)
    parser.add_argument("--parts", default="host,turns,reduce,px")
    args = parser.parse_args()
    import cupy as cp

    n = 2**args.log2n
    x = cp.random.random(n, dtype=cp.float32)
    time = Timer(cp, args.repeat, n)
    time("cupy_sum", lambda: cp.sum(x))
    time("cupy_sum_fetched", lambda: float(cp.sum(x)))
    report = {"benchmark": "reduce_variants", "device": backends.get("cuda").device_name,
              "host": platform.node(), "n": n, "repeat": args.repeat, "rows": time.rows,
              "errors": {}}
    parts = args.parts.split(",")
    if "host" in parts:
        host_rows(cp, report)
    if "turns" in parts:
        turns_rows(cp, x, args.repeat, report)
    if "loads" in parts:
        loads_rows(cp, x, args.repeat, report)
    for part, fn in (("reduce", reduce_rows), ("px", px_rows)):
        if part in parts:
            try:
                fn(cp, x, time)
            except Exception as e:  # a variant that fails: say so, keep the other part
                report["errors"][part] = f"{type(e).__name__}: {e}"
                print(f"{part}: failed: {report['errors'][part]}", flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_name(args.out.name + ".tmp")
    tmp.write_text(json.dumps(report, indent=2) + "\n")
    tmp.replace(args.out)


if __name__ == "__main__":
    main()
