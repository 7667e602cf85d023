"""One chunk per core: how each stream filter scales from one worker to every core.

    python3 benchmarks/pipeline_cores.py [--mib 64] [--chunk-mib 16] [--repeat 3]
                                         [--only CASE …] [--out cores.json]

Each case pushes ``--mib`` MiB of log-like text through one stream filter
(``host/pipeline/filters``, ``gcm_stream``) in chunks of ``--chunk-mib`` MiB, once with a
pool of one worker and once with one worker per core (``cores.CorePool``), and reports the
rates (GB/s, median of ``--repeat`` runs after a warm-up) and their ratio (the issue's goal:
≥ 1.8 on 2 cores). The filters' workers are threads: ``zstandard``, ``hashlib`` and the
OpenSSL EVP calls of ``openssl_evp`` release the GIL while they work (``cryptography`` 48
does not). Beside the wall-clock rates it records the process's CPU time (all threads) per
GB and the main thread's: on a machine shared with other work the wall-clock ratio
understates the scaling. ``idle_scaling`` is the ratio the cores would give if they were
idle: a run's time is taken as max(main thread's CPU, process CPU / workers), the critical
path when the work that left the main thread is spread evenly and runs side by side (true
of GIL-free work only: a filter that holds the GIL would be flattered). ``cpu_busy`` = CPU
/ wall shows how many cores a run kept busy. The JSON records the load average before and
after. Output: JSON with the machine's name.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from pxos.host.pipeline import filters, gcm_stream  # noqa: E402
from pxos.host.pipeline.cores import CorePool, cpu_count  # noqa: E402
from pxos.host.pipeline.crc32c import crc32c, crc32c_extend  # noqa: E402

KEY, CTR_IV, NONCE = bytes(range(32)), bytes(range(16)), bytes(range(12))


def sample(nbytes: int) -> np.ndarray:
    """Web-server log lines: compressible as real logs are (zstd level 3 ratio about 4)."""
    lines = b"".join(b"%08d GET /data/%d HTTP/1.1 200 %d\n" % (i, i % 977, (i * 7919) % 65536)
                     for i in range(nbytes // 30 + 1))
    return np.frombuffer(lines[:nbytes], np.uint8)


class _PerPart:
    """``fn`` of each part of a chunk, one part per worker: SHA-256 per part (a Merkle leaf
    level; one SHA-256 of the whole stream is sequential), or CRC32C per part joined by
    ``crc32c_extend`` into the CRC32C of the stream (as ``Crc32cSink`` could)."""

    def __init__(self, pool, kind: str):
        self.pool, self.kind, self.crc = pool, kind, 0

    def _part(self, part):
        return hashlib.sha256(part).digest() if self.kind == "sha256" else crc32c(part)

    def push(self, data):
        step = -(-len(data) // self.pool.workers)
        parts = [data[lo:lo + step] for lo in range(0, len(data), step)]
        for part, got in zip(parts, self.pool.run(self._part, [(p,) for p in parts])):
            if self.kind == "crc32c":
                self.crc = crc32c_extend(self.crc, got, len(part))
        return b""

    def close(self):
        return b""


CASES = {
    "aes256ctr": lambda pool: filters.KeystreamFilter("aes256ctr", KEY, CTR_IV, "host", pool),
    "chacha20": lambda pool: filters.KeystreamFilter("chacha20", KEY, NONCE, "host", pool),
    "aes256gcm_seal": lambda pool: gcm_stream.GcmSealFilter(KEY, NONCE, gcm_stream.SEGMENT,
                                                            pool),
    "zstd3_compress": lambda pool: filters.CodecFilter("zstd", False, 3, pool.workers),
    "lz4_compress": lambda pool: filters.CodecFilter("lz4", False),  # one frame, one thread
    "sha256_per_part": lambda pool: _PerPart(pool, "sha256"),
    "crc32c_per_part": lambda pool: _PerPart(pool, "crc32c"),
}


def rate(case: str, data: np.ndarray, chunk: int, workers: int, repeat: int) -> dict:
    """GB/s of wall-clock time, and CPU seconds per GB of the process and of the main
    thread, of ``case`` over ``data`` with ``workers`` workers (medians of ``repeat`` runs
    after a warm-up)."""
    walls, cpus, mains = [], [], []
    with CorePool(workers) as pool:
        for i in range(repeat + 1):
            f = CASES[case](pool)
            t, c, m = time.perf_counter(), time.process_time(), time.thread_time()
            for lo in range(0, len(data), chunk):
                f.push(data[lo:lo + chunk])
            f.close()
            if i:
                mains.append(time.thread_time() - m)
                cpus.append(time.process_time() - c)
                walls.append(time.perf_counter() - t)
    gb, med = len(data) / 1e9, statistics.median
    cpu, main = med(cpus) / gb, med(mains) / gb
    return {"GBps": gb / med(walls), "cpu_s_per_GB": cpu, "main_cpu_s_per_GB": main,
            "cpu_busy": cpu * gb / med(walls), "idle_s_per_GB": max(main, cpu / workers)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mib", type=int, default=64)
    parser.add_argument("--chunk-mib", type=int, default=16)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--only", nargs="*", choices=list(CASES), help="these cases only")
    parser.add_argument("--out", default="pipeline_cores.json")
    args = parser.parse_args()
    data, chunk, cores = sample(args.mib << 20), args.chunk_mib << 20, cpu_count()
    load_before = os.getloadavg()
    results = {}
    for case in [c for c in CASES if not args.only or c in args.only]:
        one = rate(case, data, chunk, 1, args.repeat)
        many = rate(case, data, chunk, cores, args.repeat)
        wall, idle = many["GBps"] / one["GBps"], one["idle_s_per_GB"] / many["idle_s_per_GB"]
        results[case] = {"1_worker": one, f"{cores}_workers": many, "scaling": wall,
                         "idle_scaling": idle}
        print(f"{case:16s} 1 worker {one['GBps']:6.2f} GB/s   {cores} workers "
              f"{many['GBps']:6.2f} GB/s   × {wall:.2f} wall   × {idle:.2f} idle-core   "
              f"busy {one['cpu_busy']:.2f} → {many['cpu_busy']:.2f} cores", flush=True)
    out = {"machine": {"node": platform.node(), "cpu": platform.processor() or platform.machine(),
                       "cores": cores, "python": platform.python_version()},
           "mib": args.mib, "chunk_mib": args.chunk_mib, "goal_scaling_2_cores": 1.8,
           "load_average_before": load_before, "load_average_after": os.getloadavg(),
           "results": results}
    Path(args.out).write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
