"""Benchmark of pxos.ternary: per-number throughput against the pure-Python anchors,
exactness on 10⁶ random cases per operation, packed ternary mat-vec against dense BLAS,
int64 conversion at the memory roofline and a 14-qutrit circuit (docs/ternary.md).

    python3 benchmarks/ternary.py [--out benchmarks/results/ternary.json] [--quick]
                                  [--gpu | --gpu-only]

* Anchors, in the same run: ``tritlib`` 2.1.1 (``Word``, 27 trits) and ``balanced-ternary``
  0.2.0 (``BalancedTernary``), one number at a time; seconds per add and per multiply.
  pxos: ``add``/``mul``/``compare``/``encode``/``decode`` on 10⁶-number arrays (13-trit
  operands) through the public API on ``c``, in both layouts (``trits`` (n, 13) and the
  digit-major ``planes`` (13, n)); ratio = anchor seconds per number ÷ pxos seconds per
  number.
* Exactness: 10⁶ random cases per operation (and the edges 0, ±1, ±(3^k ± 1)/2) against
  Python ints; 200-trit numbers on 10⁴ cases (their Python-int reference is slow).
* Mat-vec at batch 1, 4096² and 8192²: the packed kernel (2 bits per weight) against
  NumPy's float32 BLAS ``W @ x`` here; GB/s = bytes the kernel must read ÷ time. The
  headline (``matvec_c``: ``packed_s``, ``numpy_f32_s``) is each library in steady state:
  blocks of 8 calls of one, then of the other, 0.3 s apart (longer than either library's
  idle workers spin), medians of the per-call times. Beside it (``interleaved_*``) the
  calls one by one in turn, where each call finds the other library's workers spinning on
  the cores it needs (docs/ternary.md §6). Again on one thread each, by CPU time
  (``matvec_c_one_thread``): the work, which other jobs on a shared machine do not
  stretch; and again with ``OMP_WAIT_POLICY=passive`` (``matvec_c_passive_wait``) and
  with ``OPENBLAS_THREAD_TIMEOUT=4`` (``matvec_c_openblas_timeout``), the two settings
  that stop the spinning of one library's idle workers.
* ``--gpu`` (an NVIDIA GPU with CuPy): the same kernels on device-resident CuPy arrays
  (CUDA events around calls queued while the GPU is kept busy, so the host's launch cost
  is not counted; one call's latency reported beside), mat-vec (``warp_kernel``, and the
  earlier ``block_kernel`` as its peer) against CuPy's fp16 ``W @ x`` (cuBLAS gemv),
  encode and decode of 10⁸ int64 (encode in ``T.encode``'s (n, 41) layout through shared
  memory, decode in the planes layout, 4 numbers a thread; ``T.decode``'s kernel, the
  planes encoders and the one-number-a-thread kernels as peers:
  ``gpu_ternary.conversion``) with GB/s on the bytes the API moves (49 a number) and its
  shares of a device-to-device copy's rate, measured in the same run (the practical
  roofline), and of the device's peak memory bandwidth, and a 14-qutrit circuit checked
  against ``c``.
Times are medians of repeats. Output: JSON with the machine it ran on.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

import pxos.ternary as T  # noqa: E402
from pxos.lib.ternary import planes as P  # noqa: E402
from pxos.planner.calibration import cpu_model  # noqa: E402

from gpu_timing import host_time  # noqa: E402  (benchmarks/, next to this script)

OPERAND = 524_287  # operands in ±(2**19 - 1): 13 trits; products fit tritlib's 27


def median_time(fn, repeat: int, sync=lambda: None) -> float:
    """Median seconds of ``fn`` then ``sync`` over ``repeat`` runs, after one warm-up."""
    return host_time(fn, sync, repeat)


def machine() -> dict:
    cpu = cpu_model()  # /proc/cpuinfo's model name (planner/calibration)
    return {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(),
            "numpy": np.__version__, "host": platform.node(),
            "load_average_1_5_15_min": os.getloadavg()}   # others' work skews the times


def anchors(count: int) -> dict:
    """Seconds per add and per multiply of each anchor, one number at a time."""
    try:
        import balanced_ternary
        import tritlib
    except ImportError as err:   # pip install '.[ternary]'; the ratios are then left out
        print(f"anchors missing ({err}); no ratios", file=sys.stderr)
        return {}

    rng = np.random.default_rng(0)
    xs, ys = (rng.integers(-OPERAND, OPERAND + 1, count).tolist() for _ in range(2))
    out = {}
    for name, make in (("tritlib 2.1.1", tritlib.Word),
                       ("balanced-ternary 0.2.0", balanced_ternary.BalancedTernary.from_int)):
        a, b = [make(v) for v in xs], [make(v) for v in ys]
        for op, f in (("add", lambda p, q: p + q), ("mul", lambda p, q: p * q)):
            t0 = time.perf_counter()
            for p, q in zip(a, b):
                f(p, q)
            out[f"{name} {op}"] = (time.perf_counter() - t0) / count
    return out


def numbers(n: int, repeat: int, device: str) -> dict:
    """Seconds per number of the public API on ``n``-number arrays: ``trits`` (int8
    ``(n, 13)``, one thread per number) and ``planes`` (digit-major ``(13, n)``,
    :mod:`pxos.lib.ternary.planes`, vectorised across numbers)."""
    rng = np.random.default_rng(1)
    x, y = rng.integers(-OPERAND, OPERAND + 1, (2, n))
    a, b = T.encode(x, 13, device), T.encode(y, 13, device)
    pa, pb = P.encode(x, 13, device), P.encode(y, 13, device)
    cases = {"add": lambda: T.add(a, b, device), "mul": lambda: T.mul(a, b, device),
             "compare": lambda: T.compare(a, b, device),
             "encode": lambda: T.encode(x, 13, device), "decode": lambda: T.decode(a, device)}
    planes = {"add": lambda: P.add(pa, pb, device), "mul": lambda: P.mul(pa, pb, device),
              "compare": lambda: P.compare(pa, pb, device),
              "encode": lambda: P.encode(x, 13, device), "decode": lambda: P.decode(pa, device)}
    return {"trits": {op: median_time(f, repeat) / n for op, f in cases.items()},
            "planes": {op: median_time(f, repeat) / n for op, f in planes.items()}}


def edges() -> list[int]:
    out = {0, 1, -1}
    for k in range(1, 40):
        out |= {(3**k - 1) // 2, (3**k + 1) // 2, -(3**k - 1) // 2, -(3**k + 1) // 2}
    return sorted(out)


def exactness(n: int, n_wide: int, device: str) -> dict:
    """Mismatches against Python ints per operation (all must be 0)."""
    rng = np.random.default_rng(2)
    e = np.array(edges(), np.int64)
    x = np.concatenate([e, rng.integers(-2**40, 2**40, n)])
    y = np.concatenate([np.resize([1, -1, 2, -2, 3, -4], e.size), rng.integers(-2**21, 2**21, n)])
    y[y == 0] = 1
    a, b = T.encode(x, device=device), T.encode(y, device=device)
    px, py = x.tolist(), y.tolist()
    q, r = T.divmod(a, b, device)
    got = {"add": T.decode(T.add(a, b, device), device).tolist(),
           "sub": T.decode(T.sub(a, b, device), device).tolist(),
           "mul": T.decode(T.mul(a, b, device), device).tolist(),
           "compare": T.compare(a, b, device).tolist(),
           "neg": T.decode(T.neg(a, device), device).tolist(),
           "divmod": list(zip(T.decode(q, device).tolist(), T.decode(r, device).tolist())),
           "round trip": T.decode(a, device).tolist()}
    want = {"add": [p + s for p, s in zip(px, py)], "sub": [p - s for p, s in zip(px, py)],
            "mul": [p * s for p, s in zip(px, py)],
            "compare": [(p > s) - (p < s) for p, s in zip(px, py)], "neg": [-p for p in px],
            "divmod": [divmod(p, s) for p, s in zip(px, py)], "round trip": px}
    pa, pb = P.encode(x, device=device), P.encode(y, device=device)
    got |= {"planes add": P.decode(P.add(pa, pb, device), device).tolist(),
            "planes sub": P.decode(P.sub(pa, pb, device), device).tolist(),
            "planes mul": P.decode(P.mul(pa, pb, device), device).tolist(),
            "planes compare": P.compare(pa, pb, device).tolist()}
    want |= {f"planes {op}": want[op] for op in ("add", "sub", "mul", "compare")}
    out = {op: sum(g != w for g, w in zip(got[op], want[op])) for op in want}
    out["cases per op"] = len(px)
    wx = [int(rng.integers(-2**62, 2**62)) * 3**160 + int(rng.integers(0, 2**62))
          for _ in range(n_wide)]       # up to 200 trits: 2**62 * 3**160 < (3**200 - 1) / 2
    wy = [int(rng.integers(1, 2**62)) * 3**100 - 7 for _ in range(n_wide)]
    aw, bw = T.encode(np.array(wx, object), 200), T.encode(np.array(wy, object), 200)
    qw, rw = T.divmod(aw, bw, device)
    out["200-trit mismatches"] = sum(
        [T.to_ints(T.add(aw, bw, device)).tolist() != [p + s for p, s in zip(wx, wy)],
         T.to_ints(T.mul(aw, bw, device)).tolist() != [p * s for p, s in zip(wx, wy)],
         list(zip(T.to_ints(qw), T.to_ints(rw))) != [divmod(p, s) for p, s in zip(wx, wy)]])
    out["200-trit cases per op"] = n_wide
    return out


# Seconds between blocks of calls: longer than the time a library's idle workers spin
# before they sleep, so that neither library's workers still hold a core when the other's
# block starts: OpenBLAS's THREAD_TIMEOUT is 2**28 TSC cycles (driver/others/blas_server.c;
# 0.1 s at 2.6 GHz, and 105 ms of CPU time spent after one sgemv here), libgomp's
# GOMP_SPINCOUNT 300,000 spins (about 5 ms of CPU time after one pxos call here).
PAUSE_S = 0.3
BLOCK_CALLS = 8   # calls of one library in a row; their per-call times are kept


def paired_times(fa, fb, repeat: int) -> tuple[float, float, float]:
    """Medians of ``fa``'s and ``fb``'s times, one call of each in turn (so that a load on
    the machine falls on both alike), and the median of the per-pair ratios ``b / a``.
    Each call finds the other library's idle workers spinning: this measures the two
    thread pools' contention as much as either library (docs/ternary.md §6)."""
    fa(), fb()
    ta, tb = [], []
    for _ in range(repeat):
        for fn, out in ((fa, ta), (fb, tb)):
            t0 = time.perf_counter()
            fn()
            out.append(time.perf_counter() - t0)
    return (statistics.median(ta), statistics.median(tb),
            statistics.median(b / a for a, b in zip(ta, tb)))


