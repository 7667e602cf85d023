"""``pxos.infer`` against OpenVINO itself, for ``benchmarks/inference.py``: the per-call
overhead over the raw request it holds (:func:`overhead`, :func:`wrapper_cost`, on a
near-free IR from :func:`tiny_ir`) and the throughput against ``benchmark_app`` run as a
subprocess (:func:`vs_benchmark_app`). Issue 18's goals: ≤ 50 µs a call at batch 1;
≥ 0.97 of ``benchmark_app`` on the same IR, precision and batch.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

from pxos.lib.inference import infer
from pxos.lib.inference.convert import INPUTS
from pxos.lib.inference.infer import session


def tiny_ir(folder: Path) -> Path:
    """An OpenVINO IR with MiniLM's interface (three int64 batch × sequence inputs → a
    float32 batch × sequence × 384 output) that costs next to nothing to run, so that the
    per-call overhead is not lost in the noise of the encoder's milliseconds."""
    import openvino as ov
    import openvino.opset13 as ops
    params = [ops.parameter([-1, -1], ov.Type.i64, name=n) for n in INPUTS]
    for p, n in zip(params, INPUTS):
        p.output(0).get_tensor().set_names({n})
    x = ops.convert(ops.add(ops.add(params[0], params[1]), params[2]), ov.Type.f32)
    y = ops.multiply(ops.unsqueeze(x, ops.constant(np.array([2], np.int64))),
                     ops.constant(np.ones((1, 1, 384), np.float32)))
    y.output(0).get_tensor().set_names({"last_hidden_state"})
    ov.save_model(ov.Model([y], params, "tiny"), str(folder / "tiny.xml"))
    return folder / "tiny.xml"


def overhead(ir: Path, precision: str, one: dict, pairs: int) -> dict:
    """Extra µs per ``pxos.infer`` call over the raw call on the very request pxos holds,
    both giving the user a NumPy array (the raw call takes it by ``to_tuple()[0]``, the
    cheapest public way: ``result[0]`` costs more). The two calls
    are interleaved in pairs, alternating which goes first; the figure is the median of
    the pairwise differences, with its quartiles."""
    req = session(ir, "cpu", precision).request

    def raw():
        return req.infer(one, share_inputs=True, share_outputs=False).to_tuple()[0]

    def ours():
        return infer(ir, one, precision=precision, device="cpu")["last_hidden_state"]
    np.testing.assert_array_equal(raw(), ours())
    diffs, raws = [], []
    for i in range(pairs):
        t = []
        for fn in ((raw, ours) if i % 2 else (ours, raw)):
            t0 = time.perf_counter()
            fn()
            t.append(time.perf_counter() - t0)
        r, o = (t[0], t[1]) if i % 2 else (t[1], t[0])
        diffs.append(o - r)
        raws.append(r)
    q1, med, q3 = statistics.quantiles(diffs, n=4)
    return {"overhead_batch1_us": med * 1e6, "overhead_q1_us": q1 * 1e6,
            "overhead_q3_us": q3 * 1e6, "raw_call_us": statistics.median(raws) * 1e6,
            "pairs": pairs}


def wrapper_cost(ir: Path, precision: str, one: dict, repeat: int = 30,
                 number: int = 500) -> dict:
    """µs that ``pxos.infer`` adds around OpenVINO's request, measured without the
    request's own time and its noise: the session's request is swapped for a stand-in
    that returns one real call's result at once, and ``pxos.infer`` is timed against the
    stand-in called as the raw call calls it (``infer(...).to_tuple()[0]``); best of
    ``repeat`` runs of ``number`` calls each, in the calling thread's CPU time (what
    other processes on the cores leave alone; the wall clock counts their turns too)."""
    import timeit
    sess = session(ir, "cpu", precision)
    real = sess.request
    done = real.infer(one, share_inputs=True, share_outputs=False)

    class StandIn:
        def infer(self, feeds, share_inputs=True, share_outputs=False):
            return done
    sess.request = StandIn()
    try:
        def raw():
            return sess.request.infer(one, share_inputs=True, share_outputs=False).to_tuple()[0]

        def ours():
            return infer(ir, one, precision=precision, device="cpu")["last_hidden_state"]
        cpu = time.thread_time
        t_raw = min(timeit.repeat(raw, cpu, number=number, repeat=repeat)) / number
        t_ours = min(timeit.repeat(ours, cpu, number=number, repeat=repeat)) / number
    finally:
        sess.request = real
    return {"wrapper_us": (t_ours - t_raw) * 1e6, "stand_in_call_us": t_raw * 1e6,
            "infer_on_stand_in_us": t_ours * 1e6}


