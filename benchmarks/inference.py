"""pxos.inference against its anchors, same run, same machine (issue 18's goals as ratios).

- ``infer_vs_raw``: sentences/s of ``pxos.infer`` and of a raw OpenVINO compiled model on
  the same IR, precision and batch (batch 32, sequence 128, real verses), FP32 (f32 hint)
  and NNCF INT8; goal ratio ≥ 0.97.
- ``overhead_batch1_us``: median extra µs per call of ``pxos.infer`` over the raw request
  at batch 1 (goal ≤ 50).
- ``end_to_end``: sentences/s embedding N verses — sentence-transformers ``encode`` vs
  ``pxos.embed`` FP32, default precision and INT8 (tokenizing, length-sorted, padded).
- ``quantize`` (``--methods``): the report of each method (size, cosine, top-1, speed).
- ``--gpu``: sentence-transformers fp16 ``encode`` vs ``pxos.embed`` on CUDA, batch 256,
  and the time to embed every verse.

Times are medians of repeats. Output: JSON with the machine it ran on.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from pxos.lib.inference import embed, infer
from pxos.lib.inference.convert import to_openvino_ir
from pxos.lib.inference.embed import pad, tokenize
from pxos.lib.inference.formats import bundled_model
from pxos.lib.inference.infer import session
from pxos.lib.inference.quantize import METHODS, evaluate, quantize
from pxos.lib.inference.sentences import verses

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


def fixed_batch(batch: int, seq: int) -> dict:
    ids = [i[:seq] + [0] * (seq - len(i[:seq])) for i in
           tokenize(str(bundled_model()), verses(batch, step=13))]
    feeds = pad(ids)
    feeds["attention_mask"][:] = 1
    return feeds


def infer_vs_raw(ir: Path, precision: str, feeds: dict, repeat: int) -> dict:
    import openvino as ov
    cfg = {"INFERENCE_PRECISION_HINT": "f32"} if precision == "fp32" else {}
    req = ov.Core().compile_model(str(ir), "CPU", cfg).create_infer_request()
    n = feeds["input_ids"].shape[0]
    raw = median_time(lambda: req.infer(feeds, share_inputs=True, share_outputs=False), repeat)
    ours = median_time(lambda: infer(ir, feeds, precision=precision, device="cpu"), repeat)
    # batch 1: pxos.infer against the very request it holds, calls interleaved
    one = {k: np.ascontiguousarray(v[:1, :16]) for k, v in feeds.items()}
    own = session(ir, "cpu", precision).request
    r1s, o1s = [], []
    for _ in range(repeat * 40):
        r1s.append(median_time(lambda: own.infer(one, share_inputs=True,
                                                 share_outputs=False), 1))
        o1s.append(median_time(lambda: infer(ir, one, precision=precision, device="cpu"), 1))
    r1, o1 = statistics.median(r1s), statistics.median(o1s)
    return {"raw_sentences_per_s": n / raw, "pxos_sentences_per_s": n / ours,
            "pxos / raw": raw / ours, "overhead_batch1_us": (o1 - r1) * 1e6}


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


def gpu(repeat: int, model: str) -> dict:
    import torch
    from sentence_transformers import SentenceTransformer
    texts = verses(None)
    st = SentenceTransformer(model, device="cuda").half()
    batch = texts[:4096]

    def sync(fn):
        return lambda: (fn(), torch.cuda.synchronize())
    t_st = median_time(sync(lambda: st.encode(batch, batch_size=256)), repeat)
    t_px = median_time(sync(lambda: embed(batch, model, device="cuda", batch_size=256)), repeat)
    t_all = median_time(sync(lambda: embed(texts, model, device="cuda", batch_size=256)), 3)
    e_st = st.encode(batch[:512], batch_size=256, normalize_embeddings=True)
    e_px = embed(batch[:512], model, device="cuda", batch_size=256)
    cos = (e_st.astype(np.float32) * e_px).sum(1)
    return {"min_cosine_to_st_fp16": float(cos.min()),
            "st_fp16_sentences_per_s": len(batch) / t_st,
            "pxos_sentences_per_s": len(batch) / t_px, "pxos / st": t_st / t_px,
            "all_verses": len(texts), "all_verses_s": t_all}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/inference.json")
    ap.add_argument("--quick", action="store_true", help="small sizes (a smoke run)")
    ap.add_argument("--methods", default="", help="comma-separated quantize methods to report")
    ap.add_argument("--gpu", action="store_true", help="only the CUDA cases (PyTorch)")
    ap.add_argument("--model", default=None, help="--gpu: the model folder (default: bundled)")
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    result: dict = {"machine": machine()}
    if args.gpu:
        result["gpu"] = gpu(args.repeat, args.model or str(bundled_model()))
    else:
        ir = to_openvino_ir(bundled_model())
        feeds = fixed_batch(8 if args.quick else 32, 32 if args.quick else 128)
        tmp = Path(tempfile.mkdtemp())
        int8 = quantize("all-MiniLM-L6-v2", "int8", tmp / "int8",
                        calibration=32 if args.quick else 300)
        result["infer_vs_raw"] = {"fp32": infer_vs_raw(ir, "fp32", feeds, args.repeat),
                                  "int8": infer_vs_raw(int8 / "model.xml", "auto", feeds,
                                                       args.repeat)}
        texts = verses(128 if args.quick else 1024, step=29)
        result["end_to_end"] = end_to_end(texts, int8, args.repeat)
        evals = verses(100 if args.quick else 1000, step=31)
        ref = embed(evals, precision="fp32", device="cpu")
        result["quantize"] = {"int8": evaluate(int8, evals, ref)}
        for m in filter(None, args.methods.split(",")):
            if m not in METHODS or m == "int8":
                continue
            result["quantize"][m] = evaluate(quantize("all-MiniLM-L6-v2", m, tmp / m), evals, ref)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
