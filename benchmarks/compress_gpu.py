"""GPU compression through nvCOMP against the CPU libraries, on device-resident data.

    python3 benchmarks/compress_gpu.py [--mib 1024] [--repeat 5] [--out compress_gpu.json]

For ``lz4``, ``zstd`` and ``deflate`` (gzip members) it times, on ``--mib`` MiB of log-like text already on the GPU
(CuPy), with CUDA events (median of ``--repeat`` after a warm-up):

- ``nvcomp_encode``: nvCOMP's batched RAW encode of 64 KiB chunks alone (the rate nvCOMP
  itself publishes: its own benchmark times the batched compression call);
- ``pxos_compress``: ``pipeline.compress(…, device="cuda")`` whole: encode, the read-back
  of the chunk sizes, and the packing kernel that makes one standard stream;
- the same from host memory (NumPy in and out: the upload and download too, one run);
- the CPU library on one core over 16 MiB of the same data, at its default level
  (nvCOMP has no levels), best of three.

It checks that the output decodes with the CPU library, and writes JSON with the GPU's
name, the ratio, GB/s of each, and pxos ÷ nvCOMP (the cost of making a standard stream).
"""

from __future__ import annotations

import argparse
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

from pxos.host import pipeline  # noqa: E402
from pxos.host.pipeline import nvcomp_codec  # noqa: E402


def sample(nbytes: int) -> np.ndarray:
    """Web-server log lines (as benchmarks/pipeline_cores.py): lz4 ratio about 0.3."""
    lines = b"".join(b"%08d GET /data/%d HTTP/1.1 200 %d\n" % (i, i % 977, (i * 7919) % 65536)
                     for i in range(min(nbytes, 64 << 20) // 30 + 1))
    one = np.frombuffer(lines[:min(nbytes, 64 << 20)], np.uint8)
    return np.resize(one, nbytes)


def gpu_seconds(work, repeat: int) -> float:
    """Median seconds of ``work()`` by CUDA events on the current stream, after a warm-up."""
    import cupy as cp

    work()
    times = []
    for _ in range(repeat):
        start, stop = cp.cuda.Event(), cp.cuda.Event()
        start.record()
        work()
        stop.record()
        stop.synchronize()
        times.append(cp.cuda.get_elapsed_time(start, stop) / 1e3)
    return statistics.median(times)


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mib", type=int, default=1024)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--out", default="compress_gpu.json")
    args = parser.parse_args()
    if not nvcomp_codec.available():
        sys.exit("nvCOMP or a CUDA device is missing (pip install -e '.[pipelines-gpu]')")
    import cupy as cp
    from nvidia import nvcomp

    host = sample(args.mib << 20)
    src = cp.asarray(host)
    results = {}
    for codec in ("lz4", "zstd", "deflate"):
        out = pipeline.compress(src, codec, device="cuda")
        ok = pipeline.decompress(out.get(), codec).tobytes() == host.tobytes()
        enc = gpu_seconds(nvcomp_encode(src, codec), args.repeat)
        whole = gpu_seconds(lambda: pipeline.compress(src, codec, device="cuda"), args.repeat)
        t = time.perf_counter()
        pipeline.compress(host, codec, device="cuda")  # NumPy in, NumPy out: the copies too
        from_host = time.perf_counter() - t
        gb = len(host) / 1e9
        results[codec] = {"decoded_by_cpu_library": ok, "ratio": len(out) / len(host),
                          "nvcomp_encode_GBps": gb / enc, "pxos_compress_GBps": gb / whole,
                          "pxos_over_nvcomp_time": whole / enc,
                          "host_data_GBps": gb / from_host,
                          "cpu_one_core_GBps": cpu_rate(host[:16 << 20], codec)}
        r = results[codec]
        print(f"{codec:5s} ratio {r['ratio']:.3f}  nvCOMP encode {r['nvcomp_encode_GBps']:7.1f} "
              f"GB/s  pxos compress {r['pxos_compress_GBps']:7.1f} GB/s "
              f"(x{r['pxos_over_nvcomp_time']:.2f} time)  from host {r['host_data_GBps']:5.1f} GB/s  "
              f"CPU 1 core "
              f"{r['cpu_one_core_GBps']:.2f} GB/s  decoded: {ok}", flush=True)
    props = cp.cuda.runtime.getDeviceProperties(0)
    out = {"machine": {"node": platform.node(), "gpu": props["name"].decode(),
                       "cores": os.cpu_count(), "python": platform.python_version(),
                       "nvcomp": nvcomp.__version__},
           "mib": args.mib, "chunk_bytes": nvcomp_codec.CHUNK,
           "load_average": os.getloadavg(), "results": results}
    Path(args.out).write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