def blocked_times(fa, fb, rounds: int, calls: int = BLOCK_CALLS,
                  pause: float = PAUSE_S) -> dict:
    """Each library in steady state, undisturbed by the other's workers: ``rounds`` rounds
    of a pause of ``pause`` s, ``calls`` timed calls of ``fa``, a pause, ``calls`` of
    ``fb`` (the order swapped every round, so that a drift in the machine's load falls on
    both alike). Returns the medians of the per-call seconds (``a_s``, ``b_s``), their
    ratio ``b_s / a_s``, the median of the rounds' ratios of block medians, and the least
    per-call seconds (``a_min_s``, ``b_min_s``: each library's call when the machine's
    other jobs left it the cores)."""
    ta, tb, ratios = [], [], []
    for k in range(rounds):
        block = {}
        order = (("a", fa), ("b", fb)) if k % 2 == 0 else (("b", fb), ("a", fa))
        for name, fn in order:
            time.sleep(pause)
            times = []
            for _ in range(calls):
                t0 = time.perf_counter()
                fn()
                times.append(time.perf_counter() - t0)
            block[name] = times
        ta += block["a"]
        tb += block["b"]
        ratios.append(statistics.median(block["b"]) / statistics.median(block["a"]))
    a, b = statistics.median(ta), statistics.median(tb)
    return {"a_s": a, "b_s": b, "ratio": b / a,
            "ratio_median_of_rounds": statistics.median(ratios), "a_min_s": min(ta),
            "b_min_s": min(tb)}


