"""Encode of int64 to balanced-ternary trits on a GPU: ``words_rows.encode_rows41`` (the
API's (n, 41) layout, what ``T.encode`` runs on ``cuda``), the planes kernels
(``words_wide.encode_wide``, ``words.encode_words``) and their launch shapes and block
sizes side by side, with the memory ceilings of their traffic, in one run on one GPU
(issue 19: encode of 10**8 int64 at >= 90 % of a device-to-device copy). Needs CuPy.

Every case is timed as :mod:`gpu_ternary` times kernels (CUDA events around calls queued
behind a spin kernel; median of ``--repeat``), and its rate is given as bytes moved ÷
time, with its share of the copy's rate (the larger of ``cudaMemcpyAsync`` and CuPy's
copy kernel on 2 GB). Encoders count 49 bytes a number (8 read, 41 written); each one's
output is compared with ``encode_words``' (transposed for the (n, 41) layout), which is
checked against the ``c`` backend on its first 1,000 numbers and by ``decode_words``'
round trip on all of them. The ceilings (no arithmetic) are listed in
``ternary_variant_kernels``' module doc.

    python3 benchmarks/ternary_gpu_variants.py [--numbers 100000000] [--repeat 7]
                                               [--looping] [--no-ceilings] [--out FILE.json]
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
import ternary_variant_kernels as V  # noqa: E402
from pxos.lib.ternary import words_rows as WR  # noqa: E402
from pxos.lib.ternary import words_wide as WW  # noqa: E402
from gpu_ternary import copy_rates, peak_bandwidth, queued_time  # noqa: E402
from pxos.lib.ternary import words as W  # noqa: E402

LOOPING = "--looping" in sys.argv   # also the grid-stride launches and the planes' peers
ROWS = 41                 # trits of an int64
BYTES = 8 + ROWS          # bytes a number, read and written


def launcher(kernel, words: int, view, per_sm: int = 0, sms: int = 0):
    """``kernel(x, t, stride)`` over the (41, words) ``view`` of the int8 planes ``t``: a
    thread a word, or ``per_sm`` blocks an SM looping (``words.launch_threads``)."""
    threads, stride = W.launch_threads(words, per_sm, sms)
    return lambda x, t: kernel(x, t.view(view), stride, device="cuda", threads=threads)


def rows_launcher(n: int, per_sm: int = 0, sms: int = 0, block: int = WR.ROWS_BLOCK):
    """``encode_rows41`` (blocks of ``block`` threads) writing the (n, 41) layout into
    the bytes of ``t``."""
    kernel = WR.encode_rows41 if block == WR.ROWS_BLOCK else WR.rows_kernel(block)
    threads, stride = WR.rows_launch(n, per_sm, sms, block)
    return lambda x, t: kernel(x, t.reshape(-1).view("uint64"), stride, device="cuda",
                               threads=threads)


def encoders(cp, n: int, sms: int) -> dict:
    """name: (function of (x, t) on the whole arrays, layout of t, halves). A block a tile
    throughout: the first mid-session run of 2026-12-04 measured grid-stride loops of 2-10
    blocks an SM at 62-82 % of the copy against 94-96 % (``--looping`` puts them back)."""
    u32, u64 = cp.uint32, cp.uint64
    words4, words8 = n // 4, n // 8
    rows = [(WR.encode_rows41, WR.ROWS_BLOCK, 0,
             f"encode_rows41 ((n, 41) layout, blocks of {WR.ROWS_BLOCK}, the default)")]
    rows += [(WR.rows_kernel(block), block, 0, f"encode_rows41, blocks of {block}")
             for block in (64, 256)]
    if LOOPING:
        rows += [(WR.encode_rows41, WR.ROWS_BLOCK, per_sm,
                  f"encode_rows41, {per_sm} blocks an SM looping") for per_sm in (4, 8)]
    cases = {}
    for kernel, block, per_sm, label in rows:
        threads, stride = WR.rows_launch(n, per_sm, sms, block)
        cases[label] = (lambda x, t, k=kernel, s=stride, th=threads: k(
            x, t.reshape(-1).view(u64), s, device="cuda", threads=th), "rows", 1)
    threads, stride = WR.rows_launch(n)
    cases["store_rows41 (no arithmetic, the same transpose and stores)"] = (
        lambda x, t: V.store_rows41(x, t.reshape(-1).view(u64), stride, device="cuda",
                                    threads=threads), "rows", 1)
    cases.update({"encode_wide (8 numbers a thread, 8-byte stores)":
                  (launcher(WW.encode_wide, words8, u64), "planes", 1),
                  "store_wide (no arithmetic, 8-byte stores)":
                  (launcher(V.store_wide, words8, u64), "planes", 1)})
    if LOOPING:
        for per_sm in (2, 4, 8):
            cases[f"encode_wide, {per_sm} blocks an SM looping"] = (
                launcher(WW.encode_wide, words8, u64, per_sm, sms), "planes", 1)
        cases["encode_words, two launches (4 numbers a thread)"] = (
            launcher(W.encode_words, words4 // 2, u32), "planes", 2)
    return cases


def run_encoders(cp, x, t, ref, repeat: int, sms: int, show, layout: str) -> dict:
    """Time each encoder of ``layout`` ("rows" or "planes") writing ``t``; compare with
    ``ref`` (no-arithmetic ones: None); ``show(name, figures)`` as each is measured."""
    out = {}
    for name, case in encoders(cp, x.size, sms).items():
        if case[1] != layout:
            continue
        out[name] = attempt(lambda: encoder_case(cp, x, t, ref, repeat, name, *case))
        show(name, out[name])
    return out


def run_decoders(cp, x, t, repeat: int, sms: int, show) -> dict:
    """``decode_rows41`` of ``t`` holding x's (n, 41) trits (written here by
    ``encode_rows41``), a block a tile with blocks of 32 to 256 threads (and looping with
    ``--looping``), each checked against ``x``."""
    n = x.size
    rows_launcher(n)(x, t)
    flat = t.reshape(-1).view(cp.uint64)
    out = {}
    shapes = [(block, 0) for block in (WR.DECODE_BLOCK, 32, 64, 256)]
    shapes += [(WR.DECODE_BLOCK, per_sm) for per_sm in (4, 8)] if LOOPING else []
    for block, per_sm in shapes:
        kernel = WR.decode_rows41 if block == WR.DECODE_BLOCK else WR.decode_kernel(block)
        threads, stride = WR.rows_launch(n, per_sm, sms, block)
        back, flags = cp.empty(n, cp.int64), cp.ones(n, cp.int8)
        name = f"decode_rows41, blocks of {block}" + (
            f", {per_sm} an SM looping" if per_sm else "")

        def call(k=kernel, s=stride, th=threads, b=back, f=flags):
            k(flat, b, f, s, device="cuda", threads=th)

        out[name] = attempt(lambda: {
            "s": (sec := queued_time(cp, call, repeat, 2)), "GBps": n * BYTES / sec / 1e9,
            "exact": bool((back == x).all()) and not bool(flags.any())})
        show(name, out[name])
    return out


def encoder_case(cp, x, t, ref, repeat: int, name: str, fn, layout: str,
                 halves: int) -> dict:
    """One row of :func:`run_encoders`: whole arrays, or two halves in buffers of their
    own (as ``gpu_ternary.conversion`` runs encode). ``layout`` "rows": ``t``'s bytes hold
    (n, 41), compared with ``ref`` transposed."""
    n = x.size
    cut = [slice(h * n // halves, (h + 1) * n // halves) for h in range(halves)]
    parts = [(x, t)] if halves == 1 else [(x[c], cp.empty((ROWS, c.stop - c.start), cp.int8))
                                          for c in cut]
    for _, b in parts:
        b.fill(0)

    def call():
        for a, b in parts:
            fn(a, b)

    sec = queued_time(cp, call, repeat, 2)
    if name.startswith("store"):
        exact = None
    elif layout == "rows":
        exact = bool((t.reshape(n, ROWS) == ref.T).all())
    else:
        exact = all(bool((b == ref[:, c]).all()) for c, (_, b) in zip(cut, parts))
    return {"s": sec, "GBps": n * BYTES / sec / 1e9, "exact": exact}


def ceilings(cp, x, t, repeat: int, show) -> dict:
    """Write-only, read-only, encode's byte mix contiguous, and the 41 rows with 16-byte
    stores (CUDA C of ``V.CEILINGS``), on encode's own buffers; ``show`` as for
    :func:`run_encoders`."""
    module = cp.RawModule(code=V.CEILINGS)
    flat = t.reshape(-1).view(cp.uint8)
    n16 = flat.size // 16
    sink = cp.zeros(1, cp.uint32)
    fn = {name: module.get_function(name) for name in (
        "write_v4", "write_v4_cs", "read_v4", "mix_v4", "rows_v1", "rows_v2", "rows_v4",
        "rows_v4_cs")}
    stream = cp.cuda.get_current_stream().ptr

    def grid(threads: int) -> tuple[int]:
        return (-(-threads // 256),)

    cases = {
        "memset (cudaMemsetAsync, write only)": (lambda: cp.cuda.runtime.memsetAsync(
            flat.data.ptr, 0, flat.size, stream), flat.size),
        "write_v4 (write only, 16-byte stores)": (lambda: fn["write_v4"](
            grid(n16), (256,), (flat, np.int64(n16))), flat.size),
        "read_v4 (read only)": (lambda: fn["read_v4"](
            grid(n16), (256,), (flat, np.int64(n16), sink)), flat.size),
        "mix_v4 (8 read : 41 written, contiguous)": (lambda: fn["mix_v4"](
            grid(n16), (256,), (x, flat, np.int64(n16))), flat.size * BYTES // ROWS),
        "write_v4_cs (write only, streaming 16-byte stores)": (lambda: fn["write_v4_cs"](
            grid(n16), (256,), (flat, np.int64(n16))), flat.size)}
    for size, name in ((4, "rows_v1"), (8, "rows_v2"), (16, "rows_v4"), (16, "rows_v4_cs")):
        words = x.size // size
        cases[f"{name} (41 rows, {size}-byte stores, {size} numbers a thread)"] = (
            lambda k=fn[name], w=words: k(grid(w), (256,), (x, flat, np.int64(w))),
            x.size * BYTES)
    out = {}
    for name, (f, moved) in cases.items():
        out[name] = attempt(lambda: rate(cp, f, moved, repeat))
        show(name, out[name])
    return out


def rate(cp, fn, moved: int, repeat: int) -> dict:
    """Seconds of ``fn`` (queued, median) and ``moved`` bytes ÷ seconds."""
    sec = queued_time(cp, fn, repeat, 2)
    return {"s": sec, "GBps": moved / sec / 1e9, "exact": None}


def check_reference(cp, x, ref) -> dict:
    """``ref`` (encode_words' planes of ``x``) against ``c`` on 1,000 numbers, and
    decode_words' round trip on all (4 blocks an SM, as planes.decode runs it)."""
    first = T.decode(cp.asnumpy(ref[:, :1000]).T.copy(), "c")
    back, flag = cp.empty(x.size, cp.int64), cp.ones(x.size, cp.int8)
    threads, stride = W.decode_launch(x.size // 4, "cuda")
    W.decode_words(ref.view(cp.uint32), back, flag, stride, device="cuda", threads=threads)
    return {"equal_to_c": bool((first == cp.asnumpy(x[:1000])).all()),
            "round_trip": bool((back == x).all()) and not bool(flag.any())}


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
    ap.add_argument("--numbers", type=int, default=10**8, help="a multiple of 16")
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--out", type=Path)
    ap.add_argument("--looping", action="store_true",
                    help="also grid-stride launches and the planes kernels' peers")
    ap.add_argument("--no-ceilings", action="store_true",
                    help="leave out the CUDA C ceilings (no arithmetic)")
    args = ap.parse_args()
    n = args.numbers // 16 * 16
    name = cp.cuda.runtime.getDeviceProperties(0)["name"].decode()
    sms = cp.cuda.Device().attributes["MultiProcessorCount"]
    peak, _ = peak_bandwidth(cp, name)
    copies = copy_rates(cp, 2 * 10**9, args.repeat)
    copy = max(copies.values())
    result = {"machine": {"device": name, "sms": sms, "host": platform.node(),
                          "cores": os.cpu_count(), "load_average": os.getloadavg()},
              "numbers": n, "peak_GBps": peak / 1e9,
              "copy_GBps": {k: v / 1e9 for k, v in copies.items()}}
    print(f"{name}, {sms} SMs; copy GB/s {result['copy_GBps']}; peak {peak / 1e9:.0f}",
          flush=True)
    x = cp.asarray(np.random.default_rng(4).integers(-2**63, 2**63 - 1, n, dtype=np.int64))
    ref = cp.empty((ROWS, n), cp.int8)
    launcher(W.encode_words, n // 4, cp.uint32)(x, ref)
    result["reference"] = attempt(lambda: check_reference(cp, x, ref))
    print("reference", result["reference"], flush=True)

    def show(k: str, v: dict) -> None:
        if "error" in v:
            print(k, v, flush=True)
            return
        v["share_of_copy"] = v["GBps"] * 1e9 / copy
        v["share_of_peak"] = v["GBps"] * 1e9 / peak
        print(f"{k[:68]:68s} {v['s'] * 1e3:7.3f} ms {v['GBps']:6.0f} GB/s "
              f"copy {v['share_of_copy']:.3f} exact {v['exact']}", flush=True)

    t = cp.empty_like(ref)
    cases = run_encoders(cp, x, t, ref, args.repeat, sms, show, "rows")
    cases.update(run_decoders(cp, x, t, args.repeat, sms, show))
    cases.update(run_encoders(cp, x, t, ref, args.repeat, sms, show, "planes"))
    if not args.no_ceilings:
        cases.update(ceilings(cp, x, t, args.repeat, show))
    copies = copy_rates(cp, 2 * 10**9, args.repeat)
    result["copy_GBps_after"] = {k: v / 1e9 for k, v in copies.items()}
    print("copy GB/s after the cases", result["copy_GBps_after"], flush=True)
    result["cases"] = cases
    if args.out:
        part = args.out.with_suffix(".part")
        part.write_text(json.dumps(result, indent=2))
        part.replace(args.out)


if __name__ == "__main__":
    main()
