"""Where COMPRESS runs when the program is not pinned (``--device auto``): the CPU library
(``lz4``, ``zstandard``, ``zlib``) or nvCOMP on ``cuda``, by predicted time.

- The CPU's time is ``bytes ÷ rate``, the rate measured on the data itself (its first
  MiB, best of two passes): compression speed depends on the data.
- nvCOMP's time is the copies over PCIe (the data up, the compressed bytes down at the
  ratio the CPU measured; the machine's calibrated pageable rates) plus ``bytes ÷`` its
  rate, measured once per process on the first data it is asked about (up to 64 MiB).
  Where the copies alone take longer than the CPU, the GPU is not even started: data on
  the host stays on the host, and ``pxos explain`` says so.

Only ``lz4`` and ``zstd`` at their default level go to the GPU (``nvcomp_codec``): the
format must not depend on the placement, and nvCOMP's ``deflate`` is gzip members.
"""

from __future__ import annotations

import time

import numpy as np

from pxos.backends.base import HOST
from pxos.errors import PxBackendError
from pxos.planner.decision import Decision
from pxos.planner.model import Estimate
from pxos.planner.reason import seconds

_SAMPLE, _GPU_SAMPLE = 1 << 20, 64 << 20
_gpu_rates: dict[str, float] = {}
LIBRARY = {"lz4": "lz4", "zstd": "zstandard", "deflate": "zlib"}


def _best_of(work, passes: int) -> float:
    best = float("inf")
    for _ in range(passes):
        t = time.perf_counter()
        work()
        best = min(best, time.perf_counter() - t)
    return max(best, 1e-9)


def host_rate(data: np.ndarray, codec: str, level: int | None) -> tuple[float, float]:
    """(bytes/s, compressed ÷ original) of the CPU library on the first MiB of ``data``."""
    from pxos.host.pipeline.codecs import compress

    sample = data[:_SAMPLE]
    ratio = len(compress(sample, codec, level)) / max(1, len(sample))
    return len(sample) / _best_of(lambda: compress(sample, codec, level), 2), ratio


def gpu_rate(data: np.ndarray, codec: str) -> float:
    """nvCOMP's bytes/s for ``codec`` on the current CUDA device (uploaded data, kernel
    and packing only), measured once per process on up to 64 MiB of ``data``."""
    if codec not in _gpu_rates:
        import cupy as cp

        from pxos.host.pipeline.nvcomp_codec import gpu_compress

        sample = cp.asarray(data[:_GPU_SAMPLE])
        gpu_compress(sample, codec)  # nvCOMP's set-up and the kernel's compile
        _gpu_rates[codec] = len(sample) / _best_of(lambda: gpu_compress(sample, codec), 2)
    return _gpu_rates[codec]


def place_codec(data: np.ndarray, codec: str, level: int | None, gpu: bool, line: int,
                text: str, nbytes: int | None = None) -> Decision:
    """The decision for COMPRESS of ``data`` (host memory) with ``codec``: ``host``, or
    ``cuda`` when ``gpu`` (nvCOMP present) and predicted faster with its copies. For a
    stream, ``data`` is a sample (the file's first bytes: the rates are measured on it)
    and ``nbytes`` the size the times are predicted for (default: ``len(data)``)."""
    from pxos.host.pipeline.codecs import LEVELS

    n = len(data) if nbytes is None else nbytes
    rate, ratio = host_rate(data, codec, level)
    estimates = {HOST: Estimate(HOST, n / rate, work_s=n / rate, bound="compute")}
    lib = f"{LIBRARY[codec]} at {rate / 1e9:.2f} GB/s"
    why = None
    if not gpu:
        why = f"host: {lib}; nvCOMP is not installed here (the pipelines-gpu extra)"
    elif codec == "deflate":
        why = (f"host: {lib}; nvCOMP's deflate is gzip members, not the zlib container "
               "(`--device cuda` writes them)")
    elif level is not None and level != LEVELS[codec][1]:
        why = f"host: {lib}; nvCOMP has no {codec} levels"
    else:
        copies = _copies_s(n, ratio)
        if copies is None:
            why = f"host: {lib}; this machine is not calibrated, so nvCOMP was not weighed"
        elif copies >= n / rate:
            why = (f"host: {lib}; data on the host stays on the host: this CPU beats PCIe "
                   f"(the copies to cuda alone would take {seconds(copies)})")
        else:
            work = n / gpu_rate(data, codec)
            estimates["cuda"] = Estimate("cuda", copies + work, copies_s=copies,
                                         work_s=work, bound="compute")
    best = min(estimates, key=lambda d: estimates[d].seconds)
    if why is None:
        nv = estimates["cuda"]
        why = (f"{best}: nvCOMP {codec} predicted {seconds(nv.seconds)} with its copies "
               f"({seconds(nv.copies_s)}), vs {lib} ({seconds(estimates[HOST].seconds)})")
    predicted = dict(sorted(((d, e.seconds) for d, e in estimates.items()),
                            key=lambda kv: kv[1]))
    return Decision(line, text, best, predicted, estimates, why,
                    features={"elements": n, "bytes": n, "ratio": ratio})


def _copies_s(nbytes: int, ratio: float) -> float | None:
    """Seconds to upload ``nbytes`` and download ``nbytes * ratio`` (pageable), from the
    stored calibration; None where there is none for cuda."""
    from pxos.planner.calibration import machine as stored_machine

    try:
        fig = stored_machine(auto=False).devices.get("cuda")
    except PxBackendError:
        return None
    if fig is None or not fig.upload or not fig.download:
        return None
    return nbytes / fig.upload + nbytes * ratio / fig.download
