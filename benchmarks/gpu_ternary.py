"""The GPU cases of benchmarks/ternary.py (imported by it with ``--gpu``; needs CuPy).

Every array lives on the GPU (CuPy) before timing. A kernel's time is measured with the
GPU kept busy: a spin kernel runs first, the calls are queued behind it, and CUDA events
around the calls give their GPU time alone (``queued_time``), not the host's cost of
launching them, which would otherwise dominate kernels of a few microseconds. One call's
latency, host included (``call_s``), is reported beside. Bandwidth figures count the bytes
a kernel must read and write once.
"""

from __future__ import annotations

import statistics
import time
import traceback

import numpy as np

import pxos
import pxos.ternary as T
from pxos import Array, i8, i64, u32
from pxos.lib.ternary import columns as C
from pxos.lib.ternary import kernels as K
from pxos.lib.ternary import nn_kernels as NK
from pxos.lib.ternary import words as W
from pxos.lib.ternary import words_rows as WR
from pxos.lib.ternary import words_wide as WW

# vendors' peak memory bandwidth (bytes/s), where the driver does not report the clock
PUBLISHED_PEAK = {"H200": 4.8e12, "H100": 3.35e12, "A100": 2.0e12}

SPIN = r"""extern "C" __global__ void spin(long long cycles) {
    long long t0 = clock64();
    while (clock64() - t0 < cycles) { }
}"""


def queued_time(cp, fn, repeat: int, calls: int = 10) -> float:
    """Median GPU seconds per call of ``fn``: ``calls`` calls queued behind a spin kernel
    that lasts twice as long as the host takes to queue them, timed by CUDA events."""
    spin = cp.RawKernel(SPIN, "spin")
    dev = cp.cuda.Device()
    fn()
    dev.synchronize()
    t0 = time.perf_counter()
    for _ in range(calls):
        fn()
    host = time.perf_counter() - t0
    dev.synchronize()
    hz = dev.attributes.get("ClockRate", 2_000_000) * 1e3   # kHz: the SM clock's maximum
    cycles = np.int64(max(2 * host, 1e-3) * hz)
    times = []
    for _ in range(repeat):
        spin((1,), (1,), (cycles,))
        start, stop = cp.cuda.Event(), cp.cuda.Event()
        start.record()
        for _ in range(calls):
            fn()
        stop.record()
        stop.synchronize()
        times.append(cp.cuda.get_elapsed_time(start, stop) / 1e3 / calls)
    return statistics.median(times)


def call_time(cp, fn, repeat: int) -> float:
    """Median seconds of one call, host and GPU, from its start to the GPU's finish."""
    fn()
    cp.cuda.Device().synchronize()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        cp.cuda.Device().synchronize()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def peak_bandwidth(cp, name: str) -> tuple[float, str]:
    """The device's peak memory bandwidth in bytes/s, and where the figure comes from:
    NVIDIA's published figure for the part, else memory clock × bus width × 2."""
    for part, peak in PUBLISHED_PEAK.items():
        if part in name:
            return peak, f"published figure for {part}"
    attrs = cp.cuda.Device().attributes
    return (2 * attrs.get("MemoryClockRate", 0) * 1e3 * attrs.get("GlobalMemoryBusWidth", 0)
            / 8, "memory clock × bus width × 2")


@pxos.kernel
def store_rows(x: Array[i64, 1], t: Array[u32, 2]):
    """encode's memory traffic without its arithmetic: 4 int64 in, 41 words out a thread
    (the layout's ceiling for encode)."""
    for i in pxos.parallel(t.shape[1]):
        w = u32(x[4 * i]) ^ u32(x[4 * i + 1]) ^ u32(x[4 * i + 2]) ^ u32(x[4 * i + 3])
        for k in range(41):
            t[k, i] = w + u32(k)


@pxos.kernel
def load_rows(t: Array[u32, 2], x: Array[i64, 1], overflow: Array[i8, 1]):
    """decode's memory traffic without its arithmetic: 41 words in, 4 int64 and 4 flags
    out a thread (the layout's ceiling for decode)."""
    for i in pxos.parallel(t.shape[1]):
        w = u32(0)
        for k in range(41):
            w = w ^ t[k, i]
        for q in range(4):
            x[4 * i + q] = i64(w) + q
            overflow[4 * i + q] = i8(w == u32(7))


