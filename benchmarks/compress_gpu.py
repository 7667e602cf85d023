"""GPU compression through nvCOMP against the CPU libraries, on device-resident data.

    python3 benchmarks/compress_gpu.py [--mib 1024] [--repeat 5] [--data logs mortgage]
                                       [--codecs lz4 zstd deflate] [--out compress_gpu.json]

For each of ``--codecs`` (``deflate``: gzip members) and each input of ``--data``, already
on the GPU (CuPy), it times with CUDA events (median of ``--repeat`` after a warm-up):

- ``nvcomp_encode``: nvCOMP's batched RAW encode of 64 KiB chunks alone (the rate nvCOMP
  itself publishes: its own benchmark times the batched compression call);
- ``pxos_compress``: ``pipeline.compress(…, device="cuda")`` whole: encode, the read-back
  of the chunk sizes, and the packing kernel that makes one standard stream;
- the same from host memory (NumPy in and out: the upload and download too, one run);
- the CPU library on one core over 16 MiB of the same data, at its default level
  (nvCOMP has no levels), best of three.

Inputs: ``logs``, ``--mib`` MiB of web-server log lines; ``mortgage``, a stand-in for the
input of nvCOMP's one published LZ4 figure (NVIDIA/nvcomp ``doc/Benchmarks.md``:
``benchmark_lz4_chunked`` on an A100, Fannie Mae's Mortgage 2009Q2 performance table,
column 0 (LOAN_ID) as 8-byte integers, 329,055,928 bytes: ratio 38.89, compression
**95.87 GB/s**, decompression 320.70 GB/s, 64 KiB chunks). The file itself cannot be
fetched here, so :func:`mortgage_like` builds a column of the same size and shape: sorted
12-digit loan ids, each repeated for its months of records (1 to 96, uniform), which LZ4
compresses at about the same ratio (39-40 on 64 KiB blocks). Its row compares the nvCOMP
encode rate with the published one (``of_published``).

It checks that the output decodes with the CPU library, and writes JSON with the GPU's
name, the ratio, GB/s of each, and pxos ÷ nvCOMP (the cost of making a standard stream).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from pxos.host import pipeline  # noqa: E402
from pxos.host.pipeline import nvcomp_codec  # noqa: E402

from gpu_timing import event_time  # noqa: E402  (benchmarks/, next to this script)


def sample(nbytes: int) -> np.ndarray:
    """Web-server log lines (as benchmarks/pipeline_cores.py): lz4 ratio about 0.3."""
    lines = b"".join(b"%08d GET /data/%d HTTP/1.1 200 %d\n" % (i, i % 977, (i * 7919) % 65536)
                     for i in range(min(nbytes, 64 << 20) // 30 + 1))
    one = np.frombuffer(lines[:min(nbytes, 64 << 20)], np.uint8)
    return np.resize(one, nbytes)


PUBLISHED = {"source": "NVIDIA/nvcomp doc/Benchmarks.md, benchmark_lz4_chunked",
             "gpu": "A100", "data": "Mortgage 2009Q2 col 0 (LOAN_ID, int64)",
             "bytes": 329055928, "ratio": 38.89, "compress_GBps": 95.87,
             "decompress_GBps": 320.70}


def mortgage_like(nbytes: int = PUBLISHED["bytes"], seed: int = 2009) -> np.ndarray:
    """A LOAN_ID-like int64 column as u8 bytes: sorted 12-digit ids (random gaps of 1 to
    1999), each repeated 1 to 96 times (a loan's monthly rows), ``nbytes`` bytes."""
    rng = np.random.default_rng(seed)
    n = nbytes // 8
    runs = rng.integers(1, 97, n // 20 + 16)
    ids = 100_000_000_000 + np.cumsum(rng.integers(1, 2000, len(runs)))
    return np.repeat(ids, runs)[:n].astype("<i8").view(np.uint8)


def nvcomp_encode(src, codec: str):
    """nvCOMP's batched encode alone (no packing), as ``nvcomp_codec.compress_piece``."""
    import cupy as cp
    from nvidia import nvcomp

    stream = cp.cuda.get_current_stream().ptr
    nv = nvcomp_codec._codec(codec, stream)
    chunk, n = nvcomp_codec.CHUNK, -(-len(src) // nvcomp_codec.CHUNK)
    stride = nvcomp_codec._stride(codec, nv, src)
    slots = cp.empty(n * stride, cp.uint8)
    srcs = nvcomp.as_arrays(src, [i * chunk for i in range(n)],
                            [min(chunk, len(src) - i * chunk) for i in range(n)], stream)
    out = nvcomp.as_arrays(slots, [i * stride for i in range(n)], [stride] * n, stream)
    return lambda: nv.encode(srcs, out=out).buffer_sizes


def cpu_rate(data: np.ndarray, codec: str) -> float:
    best = float("inf")
    for _ in range(3):
        t = time.perf_counter()
        pipeline.compress(data, codec)
        best = min(best, time.perf_counter() - t)
    return len(data) / best / 1e9


def measure(host: np.ndarray, codec: str, repeat: int) -> dict:
    """One codec on one input (u8, host memory): the rates of the module docstring."""
    import cupy as cp

    src = cp.asarray(host)
    out = pipeline.compress(src, codec, device="cuda")
    ok = pipeline.decompress(out.get(), codec).tobytes() == host.tobytes()
    enc = event_time(cp, nvcomp_encode(src, codec), repeat)
    whole = event_time(cp, lambda: pipeline.compress(src, codec, device="cuda"), repeat)
    t = time.perf_counter()
    pipeline.compress(host, codec, device="cuda")  # NumPy in, NumPy out: the copies too
    from_host = time.perf_counter() - t
    gb = len(host) / 1e9
    return {"bytes": len(host), "decoded_by_cpu_library": ok, "ratio": len(out) / len(host),
            "nvcomp_encode_GBps": gb / enc, "pxos_compress_GBps": gb / whole,
            "pxos_over_nvcomp_time": whole / enc, "host_data_GBps": gb / from_host,
            "cpu_one_core_GBps": cpu_rate(host[:16 << 20], codec)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mib", type=int, default=1024)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--data", nargs="+", default=["logs", "mortgage"],
                        choices=["logs", "mortgage"])
    parser.add_argument("--codecs", nargs="+", default=["lz4", "zstd", "deflate"],
                        choices=["lz4", "zstd", "deflate"])
    parser.add_argument("--out", default="compress_gpu.json")
    args = parser.parse_args()
    if not nvcomp_codec.available():
        sys.exit("nvCOMP or a CUDA device is missing (pip install -e '.[pipelines-gpu]')")
    import cupy as cp
    from nvidia import nvcomp

    results = {}
    for data in args.data:
        host = sample(args.mib << 20) if data == "logs" else mortgage_like()
        for codec in args.codecs:
            r = results[f"{data}/{codec}"] = measure(host, codec, args.repeat)
            if data == "mortgage" and codec == "lz4":
                r["published_GBps"] = PUBLISHED["compress_GBps"]
                r["of_published"] = r["nvcomp_encode_GBps"] / PUBLISHED["compress_GBps"]
            print(f"{data:8s} {codec:7s} ratio {1 / r['ratio']:6.2f}:1  nvCOMP encode "
                  f"{r['nvcomp_encode_GBps']:7.1f} GB/s"
                  + (f" ({r['of_published']:.2f} of the published {PUBLISHED['compress_GBps']}"
                     " GB/s, A100)" if "of_published" in r else "")
                  + f"  pxos compress {r['pxos_compress_GBps']:7.1f} GB/s "
                  f"(x{r['pxos_over_nvcomp_time']:.2f} time)  from host "
                  f"{r['host_data_GBps']:5.1f} GB/s  CPU 1 core {r['cpu_one_core_GBps']:.2f} GB/s"
                  f"  decoded: {r['decoded_by_cpu_library']}", flush=True)
    props = cp.cuda.runtime.getDeviceProperties(0)
    out = {"machine": {"node": platform.node(), "gpu": props["name"].decode(),
                       "cores": os.cpu_count(), "python": platform.python_version(),
                       "nvcomp": nvcomp.__version__},
           "mib": args.mib, "chunk_bytes": nvcomp_codec.CHUNK, "published": PUBLISHED,
           "load_average": os.getloadavg(), "results": results}
    tmp = Path(args.out).with_suffix(".tmp")
    tmp.write_text(json.dumps(out, indent=2))
    tmp.replace(args.out)


if __name__ == "__main__":
    main()
