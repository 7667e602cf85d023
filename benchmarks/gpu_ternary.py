"""The GPU cases of benchmarks/ternary.py (imported by it with ``--gpu``; needs CuPy).

Every array lives on the GPU (CuPy) before timing; times are medians of CUDA-synchronised
repeats. Bandwidth figures count the bytes a kernel must read and write once.
"""

from __future__ import annotations


import numpy as np

import pxos.ternary as T
from pxos.lib.ternary import kernels as K
from pxos.lib.ternary import nn_kernels as NK


def _timer(cp, repeat):
    """A function timing its argument by CUDA events (``benchmarks/gpu.event_time``)."""
    from gpu import event_time  # benchmarks/ is on the path: ternary.py runs from it

    return lambda fn: event_time(cp, fn, repeat)


# vendors' peak memory bandwidth (bytes/s), where the driver does not report the clock
PUBLISHED_PEAK = {"H200": 4.8e12, "H100": 3.35e12, "A100": 2.0e12}


def peak_bandwidth(cp, name: str) -> tuple[float, str]:
    """The device's peak memory bandwidth in bytes/s, and where the figure comes from:
    NVIDIA's published figure for the part, else memory clock × bus width × 2."""
    for part, peak in PUBLISHED_PEAK.items():
        if part in name:
            return peak, f"published figure for {part}"
    attrs = cp.cuda.Device().attributes
    return (2 * attrs.get("MemoryClockRate", 0) * 1e3 * attrs.get("GlobalMemoryBusWidth", 0)
            / 8, "memory clock × bus width × 2")


def numbers(cp, timed, anchors, n) -> dict:
    rng = np.random.default_rng(1)
    x, y = rng.integers(-524_287, 524_288, (2, n))
    a, b = cp.asarray(T.encode(x, 13, "c")), cp.asarray(T.encode(y, 13, "c"))
    s, m = cp.empty((n, 14), cp.int8), cp.empty((n, 26), cp.int8)
    c = cp.empty(n, cp.int8)
    per = {"add": timed(lambda: K.add_rows(a, b, 1, s, device="cuda")) / n,
           "mul": timed(lambda: K.mul_rows(a, b, m, device="cuda")) / n,
           "compare": timed(lambda: K.compare_rows(a, b, c, device="cuda")) / n}
    ok = (np.array_equal(s.get(), T.add(T.encode(x, 13), T.encode(y, 13), "c"))
          and np.array_equal(m.get(), T.mul(T.encode(x, 13), T.encode(y, 13), "c")))
    ratios = {f"{name} / pxos": anchors[name] / per[name.rsplit(" ", 1)[1]] for name in anchors
              if name.rsplit(" ", 1)[1] in per}
    return {"s_per_number": per, "ratios": ratios, "equal_to_c": bool(ok)}


def conversion(cp, timed, n: int, peak: float) -> dict:
    x = cp.asarray(np.random.default_rng(4).integers(-2**63, 2**63 - 1, n, dtype=np.int64))
    t = cp.empty((n, 41), cp.int8)
    rest = cp.empty(n, cp.int64)
    back, overflow = cp.empty(n, cp.int64), cp.empty(n, cp.int8)
    enc = timed(lambda: K.encode_rows(x, t, rest, device="cuda"))
    dec = timed(lambda: K.decode_rows(t, back, overflow, device="cuda"))
    exact = bool((back == x).all()) and not bool(rest.any()) and not bool(overflow.any())
    out = {"numbers": n, "trits": 41, "exact": exact}
    for name, sec, moved in (("encode", enc, n * (8 + 41 + 8)), ("decode", dec, n * (41 + 8 + 1))):
        out[name] = {"s": sec, "GBps": moved / sec / 1e9, "share_of_peak": moved / sec / peak}
    return out


def matvec(cp, timed, size: int) -> dict:
    rng = np.random.default_rng(3)
    w = rng.normal(size=(size, size)).astype(np.float32)
    x = rng.normal(size=size).astype(np.float32)
    tw = T.nn.absmean(w)
    p, scale, xd = cp.asarray(tw.packed), cp.asarray(tw.scale), cp.asarray(x)
    table, y = cp.empty((size // 4, 256), cp.float32), cp.empty(size, cp.float32)

    def packed():
        NK.lut_kernel(xd, table, device="cuda")
        NK.matvec_block_kernel(p, table, scale, y, device="cuda", threads=size * NK.BLOCK)

    w16, x16 = cp.asarray(w.astype(np.float16)), cp.asarray(x.astype(np.float16))
    t_packed = timed(packed)
    t_fp16 = timed(lambda: w16 @ x16)
    err = float(np.abs(y.get() - tw.dense() @ x).max())
    moved = tw.packed.nbytes + size * 8 + size // 4 * 256 * 4 * 2
    return {"size": size, "packed_s": t_packed, "cupy_fp16_gemv_s": t_fp16,
            "ratio_fp16_over_packed": t_fp16 / t_packed, "packed_GBps": moved / t_packed / 1e9,
            "fp16_GBps": w16.nbytes / t_fp16 / 1e9, "max_abs_error": err}


def qutrits(cp, n: int) -> dict:
    import time

    def circuit(device):
        s = T.qutrit.Qutrits(n, device)
        for q in range(n):
            s.f3(q)
        for q in range(n - 1):
            s.csum(q, q + 1)
        for q in range(n):
            s.z(q)
        return s

    circuit("cuda")
    cp.cuda.Device().synchronize()
    t0 = time.perf_counter()
    gpu = circuit("cuda")
    cp.cuda.Device().synchronize()
    sec = time.perf_counter() - t0
    ref = circuit("c").amplitudes()
    got = gpu.amplitudes()
    return {"qutrits": n, "amplitudes": 3**n, "gates": 3 * n - 1, "s": sec,
            "norm": float(np.vdot(got, got).real), "max_diff_vs_c": float(np.abs(got - ref).max())}


def gpu_cases(anchors: dict, quick: bool, repeat: int) -> dict:
    """All GPU cases; a dict for the JSON output."""
    import cupy as cp

    timed = _timer(cp, repeat)
    name = cp.cuda.runtime.getDeviceProperties(0)["name"].decode()
    peak, source = peak_bandwidth(cp, name)
    return {"device": name, "peak_GBps": peak / 1e9, "peak_source": source,
            "numbers": numbers(cp, timed, anchors, 10**4 if quick else 10**6),
            # 5·10⁷ numbers × 41 trits: one kernel call takes at most 2³¹−1 elements
            "conversion": conversion(cp, timed, 10**5 if quick else 5 * 10**7, peak),
            "matvec": [matvec(cp, timed, s) for s in ((512,) if quick else (4096, 8192))],
            "qutrits": qutrits(cp, 6 if quick else 14)}
