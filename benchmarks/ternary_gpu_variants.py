"""The ternary GPU kernels and their candidates side by side, on one GPU, in one run:
int64 ⇄ planes conversion against a CuPy device-to-device copy (the practical memory
roofline) and the packed mat-vec against CuPy's fp16 ``W @ x`` (cuBLAS), every kernel
timed as :mod:`gpu_ternary` times them (CUDA events around calls queued behind a spin
kernel). Needs CuPy.

    python3 benchmarks/ternary_gpu_variants.py [--numbers 100000000] [--repeat 5]
                                               [--out FILE.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import traceback
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "benchmarks"))

import pxos.ternary as T  # noqa: E402
from gpu_ternary import copy_rates, load_rows, peak_bandwidth, queued_time, store_rows  # noqa: E402,E501
from pxos.lib.ternary import columns as C  # noqa: E402
from pxos.lib.ternary import nn_kernels as NK  # noqa: E402
from pxos.lib.ternary import nn_split as NS  # noqa: E402
from pxos.lib.ternary import words as W  # noqa: E402


def conversion(cp, n: int, repeat: int) -> dict:
    """Seconds and bytes/s of each encode and decode kernel on ``n`` random int64 (two
    halves: one call takes at most 2**31 − 1 trits), and whether each is exact."""
    half = n // 2
    rng = np.random.default_rng(4)
    xs = [cp.asarray(rng.integers(-2**63, 2**63 - 1, half, dtype=np.int64)) for _ in range(2)]
    ts = [cp.empty((41, half), cp.int8) for _ in range(2)]
    back = [cp.empty(half, cp.int64) for _ in range(2)]
    flag = [cp.empty(half, cp.int8) for _ in range(2)]
    ref = [cp.empty((41, half), cp.int8) for _ in range(2)]
    for x, r in zip(xs, ref):
        C.encode_words(x, r.view(cp.uint32), device="cuda")

    def encoder(kernel):
        return lambda: [kernel(x, t.view(cp.uint32), device="cuda") for x, t in zip(xs, ts)]

    def decoder(kernel):
        return lambda: [kernel(t.view(cp.uint32), v, f, device="cuda")
                        for t, v, f in zip(ref, back, flag)]

    sms = cp.cuda.Device().attributes["MultiProcessorCount"]

    def launched(kernel, per_sm):   # words.launch_threads: a thread a word, or per SM
        threads, stride = W.launch_threads(half // 4, per_sm, sms)
        return lambda *a, device: kernel(*a, stride, device=device, threads=threads)

    out = {}
    cases = [("encode_words", encoder(C.encode_words), 49),
             ("decode_words", decoder(C.decode_words), 50),
             ("store_rows (no arithmetic)", encoder(store_rows), 49),
             ("load_rows (no arithmetic)", decoder(load_rows), 50)]
    for per_sm in (0, 8):
        cases += [(f"encode_fixed per_sm={per_sm}", encoder(launched(W.encode_fixed, per_sm)),
                   49),
                  (f"decode_split per_sm={per_sm}", decoder(launched(W.decode_split, per_sm)),
                   50)]
    for per_sm in (0, 4, 8, 16):
        cases += [(f"encode_lanes per_sm={per_sm}", encoder(launched(W.encode_lanes, per_sm)),
                   49),
                  (f"decode_lanes per_sm={per_sm}", decoder(launched(W.decode_lanes, per_sm)),
                   50)]
    for name, fn, moved in cases:
        for t in ts + back:
            t.fill(0)
        sec = queued_time(cp, fn, repeat, 2)
        fn()
        if "rows" in name:
            exact = None
        elif name.startswith("encode"):
            exact = all(bool((t == r).all()) for t, r in zip(ts, ref))
        else:
            exact = all(bool((v == x).all()) and not bool(f.any())
                        for v, x, f in zip(back, xs, flag))
        out[name] = {"s": sec, "GBps": n * moved / sec / 1e9, "exact": exact}
    first = T.decode(cp.asnumpy(ref[0][:, :1000]).T.copy(), "c")
    out["reference_equal_to_c"] = bool((first == cp.asnumpy(xs[0][:1000])).all())
    return out


def matvec(cp, size: int, repeat: int) -> dict:
    """Seconds of each packed mat-vec kernel and of cuBLAS fp16 ``W @ x``; max errors."""
    rng = np.random.default_rng(3)
    w = rng.normal(size=(size, size)).astype(np.float32)
    x = rng.normal(size=size).astype(np.float32)
    tw = T.nn.absmean(w)
    p, scale = cp.asarray(tw.packed), cp.asarray(tw.scale)
    xt = cp.asarray(np.ascontiguousarray(x.reshape(-1, 16).T))
    y = cp.empty(size, cp.float32)
    w16, x16 = cp.asarray(w.astype(np.float16)), cp.asarray(x.astype(np.float16))
    dense = tw.dense() @ x
    cases = {"cublas_fp16": lambda: w16 @ x16,
             "warp_kernel": lambda: NK.warp_kernel(
                 p, xt, scale, y, device="cuda", threads=NK.warp_blocks(size) * NK.WARP_BLOCK),
             "block_kernel": lambda: NK.block_kernel(p, xt, scale, y, device="cuda",
                                                     threads=size * NK.BLOCK)}
    words = tw.packed.shape[1]
    xp = np.zeros(-(-words // 32) * 512, np.float32)
    xp[:size] = x
    xc = cp.asarray(np.ascontiguousarray(xp.reshape(-1, 32, 16).transpose(0, 2, 1)).ravel())
    flat = p.reshape(-1)
    for s in (1, 2, 4, 8):
        threads = NS.split_blocks(size, s) * NS.SPLIT_BLOCK
        cases[f"split_{s}"] = (lambda s=s, n=threads: NS.split_kernel(
            p, xt, scale, y, s, device="cuda", threads=n))
        cases[f"chunk_{s}"] = (lambda s=s, n=threads: NS.chunk_kernel(
            flat, words, xc, scale, y, s, device="cuda", threads=n))
    out = {}
    for name, fn in cases.items():
        y.fill(0)
        sec = queued_time(cp, fn, repeat)
        err = None if name == "cublas_fp16" else float(np.abs(y.get() - dense).max())
        out[name] = {"s": sec, "max_abs_error": err}
    fp16 = out["cublas_fp16"]["s"]
    for v in out.values():
        v["fp16_over_this"] = fp16 / v["s"]
    return out


def attempt(step) -> dict:
    """``step()``, or its error as a dict: one failing case leaves the others' figures."""
    try:
        return step()
    except Exception as err:     # noqa: BLE001 (printed in full, then the next case)
        traceback.print_exc()
        return {"error": f"{type(err).__name__}: {err}"}


