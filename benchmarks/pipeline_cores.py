"""One chunk per core: how each stream filter scales from one worker to every core.

    python3 benchmarks/pipeline_cores.py [--mib 64] [--chunk-mib 16] [--repeat 5]
                                         [--only CASE …] [--pick-cores 2] [--out cores.json]
                                         [--min-run-ms 0] [--sample-file S.npy]
                                         [--spin-us US] [--lz4-job-blocks N]
                                         [--crc32c-piece-kib K]

Each case pushes ``--mib`` MiB of log-like text through one stream filter
(``host/pipeline/filters``, ``gcm_stream``) in chunks of ``--chunk-mib`` MiB, with a pool of
one worker and with one worker per core (``cores.CorePool``), and reports the rates (GB/s of
the median wall time) and the **wall-clock scaling** (the issue's goal: ≥ 1.8 on 2 cores).
The runs are interleaved: ``--repeat`` rounds of one run each, ordered 1, N then N, 1
(ABBA), and the scaling is the median of the rounds' ratios (each round's, and the 1-minute
load average before it, are in the JSON), so that other work on the machine weighs on both
sides alike; on a quiet machine (``quiet``: load below 0.5 before and after) it is the
figure to quote. The filters' workers are threads: ``zstandard``, ``lz4``, ``hashlib`` and
the OpenSSL EVP calls of ``openssl_evp`` release the GIL while they work (``cryptography``
48 does not). Beside it, CPU time: the process's (all threads) per GB and the main thread's.
``idle_scaling`` is the ratio the cores would give if they were idle: a run's time taken as
max(main thread's CPU, process CPU / workers), the critical path when the work that left the
main thread is spread evenly and runs side by side (true of GIL-free work only).
``cpu_busy`` = CPU / wall shows how many cores a run kept busy. The ciphers run on
``evp_threads``' C threads (``PXOS_EVP_THREADS=0``: on the Python pool, to compare; LZ4
compression on ``lz4_threads``', ``PXOS_LZ4_THREADS=0``: the pool; CRC32C on
``crc32c_threads``', ``PXOS_CRC32C_THREADS=0``: the pool). ``--min-run-ms`` makes a
run several passes (module ``measure``); ``--spin-us`` and ``--lz4-job-blocks`` set the C
pool's busy wait and the Python pool's LZ4 job size, ``--crc32c-piece-kib`` the bytes a
C thread takes at a time for CRC32C. ``--pick-cores 2`` pins the run to two
CPUs on distinct physical cores (from sysfs), the idlest ones over 0.3 s: two hyperthreads
of one core share its AES units and halve the scaling, so on a larger machine this gives two
quiet, whole cores; the JSON records each CPU's core. Output: JSON with the machine's name.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import platform
import resource
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from pxos.host.pipeline import crc32c_threads, evp_threads, filters, gcm_stream  # noqa: E402
from pxos.host.pipeline.cores import CorePool, cpu_count  # noqa: E402
from pxos.host.pipeline.lz4_frame import BlockCompressor  # noqa: E402

KEY, CTR_IV, NONCE = bytes(range(32)), bytes(range(16)), bytes(range(12))


def sample(nbytes: int) -> np.ndarray:
    """Web-server log lines: compressible as real logs are (zstd level 3 ratio about 4)."""
    lines = b"".join(b"%08d GET /data/%d HTTP/1.1 200 %d\n" % (i, i % 977, (i * 7919) % 65536)
                     for i in range(nbytes // 30 + 1))
    return np.frombuffer(lines[:nbytes], np.uint8)


def cached_sample(nbytes: int, path: Path | None) -> np.ndarray:
    """:func:`sample` of ``nbytes``, read from ``path`` (a .npy) where it holds one of that
    length, else made (and written there atomically when a path is given)."""
    if path is not None and path.exists():
        data = np.load(path)
        if len(data) == nbytes:
            return data
    data = sample(nbytes)
    if path is not None:
        with open(path.with_suffix(".tmp"), "wb") as f:
            np.save(f, data)
        path.with_suffix(".tmp").replace(path)
    return data


class _PerPart:
    """SHA-256 of each part of a chunk, one part per worker (a Merkle leaf level; one
    SHA-256 of the whole stream is sequential). CRC32C per part is ``Crc32cSink`` itself:
    its parts' CRCs are joined by ``crc32c_extend`` into the CRC32C of the stream."""

    def __init__(self, pool):
        self.pool = pool

    def push(self, data):
        step = -(-len(data) // self.pool.workers)
        parts = [data[lo:lo + step] for lo in range(0, len(data), step)]
        self.pool.run(lambda part: hashlib.sha256(part).digest(), [(p,) for p in parts])
        return b""

    def close(self):
        return b""


class _Sink:
    """A sink (``push``, ``value``) as a filter that outputs nothing (``push``, ``close``)."""

    def __init__(self, sink):
        self.sink = sink

    def push(self, data):
        self.sink.push(data)
        return b""

    def close(self):
        self.sink.value()
        return b""


CASES = {
    "aes256ctr": lambda pool: filters.KeystreamFilter("aes256ctr", KEY, CTR_IV, "host", pool),
    "chacha20": lambda pool: filters.KeystreamFilter("chacha20", KEY, NONCE, "host", pool),
    "aes256gcm_seal": lambda pool: gcm_stream.GcmSealFilter(KEY, NONCE, gcm_stream.SEGMENT,
                                                            pool),
    "zstd3_compress": lambda pool: filters.CodecFilter("zstd", False, 3, pool.workers),
    "lz4_compress": lambda pool: filters.CodecFilter("lz4", False, pool=pool),
    "lz4_decompress": lambda pool: filters.CodecFilter("lz4", True, pool=pool),
    "sha256_per_part": _PerPart,
    "crc32c_per_part": lambda pool: _Sink(filters.Crc32cSink(pool)),  # as a stream's VALIDATE
}


def one_run(case: str, data: np.ndarray, chunk: int, pool,
            passes: int = 1) -> tuple[float, ...]:
    """(wall, process CPU, main-thread CPU seconds, voluntary context switches, minor page
    faults) of ``passes`` passes of ``case`` over ``data``, each a stream of its own. The
    switches count the threads' waits (hand-overs of the GIL, futures, joins) and the
    faults the first touches of fresh memory: both are independent of the machine's load,
    unlike the times."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    t, c, m = time.perf_counter(), time.process_time(), time.thread_time()
    for _ in range(passes):
        f = CASES[case](pool)
        for lo in range(0, len(data), chunk):
            f.push(data[lo:lo + chunk])
        f.close()
    wall, cpu, main = (time.perf_counter() - t, time.process_time() - c,
                       time.thread_time() - m)
    q = resource.getrusage(resource.RUSAGE_SELF)
    return wall, cpu, main, q.ru_nvcsw - r.ru_nvcsw, q.ru_minflt - r.ru_minflt


def summary(runs: list[tuple], workers: int, gb: float) -> dict:
    """GB/s of the median wall time, CPU seconds per GB (process and main thread), cores
    kept busy, and the idle-core time per GB (module docstring)."""
    med = statistics.median
    wall, cpu, main = (med(r[i] for r in runs) for i in range(3))
    return {"GBps": gb / wall, "cpu_s_per_GB": cpu / gb, "main_cpu_s_per_GB": main / gb,
            "cpu_busy": cpu / wall, "idle_s_per_GB": max(main, cpu / workers) / gb,
            "voluntary_switches_per_GB": med(r[3] for r in runs) / gb,
            "page_faults_per_GB": med(r[4] for r in runs) / gb,
            "walls_s": [r[0] for r in runs]}


def packed_lz4(data: np.ndarray) -> np.ndarray:
    """``data`` as the streamed LZ4 frame (independent blocks) that lz4_decompress reads."""
    f = filters.CodecFilter("lz4", False)
    return np.frombuffer(f.push(data) + f.close(), np.uint8)


def measure(case: str, data: np.ndarray, chunk: int, cores: int, repeat: int,
            min_run: float = 0.0) -> dict:
    """1 worker against ``cores`` workers, interleaved: after a warm-up of each, ``repeat``
    rounds of one run each, in the order 1, N then N, 1 (ABBA, so that a load that rises or
    falls during the rounds weighs on both alike). A run is as many passes over ``data`` as
    make one one-worker pass after the warm-up last ``min_run`` seconds (``passes`` in the
    JSON; one pass of a fast cipher over 128 MiB is about 20 ms, where one interruption of a
    millisecond moves the ratio by 5-10 %). ``scaling`` is the median of the rounds'
    wall-clock ratios; the load average is read before every round."""
    rounds, loads = {1: [], cores: []}, []
    plain = len(data)
    data = packed_lz4(data) if case == "lz4_decompress" else data
    with CorePool(1) as one, CorePool(cores) as many:
        pools = {1: one, cores: many}
        for w in (1, cores):
            one_run(case, data, chunk, pools[w])
        passes = max(1, math.ceil(min_run / one_run(case, data, chunk, one)[0])) \
            if min_run > 0 else 1
        for i in range(repeat):
            loads.append(os.getloadavg()[0])
            for w in ((1, cores) if i % 2 == 0 else (cores, 1)):
                rounds[w].append(one_run(case, data, chunk, pools[w], passes))
    gb = passes * plain / 1e9  # GB of plain data a run
    ratios = [a[0] / b[0] for a, b in zip(rounds[1], rounds[cores])]
    first, last = summary(rounds[1], 1, gb), summary(rounds[cores], cores, gb)
    return {"1_worker": first, f"{cores}_workers": last,
            "scaling": statistics.median(ratios), "round_ratios": ratios,
            "idle_scaling": first["idle_s_per_GB"] / last["idle_s_per_GB"],
            "passes": passes, "load_average_1min": loads}


def physical_core(cpu: int) -> tuple[str, str]:
    """(package, core) of logical CPU ``cpu`` from Linux's sysfs; two hyperthreads of one
    core share it (and its AES units)."""
    base = Path(f"/sys/devices/system/cpu/cpu{cpu}/topology")
    return tuple((base / f).read_text().strip() for f in ("physical_package_id", "core_id"))


def idle_fractions(seconds: float = 0.3) -> dict[int, float]:
    """Each logical CPU's idle fraction over ``seconds`` (Linux's /proc/stat: idle and
    iowait jiffies over all jiffies); {} where /proc/stat cannot be read."""
    def read() -> dict[int, tuple[int, int]]:
        out = {}
        for line in Path("/proc/stat").read_text().splitlines():
            name, *fields = line.split()
            if name.startswith("cpu") and name[3:].isdigit():
                ticks = [int(f) for f in fields]
                out[int(name[3:])] = (ticks[3] + ticks[4], sum(ticks))
        return out
    try:
        first = read()
        time.sleep(seconds)
        last = read()
    except OSError:
        return {}
    return {cpu: (last[cpu][0] - first[cpu][0]) / max(1, last[cpu][1] - first[cpu][1])
            for cpu in first if cpu in last}


def pick_cores(count: int) -> list[int]:
    """Pin this process to ``count`` logical CPUs on distinct physical cores: the idlest
    over 0.3 s (other work on the machine runs elsewhere), ties broken towards the last
    CPUs of the affinity mask (away from CPU 0's interrupts); the CPUs chosen."""
    idle = idle_fractions()
    chosen, seen = [], set()
    for cpu in sorted(os.sched_getaffinity(0), key=lambda c: (-round(idle.get(c, 0), 1), -c)):
        core = physical_core(cpu)
        if core not in seen:
            seen.add(core)
            chosen.append(cpu)
        if len(chosen) == count:
            break
    os.sched_setaffinity(0, chosen)
    return sorted(chosen)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mib", type=int, default=64)
    parser.add_argument("--chunk-mib", type=int, default=16)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--only", nargs="*", choices=list(CASES), help="these cases only")
    parser.add_argument("--out", default="pipeline_cores.json")
    parser.add_argument("--pick-cores", type=int, default=0,
                        help="pin to this many CPUs on distinct physical cores first")
    parser.add_argument("--sample-file", type=Path, default=None,
                        help="a .npy of the sample: read where it exists, else written")
    parser.add_argument("--min-run-ms", type=float, default=0.0,
                        help="passes a run: enough for the one-worker run to last this long")
    parser.add_argument("--spin-us", type=float, default=None,
                        help="evp_threads' pool: busy wait before sleeping (default: its own)")
    parser.add_argument("--lz4-job-blocks", type=int, default=None,
                        help="LZ4 blocks per pool job (0: one run per worker)")
    parser.add_argument("--crc32c-piece-kib", type=int, default=None,
                        help="CRC32C on C threads: KiB a thread takes at a time")
    args = parser.parse_args()
    if args.spin_us is not None:
        for threads in (evp_threads, crc32c_threads):
            if threads.helper() is not None:
                threads.set_spin(int(args.spin_us * 1000))
    if args.lz4_job_blocks is not None:
        BlockCompressor.JOB_BLOCKS = args.lz4_job_blocks
    if args.crc32c_piece_kib is not None:
        crc32c_threads.PIECE = args.crc32c_piece_kib << 10
    picked = pick_cores(args.pick_cores) if args.pick_cores else None
    data, chunk, cores = cached_sample(args.mib << 20, args.sample_file), \
        args.chunk_mib << 20, cpu_count()
    cpus = sorted(os.sched_getaffinity(0))
    topology = {c: "/".join(physical_core(c)) for c in cpus} if Path("/sys/devices").exists() \
        else {}
    load_before = os.getloadavg()
    results = {}
    print("ciphers on", "C threads (evp_threads)" if evp_threads.helper() else
          "the Python pool (openssl_evp)", "| CRC32C on", "C threads (crc32c_threads)"
          if crc32c_threads.helper() else "the Python pool", "| CPUs", cpus, flush=True)
    for case in [c for c in CASES if not args.only or c in args.only]:
        r = results[case] = measure(case, data, chunk, cores, args.repeat,
                                    args.min_run_ms / 1e3)
        one, many = r["1_worker"], r[f"{cores}_workers"]
        print(f"{case:16s} 1 worker {one['GBps']:6.2f} GB/s   {cores} workers "
              f"{many['GBps']:6.2f} GB/s   × {r['scaling']:.2f} wall (rounds "
              f"{min(r['round_ratios']):.2f}–{max(r['round_ratios']):.2f})   "
              f"× {r['idle_scaling']:.2f} idle-core   busy {one['cpu_busy']:.2f} → "
              f"{many['cpu_busy']:.2f} cores   switches/GB "
              f"{many['voluntary_switches_per_GB']:.0f}   faults/GB "
              f"{one['page_faults_per_GB']:.0f} → {many['page_faults_per_GB']:.0f}   CPU s/GB "
              f"{one['cpu_s_per_GB']:.3f} → {many['cpu_s_per_GB']:.3f}   passes "
              f"{r['passes']}   load "
              f"{max(r['load_average_1min']):.1f}",
              flush=True)
    out = {"machine": {"node": platform.node(), "cpu": platform.processor() or platform.machine(),
                       "cores": cores, "python": platform.python_version()},
           "cpus": cpus, "picked": picked, "package/core of each CPU": topology,
           "mib": args.mib, "chunk_mib": args.chunk_mib, "repeat": args.repeat,
           "min_run_ms": args.min_run_ms,
           "goal_scaling_2_cores": 1.8,
           "load_average_before": load_before, "load_average_after": os.getloadavg(),
           "quiet": max(load_before[0], os.getloadavg()[0]) < 0.5,
           "cipher_threads": "C (evp_threads)" if evp_threads.helper() else "Python pool",
           "crc32c_threads": "C (crc32c_threads)" if crc32c_threads.helper() else "Python pool",
           "spin_us": args.spin_us, "crc32c_piece": crc32c_threads.PIECE, "lz4_job_blocks": getattr(BlockCompressor, "JOB_BLOCKS", None),
           "results": results}
    tmp = Path(args.out).with_suffix(".tmp")
    tmp.write_text(json.dumps(out, indent=2))
    tmp.replace(args.out)


if __name__ == "__main__":
    main()
