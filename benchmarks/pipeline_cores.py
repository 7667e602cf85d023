"""One chunk per core: how each stream filter scales from one worker to every core.

    python3 benchmarks/pipeline_cores.py [--mib 64] [--chunk-mib 16] [--repeat 3] [--out cores.json]

Each case pushes ``--mib`` MiB of log-like text through one stream filter
(``host/pipeline/filters``, ``gcm_stream``) in chunks of ``--chunk-mib`` MiB, once with a
pool of one worker and once with one worker per core (``cores.CorePool``), and reports the
rates (GB/s, median of ``--repeat`` runs after a warm-up) and their ratio (the issue's goal:
≥ 1.8 on 2 cores). The filters' workers are threads: ``zstandard`` and ``hashlib`` release
the GIL while they work, ``cryptography`` 48 does not, which this benchmark shows. Timings
on a shared machine are noisy: the JSON records the load average before and after.
Output: JSON with the machine's name.
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

KEY, CTR_IV, NONCE = bytes(range(32)), bytes(range(16)), bytes(range(12))


def sample(nbytes: int) -> np.ndarray:
    """Web-server log lines: compressible as real logs are (zstd level 3 ratio about 4)."""
    lines = b"".join(b"%08d GET /data/%d HTTP/1.1 200 %d\n" % (i, i % 977, (i * 7919) % 65536)
                     for i in range(nbytes // 30 + 1))
    return np.frombuffer(lines[:nbytes], np.uint8)


class _Sha256Chunks:
    """SHA-256 of each chunk on its own (a Merkle leaf level): independent per core."""

    def __init__(self, pool):
        self.pool = pool

    def push(self, data):
        n = len(data)
        step = -(-n // self.pool.workers)
        self.pool.run(lambda lo: hashlib.sha256(data[lo:lo + step]).digest(),
                      [(lo,) for lo in range(0, n, step)])
        return b""

    def close(self):
        return b""


CASES = {
    "aes256ctr": lambda pool: filters.KeystreamFilter("aes256ctr", KEY, CTR_IV, "host", pool),
    "chacha20": lambda pool: filters.KeystreamFilter("chacha20", KEY, NONCE, "host", pool),
    "aes256gcm_segments": lambda pool: gcm_stream.GcmSealFilter(KEY, NONCE, 1 << 20, pool),
    "zstd3_compress": lambda pool: filters.CodecFilter("zstd", False, 3, pool.workers),
    "sha256_per_chunk": _Sha256Chunks,
}


def rate(case: str, data: np.ndarray, chunk: int, workers: int, repeat: int) -> float:
    """GB/s of ``case`` over ``data`` with ``workers`` workers (median after a warm-up)."""
    times = []
    with CorePool(workers) as pool:
        for i in range(repeat + 1):
            f = CASES[case](pool)
            t = time.perf_counter()
            for lo in range(0, len(data), chunk):
                f.push(data[lo:lo + chunk])
            f.close()
            if i:
                times.append(time.perf_counter() - t)
    return len(data) / statistics.median(times) / 1e9


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mib", type=int, default=64)
    parser.add_argument("--chunk-mib", type=int, default=16)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--out", default="pipeline_cores.json")
    args = parser.parse_args()
    data, chunk, cores = sample(args.mib << 20), args.chunk_mib << 20, cpu_count()
    load_before = os.getloadavg()
    results = {}
    for case in CASES:
        one = rate(case, data, chunk, 1, args.repeat)
        many = rate(case, data, chunk, cores, args.repeat)
        results[case] = {"GBps_1_worker": one, f"GBps_{cores}_workers": many,
                         "scaling": many / one}
        print(f"{case:20s} 1 worker {one:6.2f} GB/s   {cores} workers {many:6.2f} GB/s   "
              f"× {many / one:.2f}", flush=True)
    out = {"machine": {"node": platform.node(), "cpu": platform.processor() or platform.machine(),
                       "cores": cores, "python": platform.python_version()},
           "mib": args.mib, "chunk_mib": args.chunk_mib, "goal_scaling_2_cores": 1.8,
           "load_average_before": load_before, "load_average_after": os.getloadavg(),
           "results": results}
    Path(args.out).write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