def matvec_cpu(size: int, repeat: int) -> dict:
    """The packed mat-vec on ``c`` (the tiled words made before timing, as a model load
    would) against NumPy's float32 ``W @ x`` (BLAS sgemv). Headline: blocks of calls of
    one library, then the other, with pauses between blocks (:func:`blocked_times`);
    beside it the calls interleaved one by one (:func:`paired_times`,
    ``interleaved_*``)."""
    rng = np.random.default_rng(3)
    w = rng.normal(size=(size, size)).astype(np.float32)
    x = rng.normal(size=size).astype(np.float32)
    tw = T.nn.absmean(w)
    tw.tiles  # noqa: B018 (made once, outside the timing)

    def packed():
        return T.nn.matvec(tw, x, "c")

    def blas():
        return w @ x

    moved = tw.tiles.nbytes + size * 4 * 2
    err = float(np.abs(packed() - tw.dense() @ x).max())
    steady = blocked_times(packed, blas, 2 * repeat)
    t_packed, t_blas, ratio = paired_times(packed, blas, 4 * repeat)
    return {"size": size, "packed_s": steady["a_s"], "numpy_f32_s": steady["b_s"],
            "ratio_numpy_over_packed": steady["ratio"],
            "ratio_median_of_rounds": steady["ratio_median_of_rounds"],
            "packed_GBps": moved / steady["a_s"] / 1e9,
            "numpy_GBps": w.nbytes / steady["b_s"] / 1e9,
            "packed_min_s": steady["a_min_s"], "numpy_f32_min_s": steady["b_min_s"],
            "interleaved_packed_s": t_packed, "interleaved_numpy_f32_s": t_blas,
            "interleaved_ratio_numpy_over_packed": ratio,
            "method": f"blocks of {BLOCK_CALLS} calls, {PAUSE_S} s pauses, {2 * repeat} rounds;"
                      f" interleaved: {4 * repeat} pairs",
            "packed_bytes": moved, "numpy_bytes": w.nbytes, "max_abs_error": err}


