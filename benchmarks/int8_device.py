"""INT8 against FP32 on a CPU with VNNI or AMX (the H200 machine's host), from what one
device call carries: the model with fp16 weights, every verse as text, and the wheels of
OpenVINO and NNCF that the machine lacks (installed by ``/work/briefs/s5/gpu/infer18-a.sh``
and ``-b.sh``; see docs/inference.md, "INT8 on a CPU with VNNI").

1. The fp16 folder is upcast to float32 weights (``build/int8-device/minilm-fp32``) and
   converted to the FP32 IR as ``pxos.infer`` converts any Hugging Face folder.
2. Each recipe of ``--recipes`` (names of ``int8_recipes.RECIPES``) quantizes it with
   NNCF, calibrated on the same 300 verses as here (``PXOS_VERSES_FILE`` must name the
   verse file); ``int8w`` (INT8 weights only) is made too: on a CPU with VNNI or AMX,
   OpenVINO may quantize its activations on the fly (``DYNAMIC_QUANTIZATION_GROUP_SIZE``)
   and run INT8 kernels, with weight-only accuracy.
3. Speed: raw OpenVINO sentences/s on one batch of 32 real verses × 128 tokens, the FP32
   IR with the f32 hint, with OpenVINO's default precision (bf16 on AMX), and each INT8
   IR; one synchronous request on every core (latency hint) and, separately, the
   throughput hint with an ``AsyncInferQueue`` of its optimal size; rounds interleaved,
   medians. Ratios to FP32 (f32 hint) in the same run.
4. Accuracy of each INT8 IR as ``pxos quantize`` reports it (1,000 verses, every 31st):
   on this CPU the INT8 products do not saturate, so the figures may differ from the
   AVX2 machine's.

    PYTHONPATH=build/ov-site:src PXOS_VERSES_FILE=... python3 benchmarks/int8_device.py \\
        --model build/infer18-b/minilm-fp16 --out $OUT/int8-device.json
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from int8_recipes import RECIPES, machine  # noqa: E402  (benchmarks/, next to this script)

from pxos.lib.inference.convert import to_openvino_ir  # noqa: E402
from pxos.lib.inference.embed import pad, tokenize  # noqa: E402
from pxos.lib.inference.quantize import evaluate, quantize  # noqa: E402
from pxos.lib.inference.sentences import verses  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def fp32_folder(fp16: Path, out: Path) -> Path:
    """A copy of the Hugging Face folder ``fp16`` with float32 weights."""
    import torch
    from safetensors.torch import load_file, save_file
    if (out / "model.safetensors").is_file():
        return out
    shutil.copytree(fp16, out, ignore=shutil.ignore_patterns("*.safetensors"),
                    dirs_exist_ok=True)
    w = load_file(str(fp16 / "model.safetensors"))
    save_file({k: v.to(torch.float32) if v.is_floating_point() else v for k, v in w.items()},
              str(out / "model.safetensors"), metadata={"format": "pt"})
    return out


def batch(folder: Path, n: int = 32, seq: int = 128) -> dict:
    """``n`` real verses cut or padded to ``seq`` tokens, every mask position real."""
    ids = [i[:seq] + [0] * (seq - len(i[:seq])) for i in
           tokenize(str(folder), verses(n, step=13))]
    feeds = pad(ids)
    feeds["attention_mask"][:] = 1
    return feeds


def runners(models: dict, feeds: dict, hint: str) -> dict:
    """{name: fn()} running ``feeds`` once on each compiled model under ``hint``: one
    synchronous request (latency) or 2 × the optimal number of requests of an
    ``AsyncInferQueue``, each the whole batch (throughput: sentences per call × requests)."""
    import openvino as ov
    core, out = ov.Core(), {}
    for name, (xml, cfg) in models.items():
        c = core.compile_model(str(xml), "CPU", {**cfg, "PERFORMANCE_HINT": hint.upper()})
        if hint == "latency":
            req = c.create_infer_request()
            out[name] = (lambda r=req: r.infer(feeds, share_inputs=True), 1)
        else:
            n = c.get_property("OPTIMAL_NUMBER_OF_INFER_REQUESTS")
            q = ov.AsyncInferQueue(c, n)

            def run(q=q, n=n):
                for _ in range(n):
                    q.start_async(feeds, share_inputs=True)
                q.wait_all()
            out[name] = (run, n)
    return out


def speed(models: dict, feeds: dict, hint: str, rounds: int) -> dict:
    """Sentences/s of each model under ``hint``, rounds interleaved, medians."""
    runs = runners(models, feeds, hint)
    times: dict = {k: [] for k in runs}
    for rnd in range(rounds + 1):
        for k, (fn, _) in runs.items():
            t = time.perf_counter()
            fn()
            if rnd:
                times[k].append(time.perf_counter() - t)
    rows = feeds["input_ids"].shape[0]
    rate = {k: rows * runs[k][1] / statistics.median(v) for k, v in times.items()}
    return {"sentences_per_s": rate, "vs_fp32": {k: v / rate["fp32"] for k, v in rate.items()}}


def main() -> None:
    import openvino as ov
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", type=Path, required=True, help="the fp16 Hugging Face folder")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/int8_device.json")
    ap.add_argument("--work", type=Path, default=ROOT / "build/int8-device")
    ap.add_argument("--recipes", default="nncf defaults (transformer, SmoothQuant α 0.95);"
                    "pxos default;per-layer")
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--sentences", type=int, default=1000)
    ap.add_argument("--no-accuracy", action="store_true")
    args = ap.parse_args()
    caps = ov.Core().get_property("CPU", "OPTIMIZATION_CAPABILITIES")
    res: dict = {"machine": machine(), "openvino": ov.__version__, "cpu_capabilities": caps}

    def save():
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.with_suffix(".tmp").write_text(json.dumps(res, indent=2))
        os.replace(args.out.with_suffix(".tmp"), args.out)
        print(json.dumps(res, indent=1)[-3000:], flush=True)
    folder = fp32_folder(args.model, args.work / "minilm-fp32")
    t = time.perf_counter()
    models = {"fp32": (to_openvino_ir(folder), {"INFERENCE_PRECISION_HINT": "f32"})}
    if "BF16" in caps:
        models["bf16 (default)"] = (models["fp32"][0], {})
    res["convert_s"] = time.perf_counter() - t
    names = [n for n in args.recipes.split(";") if n] + ["int8w"]
    res["quantize_s"], outs = {}, {}
    for i, name in enumerate(names):
        t = time.perf_counter()
        outs[name] = quantize(folder, "int8w", args.work / "int8w") if name == "int8w" else \
            quantize(folder, "int8", args.work / f"int8-{i}", recipe=RECIPES[name])
        res["quantize_s"][name] = time.perf_counter() - t
        models[name] = (outs[name] / "model.xml", {})
    save()
    feeds = batch(folder)
    for hint in ("latency", "throughput"):
        res[hint] = speed(models, feeds, hint, args.rounds)
        save()
    if not args.no_accuracy:
        texts = verses(args.sentences, step=31)
        ref = None
        res["accuracy"] = {}
        for name in names:
            from pxos.lib.inference import embed
            if ref is None:
                ref = embed(texts, str(folder), precision="fp32", device="cpu")
            res["accuracy"][name] = evaluate(outs[name], texts, ref, str(folder))
            save()


if __name__ == "__main__":
    main()
