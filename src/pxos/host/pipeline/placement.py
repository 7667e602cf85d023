"""Where ENCRYPT, DECRYPT and HASH run when the program is not pinned (``--device auto``):
the CPU library, or a pxos kernel on a backend, by the planner's cost model.

- The CPU library's time is ``bytes ÷ its rate``, the rate measured once per process on
  4 MiB (best of three): ``cryptography`` for the ciphers, ``hashlib`` for SHA-256.
- A kernel's time is the planner's prediction for its launch (``planner/call.place_call``:
  the roofline of the kernel's IR on the calibrated device, with the copies of the data
  from the host and back over PCIe), from the machine's stored calibration. Without one,
  no kernel is weighed (calibrating takes seconds; ``pxos calibrate`` does it).

The fastest wins; the :class:`~pxos.planner.decision.Decision` says why, and on a machine
whose CPU library beats the copies alone it says so ("data on the host stays on the
host"). COMPRESS, DECOMPRESS and VALIDATE run only on the host (no kernels).
"""

from __future__ import annotations

import hashlib
import math
import time

import numpy as np

from pxos.backends.base import HOST
from pxos.errors import PxBackendError
from pxos.extras import installed
from pxos.planner.decision import Decision
from pxos.planner.model import Estimate
from pxos.planner.reason import seconds

_SAMPLE = 4 << 20
_rates: dict[str, float] = {}


def host_rate(op: str) -> float:
    """Bytes/s of the CPU library for ``op`` (a cipher name or ``sha256``), measured once
    per process (best of three passes over 4 MiB)."""
    if op not in _rates:
        from pxos.host.pipeline.host_ciphers import host_encrypt

        data = np.zeros(_SAMPLE, np.uint8)
        nonce = bytes(16 if op == "aes256ctr" else 12)
        work = ((lambda: hashlib.sha256(data).digest()) if op == "sha256" else
                (lambda: host_encrypt(data, op, bytes(32), nonce)))
        best = float("inf")
        for _ in range(3):
            t = time.perf_counter()
            work()
            best = min(best, time.perf_counter() - t)
        _rates[op] = _SAMPLE / max(best, 1e-9)
    return _rates[op]


def _kernel_call(op: str, nbytes: int):
    """(kernel IR, stand-in arguments, threads) of the kernel that does ``op`` on
    ``nbytes`` bytes."""
    from pxos.host.pipeline.aes_kernel import aes256_ctr_blocks
    from pxos.host.pipeline.chacha_kernel import chacha20_blocks
    from pxos.host.pipeline.sha256_kernel import sha256_padded_rows
    from pxos.planner.dryrun import stand_in

    words = stand_in((max(16, -(-nbytes // 64) * 16),), np.uint32)
    small = stand_in((256,), np.uint32)
    if op == "chacha20":
        args = (words, words, small[:8], small[:3], np.uint32(0))
        return chacha20_blocks.ir(*args, threads=(len(words) // 16,)), args, (len(words) // 16,)
    if op == "sha256":  # one message: one thread walks every block
        rows = stand_in((1, len(words)), np.uint32)
        args = (rows, stand_in((1, 8), np.uint32), small, small[:8])
        return sha256_padded_rows.ir(*args, threads=(1,)), args, (1,)
    args = (words, words, small, small, small[:60]) + (np.uint32(0),) * 4 + (0,)
    return aes256_ctr_blocks.ir(*args, threads=(len(words) // 4,)), args, (len(words) // 4,)


def place(op: str, nbytes: int, devices: list[str], line: int, text: str) -> Decision:
    """The decision for ``op`` (a cipher name or ``sha256``) on ``nbytes`` bytes that are on
    the host, among the CPU library and the kernel ``devices`` present."""
    from pxos.planner.calibration import machine as stored_machine

    # without the pipelines extra the host has no cipher library: a kernel that can run
    # wins; else the host is chosen, and its use says what to install
    rate = host_rate(op) if op == "sha256" or installed("cryptography") else 0.0
    host_s = nbytes / rate if rate else math.inf
    host = Estimate(HOST, host_s, work_s=host_s, bound="compute")
    estimates, copies = {HOST: host}, {}
    try:
        machine = stored_machine(auto=False)
    except PxBackendError:
        machine = None
    candidates = [d for d in devices if machine is not None and d in machine.present()]
    if candidates:
        from pxos.planner.call import place_call

        kernel, args, threads = _kernel_call(op, nbytes)
        kd = place_call(kernel, args, threads, [HOST if hasattr(a, "shape") else None
                                                 for a in args], machine, candidates,
                        split=False)
        estimates.update(kd.estimates)
        copies = {d: e.copies_s for d, e in kd.estimates.items()}
    best = min(estimates, key=lambda d: estimates[d].seconds)
    predicted = dict(sorted(((d, e.seconds) for d, e in estimates.items()),
                            key=lambda kv: kv[1]))
    gpus = [d for d in candidates if machine.is_gpu(d)]
    return Decision(line, text, best, predicted, estimates,
                    _reason(op, best, estimates, copies, rate, machine is not None, devices,
                            gpus),
                    features={"elements": nbytes, "bytes": nbytes})


def _reason(op: str, best: str, estimates: dict, copies: dict, rate: float,
            calibrated: bool, devices: list[str], gpus: list[str]) -> str:
    lib = "hashlib" if op == "sha256" else "cryptography"
    mine = f"{lib} at {rate / 1e9:.2f} GB/s" if rate else \
        f"{lib} is not installed (pip install 'pxos[pipelines]')"
    if best != HOST:
        return (f"{best}: the pxos kernel, predicted {seconds(estimates[best].seconds)} with "
                f"its copies, vs {mine} ({seconds(estimates[HOST].seconds)})")
    if not calibrated and devices:
        return (f"host: {mine}; this machine is not calibrated, so the kernels on "
                f"{', '.join(devices)} were not weighed (`pxos calibrate`)")
    beaten = [d for d, c in copies.items() if d in gpus and c >= estimates[HOST].seconds]
    if beaten:
        return (f"host: {mine}; data on the host stays on the host: this CPU beats PCIe "
                f"(the copies to {', '.join(beaten)} alone would take "
                f"{seconds(min(copies[d] for d in beaten))})")
    rivals = " · ".join(f"{d} {seconds(e.seconds)}" for d, e in estimates.items() if d != HOST)
    return f"host: {mine} ({seconds(estimates[HOST].seconds)})" + (
        f" beats the kernels ({rivals})" if rivals else "")