def _benchmark_app(ir: Path, hint: str, batch: int, seq: int, niter: int) -> dict:
    """Run OpenVINO's ``benchmark_app`` (a subprocess) on ``ir`` at batch × seq, f32, for
    ``niter`` requests of the whole batch after its warm-up: sentences/s from its own
    count and duration (its "FPS" counts one frame per request, not per row), its
    number of requests in flight and its median latency."""
    import re
    import subprocess
    shape = ",".join(f"{n}[{batch},{seq}]" for n in INPUTS)
    app = [sys.executable, "-c", "import sys; from openvino.tools.benchmark.main import main; "
           "sys.exit(main())"]          # the benchmark_app command, without relying on PATH
    out = subprocess.run([*app, "-m", str(ir), "-d", "CPU", "-shape", shape,
                          "-hint", hint, "-infer_precision", "f32", "-niter", str(niter)],
                         capture_output=True, text=True, check=True).stdout

    def grab(pattern: str) -> float:
        return float(re.search(pattern, out).group(1))
    count, ms = grab(r"Count:\s+(\d+) iterations"), grab(r"Duration:\s+([\d.]+) ms")
    nreq = re.search(r"(\d+) inference requests", out)
    return {"sentences_per_s": count * batch / (ms / 1e3), "iterations": int(count),
            "requests": int(nreq.group(1)) if nreq else 1,
            "median_latency_ms": grab(r"Median:\s+([\d.]+) ms")}


def _window(fn, calls: int, rows: int) -> float:
    """Sentences/s of ``calls`` calls of ``fn`` (each ``rows`` sentences), after one
    warm-up call."""
    fn()
    t0 = time.perf_counter()
    for _ in range(calls):
        fn()
    return calls * rows / (time.perf_counter() - t0)


def vs_benchmark_app(ir: Path, feeds: dict, rounds: int, niter: int) -> dict:
    """``pxos.infer`` against ``benchmark_app`` on the same IR, f32 precision and batch,
    in ``rounds`` interleaved rounds; medians of sentences/s. Each round runs, for
    ``niter`` batches each:

    - ``benchmark_app_latency`` (one synchronous request on every core) and ``pxos``:
      ``pxos.infer`` as planned without a calibration (OpenVINO's latency hint);
    - ``benchmark_app_throughput`` (its default: several streams, one request per stream,
      each the whole batch, kept in flight) and the ``openvino-streams`` session that a
      calibration can choose, called as ``pxos.infer`` calls it, two ways: ``pxos_streams``
      one batch per call (split into one part per stream), and ``pxos_streams_chunked``
      ``niter`` batches in one call with ``batch_size`` = the batch (one request per
      batch, all in flight, as ``benchmark_app`` runs them)."""
    from pxos.lib.inference import runtime as RT
    from pxos.lib.inference.infer import open_session
    batch, seq = feeds["input_ids"].shape
    streams = open_session(ir, "openvino", "openvino-streams", "cpu", "fp32")
    many = {k: np.ascontiguousarray(np.concatenate([v] * niter)) for k, v in feeds.items()}
    runs = {"pxos": (lambda: infer(ir, feeds, precision="fp32", device="cpu"), niter, batch),
            "pxos_streams": (lambda: streams.run(RT.check_feeds(streams, feeds)), niter, batch),
            "pxos_streams_chunked": (lambda: streams.run(RT.check_feeds(streams, many),
                                                         chunk=batch), 1, batch * niter)}
    got: dict = {k: [] for k in ("benchmark_app_latency", "benchmark_app_throughput", *runs)}
    detail: dict = {"benchmark_app_latency": [], "benchmark_app_throughput": []}
    for r in range(rounds):
        for hint in ("latency", "throughput") if r % 2 == 0 else ("throughput", "latency"):
            d = _benchmark_app(ir, hint, batch, seq, niter)
            got[f"benchmark_app_{hint}"].append(d["sentences_per_s"])
            detail[f"benchmark_app_{hint}"].append(d)
            names = ["pxos"] if hint == "latency" else ["pxos_streams", "pxos_streams_chunked"]
            for name in names:
                fn, calls, rows = runs[name]
                got[name].append(_window(fn, calls, rows))
    med = {k: statistics.median(v) for k, v in got.items()}
    best = max(med["pxos"], med["pxos_streams"], med["pxos_streams_chunked"])
    return {"batch": batch, "sequence": seq, "rounds": rounds, "batches_per_window": niter,
            "load": os.getloadavg(),
            **{f"{k}_sentences_per_s": v for k, v in med.items()},
            "pxos / benchmark_app latency": med["pxos"] / med["benchmark_app_latency"],
            "pxos_streams / benchmark_app throughput":
                med["pxos_streams"] / med["benchmark_app_throughput"],
            "pxos_streams_chunked / benchmark_app throughput":
                med["pxos_streams_chunked"] / med["benchmark_app_throughput"],
            "best pxos / best benchmark_app": best / max(med["benchmark_app_latency"],
                                                         med["benchmark_app_throughput"]),
            "all": got, "benchmark_app": detail}