def main() -> None:
    import cupy as cp

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--numbers", type=int, default=10**8)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    name = cp.cuda.runtime.getDeviceProperties(0)["name"].decode()
    peak, _ = peak_bandwidth(cp, name)
    copies = copy_rates(cp, 2 * 10**9, args.repeat)
    copy = max(copies.values())
    result = {"machine": {"device": name, "host": platform.node(), "cores": os.cpu_count(),
                          "load_average": os.getloadavg()},
              "peak_GBps": peak / 1e9, "copy_GBps": {k: v / 1e9 for k, v in copies.items()}}
    print("copy GB/s", result["copy_GBps"], "peak", peak / 1e9, flush=True)
    result["conversion"] = conv = attempt(lambda: conversion(cp, args.numbers, args.repeat))
    for k, v in conv.items():
        if isinstance(v, dict):
            v["share_of_copy"] = v["GBps"] * 1e9 / copy
            v["share_of_peak"] = v["GBps"] * 1e9 / peak
            print(f"{k:32s} {v['s'] * 1e3:8.3f} ms {v['GBps']:7.0f} GB/s "
                  f"copy {v['share_of_copy']:.3f} peak {v['share_of_peak']:.3f} "
                  f"exact {v['exact']}", flush=True)
        else:
            print(k, v, flush=True)
    result["matvec"] = {}
    for size in (4096, 8192):
        result["matvec"][size] = mv = attempt(lambda: matvec(cp, size, args.repeat))
        for k, v in mv.items():
            print(f"{size} {k:14s} {v['s'] * 1e6:8.2f} us  fp16/this {v['fp16_over_this']:.3f}"
                  f"  err {v['max_abs_error']}" if isinstance(v, dict) else (k, v), flush=True)
    if args.out:
        part = args.out.with_suffix(".part")
        part.write_text(json.dumps(result, indent=2))
        part.replace(args.out)


if __name__ == "__main__":
    main()
