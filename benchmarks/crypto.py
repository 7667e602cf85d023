"""Throughput of the secure-pipeline primitives: the CPU libraries (``device="host"``)
against the pxos kernels on ``c`` (and ``cuda`` where present), in one process.

    python3 benchmarks/crypto.py [--mib 64] [--gpu-mib 1024] [--repeat 5] [--out crypto.json]

Cases (issue 21, "Goals"): AES-256-CTR, AES-256-GCM, ChaCha20 (GB/s), SHA-256 of one large
message (GB/s) and of 1 KiB messages (M messages/s), CRC32C (GB/s), zstd level 3 and lz4
(MB/s each way, ratio). Each cipher is measured twice, as the issue asks: ``reuse`` writes
into output buffers allocated once (the kernels' own launch, ``run_keystream``; the host's
``update_into``), ``fresh`` calls the public API, which returns a new buffer each time
(first-touch page faults included). GPU figures use device-resident CuPy arrays of
``--gpu-mib`` MiB, timed with a synchronize on each side. ``ratio_to_host`` is host time ÷
this time (> 1: faster than the CPU library). The issue's baselines are copied into the
JSON beside the measured host figures. Output: JSON with the machine's name.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes  # noqa: E402

from pxos import backends  # noqa: E402
from pxos.host import pipeline  # noqa: E402
from pxos.host.pipeline.ciphers import run_keystream  # noqa: E402
from pxos.host.pipeline.ghash import ghash  # noqa: E402
from pxos.host.pipeline.sha256 import pad_rows, sha256_rows_kernel  # noqa: E402

from gpu_timing import host_time  # noqa: E402  (benchmarks/, next to this script)

BASELINES = {  # issue 21, "Goals": the machine, one core, buffers preallocated
    "aes256ctr": "5.1-5.6 GB/s", "aes256gcm": "6.5-6.8 GB/s", "sha256_64MiB": "1.67 GB/s",
    "sha256_1KiB": "0.87-0.96 M/s", "zstd3": "211-253 MB/s compress, ~705 MB/s decompress",
    "lz4": "418-517 MB/s compress, 597-783 MB/s decompress", "fresh_64MiB": "~1.1 GB/s"}
GOALS_H200 = {"aes256ctr": "200 GB/s", "aes256gcm": "100 GB/s", "chacha20": "200 GB/s",
              "sha256_1KiB": "500 M/s"}
KEY, CTR_IV, NONCE = bytes(range(32)), bytes(range(16)), bytes(range(12))


def timed(fn, repeat: int, sync=lambda: None) -> float:
    """Median seconds of ``fn()`` over ``repeat`` runs after one warm-up."""
    return host_time(fn, sync, repeat)


def host_cipher(cipher: str, data: np.ndarray, out: np.ndarray):
    """``cryptography`` into a reused buffer (``update_into``)."""
    if cipher == "aes256ctr":
        c = Cipher(algorithms.AES(KEY), modes.CTR(CTR_IV))
    elif cipher == "aes256gcm":
        c = Cipher(algorithms.AES(KEY), modes.GCM(NONCE))
    else:
        c = Cipher(algorithms.ChaCha20(KEY, bytes(4) + NONCE), None)

    def run():
        enc = c.encryptor()
        enc.update_into(data, out)
        enc.finalize()
    return run


def kernel_cipher(cipher: str, words, out, device: str, xp):
    """The kernel launch into a reused buffer; GCM adds GHASH over the result."""
    counter = CTR_IV if cipher == "aes256ctr" else NONCE + (b"\0\0\0\2" if cipher == "aes256gcm" else b"")

    def run():
        run_keystream(words, out, cipher, KEY, counter, device)
        if cipher == "aes256gcm":
            ghash(out.view(xp.uint8), 0x66E94BD4EF8A2C3B884CFA59CA342B2E, device)  # any H: same cost
    return run


def ciphers(nbytes: int, gpu_bytes: int, devices: list[str], repeat: int) -> dict:
    res = {}
    data = np.random.default_rng(0).integers(0, 256, nbytes, dtype=np.uint8)
    out = np.empty(nbytes + 16, np.uint8)
    for cipher in pipeline.CIPHERS:
        row = {}
        t = timed(host_cipher(cipher, data, out), repeat)
        row["host_reuse_GBps"] = nbytes / t / 1e9
        nonce = CTR_IV if cipher == "aes256ctr" else NONCE
        t = timed(lambda: pipeline.encrypt(data, cipher, KEY, nonce), repeat)
        row["host_fresh_GBps"] = nbytes / t / 1e9
        for dev in devices:
            xp, size, sync = np, nbytes, (lambda: None)
            if dev == "cuda":
                import cupy as xp
                size, sync = gpu_bytes, xp.cuda.Device().synchronize
            words = xp.asarray(np.random.default_rng(1).integers(0, 2 ** 32, size // 4, dtype=np.uint32))
            kout = xp.empty_like(words)
            t = timed(kernel_cipher(cipher, words, kout, dev, xp), repeat, sync)
            row[f"{dev}_reuse_GBps"] = size / t / 1e9
            row[f"{dev}_ratio_to_host"] = row[f"{dev}_reuse_GBps"] / row["host_reuse_GBps"]
            if dev != "cuda":
                t = timed(lambda: pipeline.encrypt(data, cipher, KEY, nonce, device=dev), repeat)
                row[f"{dev}_fresh_GBps"] = nbytes / t / 1e9
        res[cipher] = row
    return res


def hashes(nbytes: int, gpu_bytes: int, devices: list[str], repeat: int) -> dict:
    data = np.random.default_rng(2).integers(0, 256, nbytes, dtype=np.uint8)
    res = {"sha256_one_message": {"host_GBps": nbytes / timed(lambda: hashlib.sha256(data).digest(), repeat) / 1e9}}
    rows = data[: nbytes // 1024 * 1024].reshape(-1, 1024)
    t = timed(lambda: [hashlib.sha256(r).digest() for r in rows], max(1, repeat // 2))
    msgs = {"host_Mps": len(rows) / t / 1e6}
    for dev in devices:
        xp, sync, r = np, (lambda: None), rows
        if dev == "cuda":
            import cupy as xp
            sync = xp.cuda.Device().synchronize
            r = xp.asarray(np.random.default_rng(3).integers(0, 256, (gpu_bytes // 1024, 1024), dtype=np.uint8))
        padded = pad_rows(r).view(xp.uint32)
        digests = xp.zeros((len(r), 8), xp.uint32)
        t = timed(lambda: sha256_rows_kernel(r, dev, padded, digests), repeat, sync)
        msgs[f"{dev}_Mps"] = len(r) / t / 1e6
        msgs[f"{dev}_ratio_to_host"] = msgs[f"{dev}_Mps"] / msgs["host_Mps"]
    res["sha256_1KiB_messages"] = msgs
    crc = {"host_GBps": nbytes / timed(lambda: pipeline.crc32c(data), 1) / 1e9}
    for dev in devices:
        d, sync = data, (lambda: None)
        if dev == "cuda":
            import cupy
            d, sync = cupy.asarray(np.resize(data, gpu_bytes)), cupy.cuda.Device().synchronize
        crc[f"{dev}_GBps"] = len(d) / timed(lambda: pipeline.crc32c(d, device=dev), repeat, sync) / 1e9
    res["crc32c"] = crc
    return res


def codecs(nbytes: int, repeat: int) -> dict:
    """zstd 3, lz4 and deflate on text-like data: a log with numbers, and the example image."""
    lines = b"".join(b"%08d GET /data/%d HTTP/1.1 200 %d\n" % (i, i % 977, (i * 7919) % 65536)
                     for i in range(nbytes // 40))
    data = np.frombuffer((lines + (ROOT / "examples/data/astronaut.png").read_bytes())[:nbytes], np.uint8)
    res = {}
    for codec in pipeline.CODECS:
        try:
            packed = pipeline.compress(data, codec)
        except ImportError as err:  # a machine without the pipelines extra: say so, go on
            res[codec] = {"skipped": str(err)}
            continue
        tc = timed(lambda: pipeline.compress(data, codec), repeat)
        td = timed(lambda: pipeline.decompress(packed, codec), repeat)
        res[codec] = {"compress_MBps": len(data) / tc / 1e6, "decompress_MBps": len(data) / td / 1e6,
                      "ratio": len(data) / len(packed)}
    return res


def machine() -> dict:
    info = {"node": platform.node(), "cpu": platform.processor() or platform.machine(),
            "cores": os.cpu_count(), "python": platform.python_version()}
    try:
        import cupy
        info["gpu"] = cupy.cuda.runtime.getDeviceProperties(0)["name"].decode()
    except Exception as err:  # noqa: BLE001 - no CuPy or no GPU: the benchmark still runs on the CPU
        info["gpu"] = f"none ({type(err).__name__})"
    return info


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mib", type=int, default=64, help="host and c data size, MiB")
    parser.add_argument("--gpu-mib", type=int, default=1024, help="cuda data size, MiB")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--devices", default=None, help="kernel backends (default: c, cuda if present)")
    parser.add_argument("--out", default="crypto.json")
    args = parser.parse_args()
    have = backends.available()
    devices = args.devices.split(",") if args.devices else [d for d in ("c", "cuda") if d in have]
    nbytes, gpu_bytes = args.mib << 20, args.gpu_mib << 20
    result = {"machine": machine(), "devices": devices, "mib": args.mib, "gpu_mib": args.gpu_mib,
              "issue_baselines": BASELINES, "h200_goals": GOALS_H200,
              "ciphers": ciphers(nbytes, gpu_bytes, devices, args.repeat),
              "hashes": hashes(nbytes, gpu_bytes, devices, args.repeat),
              "codecs": codecs(nbytes, args.repeat)}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