def cpu_seconds(fn, repeat: int) -> float:
    """The least CPU time (this process, all its threads) of ``repeat`` calls of ``fn``:
    the work a call takes, which a busy machine's other jobs do not stretch as they stretch
    wall-clock time."""
    fn()
    best = float("inf")
    for _ in range(repeat):
        t0 = time.process_time()
        fn()
        best = min(best, time.process_time() - t0)
    return best


def matvec_one_thread(size: int, repeat: int) -> dict:
    """The packed mat-vec and NumPy's sgemv on one thread each (``OMP_NUM_THREADS=1``,
    ``OPENBLAS_NUM_THREADS=1``, set before the libraries load: a child process), by CPU
    time, so that the comparison is of work, whatever else the machine runs."""
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    out = subprocess.run([sys.executable, __file__, "--one-thread-matvec", str(size),
                          "--repeat", str(repeat)], env=env, capture_output=True, text=True,
                         check=True)
    return json.loads(out.stdout)


def matvec_env(size: int, repeat: int, env: dict) -> dict:
    """:func:`matvec_cpu` again in a child process with the environment variables ``env``
    set before the libraries load: ``OMP_WAIT_POLICY=passive`` (pxos's idle OpenMP workers
    sleep at once instead of spinning) or ``OPENBLAS_THREAD_TIMEOUT=4`` (OpenBLAS's idle
    workers spin 2**4 cycles, not 2**28, before they sleep; docs/ternary.md §6)."""
    out = subprocess.run([sys.executable, __file__, "--paired-matvec", str(size),
                          "--repeat", str(repeat)], env=dict(os.environ, **env),
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout) | {"env": env}