def copy_rates(cp, nbytes: int, repeat: int) -> dict:
    """Bytes/s of device-to-device copies of ``nbytes`` (read and write both counted):
    CuPy's element-wise copy kernel and the driver's ``cudaMemcpyAsync``."""
    src = cp.ones(nbytes // 8, cp.int64)
    dst = cp.empty_like(src)

    def memcpy():
        cp.cuda.runtime.memcpyAsync(dst.data.ptr, src.data.ptr, src.nbytes,
                                    cp.cuda.runtime.memcpyDeviceToDevice,
                                    cp.cuda.get_current_stream().ptr)

    return {name: 2 * src.nbytes / queued_time(cp, fn, repeat, 4) for name, fn in (
        ("cupy_copy", lambda: dst.__setitem__(Ellipsis, src)), ("memcpy", memcpy))}


def numbers(cp, repeat, anchors, n) -> dict:
    """Seconds per number on ``n``-number device arrays (13-trit operands): the trits
    kernels (``(n, 13)``, one thread per number) and the planes kernels for devices
    (``(13, n)``, coalesced), each checked against the ``c`` backend."""
    rng = np.random.default_rng(1)
    x, y = rng.integers(-524_287, 524_288, (2, n))
    ta, tb = T.encode(x, 13, "c"), T.encode(y, 13, "c")
    want_add, want_mul = T.add(ta, tb, "c"), T.mul(ta, tb, "c")
    a, b = cp.asarray(ta), cp.asarray(tb)
    pa, pb = cp.asarray(ta.T.copy()), cp.asarray(tb.T.copy())
    s, m, c = cp.empty((n, 14), cp.int8), cp.empty((n, 26), cp.int8), cp.empty(n, cp.int8)
    ps, pm = cp.empty((14, n), cp.int8), cp.empty((26, n), cp.int8)
    cases = {"trits": {"add": lambda: K.add_rows(a, b, 1, s, device="cuda"),
                       "mul": lambda: K.mul_rows(a, b, m, device="cuda"),
                       "compare": lambda: K.compare_rows(a, b, c, device="cuda")},
             "planes": {"add": lambda: C.add_columns(pa, pb, 1, ps, device="cuda"),
                        "mul": lambda: C.mul_columns(pa, pb, pm, device="cuda"),
                        "compare": lambda: C.compare_columns(pa, pb, c, device="cuda")}}
    out = {}
    for layout, ops in cases.items():
        per = {op: queued_time(cp, f, repeat) / n for op, f in ops.items()}
        out[layout] = {"s_per_number": per, "ratios": {
            f"{name} / pxos": anchors[name] / per[name.rsplit(" ", 1)[1]] for name in anchors
            if name.rsplit(" ", 1)[1] in per}}
    out["trits"]["equal_to_c"] = bool(np.array_equal(s.get(), want_add)
                                      and np.array_equal(m.get(), want_mul))
    out["planes"]["equal_to_c"] = bool(np.array_equal(ps.get().T, want_add)
                                       and np.array_equal(pm.get().T, want_mul))
    return out


def conversion(cp, repeat, n: int, peak: float) -> dict:
    """Encode and decode of ``n`` random int64 (the whole range: 41 trits), against a
    device-to-device copy in the same run (the practical roofline). Each direction's
    headline is its fastest kernel: ``encode``, ``words_rows.encode_rows41`` (what
    ``T.encode`` runs on ``cuda``, in the API's own ``(n, 41)`` layout, one launch), and
    ``decode``, ``words.decode_words`` in the planes layout (41, n) (what ``planes.decode``
    runs on ``cuda``: ``words.DECODE_PER_SM`` blocks an SM; with a thread a word as a
    peer). Beside them: ``decode_rows41`` (what ``T.decode`` runs on ``cuda``, (n, 41), one
    launch); ``encode_planes``, ``words_wide.encode_wide`` (what ``planes.encode`` runs on
    ``cuda``: 8 numbers a thread, one launch) with ``words.encode_words`` (4 numbers a
    thread) as its peer; the planes kernels in two halves where one kernel call would take
    more than 2³¹−1 trits; as peers the one-number-a-thread
    ``encode_columns``/``decode_columns``, and as ceilings of the planes layout
    ``store_rows``/``load_rows`` (the same loads and stores, no arithmetic).

    Bytes are counted as the API moves them: encode reads 8 bytes (an int64) and writes
    41 (int8 trits) a number; decode reads 41 and writes 8 (the overflow flag it writes
    besides, 1 byte a number, is not counted; ``encode_columns`` writes an 8-byte rest
    besides, not counted either). Shares: of the copy's rate and of the published peak."""
    half = n // 2
    rng = np.random.default_rng(4)
    xs = [cp.asarray(rng.integers(-2**63, 2**63 - 1, half, dtype=np.int64)) for _ in range(2)]
    ts, tc = ([cp.empty((41, half), cp.int8) for _ in range(2)] for _ in range(2))
    backs, backc = ([cp.empty(half, cp.int64) for _ in range(2)] for _ in range(2))
    flags, flagc = ([cp.empty(half, cp.int8) for _ in range(2)] for _ in range(2))
    rests = [cp.empty(half, cp.int64) for _ in range(2)]
    threads, stride = W.launch_threads(half // 4)
    loops = W.decode_launch(half // 4, "cuda")

    xw, tw = cp.concatenate(xs), cp.empty((41, 2 * half), cp.int8)
    wide = W.launch_threads(2 * half // WW.WIDE)
    rows, rows_launch = cp.empty((2 * half, 41), cp.int8), WR.rows_launch(2 * half)
    back_rows, flag_rows = cp.empty(2 * half, cp.int64), cp.ones(2 * half, cp.int8)
    decode_launch = WR.rows_launch(2 * half, block=WR.DECODE_BLOCK)

    def encode():                          # what T.encode runs on cuda: (n, 41), one launch
        WR.encode_rows41(xw, rows.reshape(-1).view(cp.uint64), rows_launch[1],
                         device="cuda", threads=rows_launch[0])

    def encode_planes():                   # what planes.encode runs on cuda: one launch
        WW.encode_wide(xw, tw.view(cp.uint64), wide[1], device="cuda", threads=wide[0])

    def encode_words():
        for x, t in zip(xs, ts):
            W.encode_words(x, t.view(cp.uint32), stride, device="cuda", threads=threads)

    def decode_rows41():                   # what T.decode runs on cuda: (n, 41), one launch
        WR.decode_rows41(rows.reshape(-1).view(cp.uint64), back_rows, flag_rows,
                         decode_launch[1], device="cuda", threads=decode_launch[0])

    def decoder(launch):
        def decode():
            for t, v, f in zip(ts, backs, flags):
                W.decode_words(t.view(cp.uint32), v, f, launch[1], device="cuda",
                               threads=launch[0])
        return decode

    cases = {"encode": encode, "encode_planes": encode_planes, "encode_words": encode_words,
             "decode": decoder(loops), "decode_rows41": decode_rows41,
             "decode (a thread a word)": decoder((threads, stride)),
             "encode_columns": lambda: [C.encode_columns(x, t, r, device="cuda")
                                        for x, t, r in zip(xs, tc, rests)],
             "decode_columns": lambda: [C.decode_columns(t, v, f, device="cuda")
                                        for t, v, f in zip(tc, backc, flagc)],
             "store_rows": lambda: [store_rows(x, t.view(cp.uint32), device="cuda")
                                    for x, t in zip(xs, tc)],
             "load_rows": lambda: [load_rows(t.view(cp.uint32), v, f, device="cuda")
                                   for t, v, f in zip(tc, backc, flagc)]}
    copies = copy_rates(cp, min(2 * 10**9, 64 * n), repeat)   # 2 GB: far past the L2
    copy = max(copies.values())
    times = {name: queued_time(cp, fn, repeat, 2) for name, fn in cases.items()}
    for name in ("encode", "encode_planes", "encode_words", "decode", "decode_rows41",
                 "encode_columns", "decode_columns"):
        cases[name]()                      # the ceilings overwrote tc, backc: redo
    exact = all(bool((v == x).all()) and not bool(f.any()) and bool((w == x).all())
                and not bool(g.any()) and not bool(r.any()) and bool((t == u).all())
                for x, v, f, w, g, r, t, u in zip(xs, backs, flags, backc, flagc, rests,
                                                  ts, tc))
    exact = exact and bool((back_rows == xw).all()) and not bool(flag_rows.any())
    exact = exact and all(bool((tw[:, h * half:(h + 1) * half] == t).all())
                          and bool((rows[h * half:(h + 1) * half].T == t).all())
                          for h, t in enumerate(ts))
    first = T.decode(cp.asnumpy(ts[0][:, :1000]).T.copy(), "c")
    exact = exact and bool((first == cp.asnumpy(xs[0][:1000])).all())   # against c
    out = {"numbers": 2 * half, "trits": 41, "exact": exact,
           "layout": "encode, decode_rows41: (n, 41), what T.encode returns and T.decode "
                     "takes; the others planes (41, n), what planes.encode returns",
           "copy_GBps": {k: v / 1e9 for k, v in copies.items()}}
    for name, sec in times.items():
        rate = 2 * half * 49 / sec
        out[name] = {"s": sec, "bytes_per_number": 49, "GBps": rate / 1e9,
                     "share_of_copy": rate / copy, "share_of_peak": rate / peak}
    out["encode_speedup_over_columns"] = times["encode_columns"] / times["encode"]
    out["decode_speedup_over_columns"] = times["decode_columns"] / times["decode"]
    return out


def matvec(cp, repeat, size: int) -> dict:
    """The packed mat-vec kernels against CuPy's fp16 ``W @ x`` (cuBLAS gemv), all on
    device arrays, each timed as cuBLAS is (CUDA events, same repeats): ``warp_kernel``
    (what ``nn.matvec`` runs on a GPU: 4 rows a warp, x in shared memory) and, as its
    peer, the earlier ``block_kernel`` (a block of 128 threads a row). GB/s = the bytes
    each must read (weights, x, scales) and write (y) ÷ time."""
    rng = np.random.default_rng(3)
    w = rng.normal(size=(size, size)).astype(np.float32)
    x = rng.normal(size=size).astype(np.float32)
    tw = T.nn.absmean(w)
    p, scale = cp.asarray(tw.packed), cp.asarray(tw.scale)
    xt = cp.asarray(np.ascontiguousarray(x.reshape(-1, 16).T))
    y, y_block = cp.empty(size, cp.float32), cp.empty(size, cp.float32)

    def packed():
        NK.warp_kernel(p, xt, scale, y, device="cuda",
                       threads=NK.warp_blocks(size) * NK.WARP_BLOCK)

    def block():
        NK.block_kernel(p, xt, scale, y_block, device="cuda", threads=size * NK.BLOCK)

    w16, x16 = cp.asarray(w.astype(np.float16)), cp.asarray(x.astype(np.float16))
    t_packed, t_block = queued_time(cp, packed, repeat), queued_time(cp, block, repeat)
    t_fp16 = queued_time(cp, lambda: w16 @ x16, repeat)
    dense = tw.dense() @ x
    err = float(np.abs(y.get() - dense).max())
    moved = tw.packed.nbytes + size * 4 * 2 + tw.scale.nbytes
    return {"size": size, "packed_s": t_packed, "block_kernel_s": t_block,
            "cupy_fp16_gemv_s": t_fp16, "ratio_fp16_over_packed": t_fp16 / t_packed,
            "ratio_fp16_over_block_kernel": t_fp16 / t_block,
            "packed_GBps": moved / t_packed / 1e9,
            "fp16_GBps": (w16.nbytes + size * 4) / t_fp16 / 1e9,
            "packed_call_s": call_time(cp, packed, repeat),
            "fp16_call_s": call_time(cp, lambda: w16 @ x16, repeat), "max_abs_error": err,
            "block_kernel_max_abs_error": float(np.abs(y_block.get() - dense).max())}


def qutrits(cp, n: int) -> dict:
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

    name = cp.cuda.runtime.getDeviceProperties(0)["name"].decode()
    peak, source = peak_bandwidth(cp, name)
    out = {"device": name, "peak_GBps": peak / 1e9, "peak_source": source}
    steps = (("numbers", lambda: numbers(cp, repeat, anchors, 10**4 if quick else 10**6)),
             ("conversion", lambda: conversion(cp, repeat, 10**5 if quick else 10**8, peak)),
             ("matvec", lambda: [matvec(cp, repeat, s) for s in
                                 ((512,) if quick else (4096, 8192))]),
             ("qutrits", lambda: qutrits(cp, 6 if quick else 14)))
    for key, step in steps:          # one failing case leaves the others' figures
        try:
            out[key] = step()
        except Exception as err:     # noqa: BLE001 (reported in full, then the next case)
            traceback.print_exc()
            out[key] = {"error": f"{type(err).__name__}: {err}"}
        print(key, out[key], flush=True)
    return out