def one_thread_child(size: int, repeat: int) -> dict:
    rng = np.random.default_rng(3)
    w = rng.normal(size=(size, size)).astype(np.float32)
    x = rng.normal(size=size).astype(np.float32)
    tw = T.nn.absmean(w)
    packed = cpu_seconds(lambda: T.nn.matvec(tw, x, "c"), 4 * repeat)
    blas = cpu_seconds(lambda: w @ x, 4 * repeat)
    return {"size": size, "packed_cpu_s": packed, "numpy_f32_cpu_s": blas,
            "ratio_numpy_over_packed": blas / packed}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/ternary.json")
    ap.add_argument("--quick", action="store_true", help="small sizes (a smoke run)")
    ap.add_argument("--gpu", action="store_true", help="also the CUDA cases (needs CuPy)")
    ap.add_argument("--gpu-only", action="store_true",
                    help="the anchors and the CUDA cases only (no CPU cases)")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--one-thread-matvec", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--paired-matvec", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one_thread_matvec:
        print(json.dumps(one_thread_child(args.one_thread_matvec, args.repeat)))
        return
    if args.paired_matvec:
        print(json.dumps(matvec_cpu(args.paired_matvec, args.repeat)))
        return
    result = {"machine": machine(), "anchors_s_per_op": anchors(300 if args.quick else 3000)}
    if not args.gpu_only:
        result |= cpu_cases(result["anchors_s_per_op"], args.quick, args.repeat)
    if args.gpu or args.gpu_only:
        from gpu_ternary import gpu_cases  # benchmarks/gpu_ternary.py

        result["gpu"] = gpu_cases(result["anchors_s_per_op"], args.quick, args.repeat)
    result["load_average_at_end"] = os.getloadavg()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    part = args.out.with_suffix(args.out.suffix + ".part")
    part.write_text(json.dumps(result, indent=2))
    part.replace(args.out)                    # atomic: no half-written JSON
    print(json.dumps(result, indent=2))


def cpu_cases(anchor: dict, quick: bool, repeat: int) -> dict:
    """The cases on this machine's CPU (``c``); a dict for the JSON output."""
    n = 10**4 if quick else 10**6
    out = {"pxos_c_s_per_number": numbers(n, repeat, "c")}
    out["ratios_c"] = {layout: ratios(anchor, per) for layout, per
                       in out["pxos_c_s_per_number"].items()}
    out["exactness_c"] = exactness(n, 100 if quick else 10**4, "c")
    sizes = (512, 1024) if quick else (4096, 8192)
    out["matvec_c"] = [matvec_cpu(s, repeat) for s in sizes]
    out["matvec_c_one_thread"] = [matvec_one_thread(s, repeat) for s in sizes]
    out["matvec_c_passive_wait"] = [matvec_env(s, repeat, {"OMP_WAIT_POLICY": "passive"})
                                    for s in sizes]
    out["matvec_c_openblas_timeout"] = [matvec_env(s, repeat, {"OPENBLAS_THREAD_TIMEOUT": "4"})
                                        for s in sizes]
    return out


def ratios(anchor: dict, ours: dict) -> dict:
    """Anchor seconds per operation ÷ pxos seconds per number (> 1: pxos is faster)."""
    return {f"{name} / pxos": anchor[name] / ours[name.rsplit(" ", 1)[1]] for name in anchor}


if __name__ == "__main__":
    main()
