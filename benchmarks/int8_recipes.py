"""Which INT8 post-training quantization choice moved which accuracy figure.

Each named :class:`pxos.lib.inference.int8.Recipe` below (NNCF's defaults, then one
change at a time, then combinations) quantizes all-MiniLM-L6-v2 to INT8 weights and
activations, and is evaluated as ``pxos quantize`` reports it: mean and minimum cosine of
its embeddings to FP32's and top-1 nearest-neighbour agreement, on the 1,000 verses
``verses(1000, step=31)``, run in OpenVINO on this CPU. With ``--emulate`` it is also run
with OpenVINO's low-precision transformations off (``LP_TRANSFORMS_MODE: NO``), which
computes every FakeQuantize in float: the figure a CPU whose int8 products do not
saturate (VNNI, AMX) would give, so the two columns separate the quantization's error
from this CPU's int16 saturation.

Recipes run one at a time (quantization takes one to two minutes on 2 cores). Each
result, and each quantized IR, is cached in ``--cache`` under the recipe's text, so a
rerun only runs new ones and ``--speed`` times the IRs already made.
Output: JSON with the machine, every recipe and its figures, and a Markdown table.

    PYTHONPATH=src python3 benchmarks/int8_recipes.py [--only "NAME;NAME"] [--emulate]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from pxos.lib.inference import embed
from pxos.lib.inference.embed import pool, tokenize
from pxos.lib.inference.buckets import pad
from pxos.lib.inference.formats import bundled_model
from pxos.lib.inference.int8 import DEFAULT, NNCF_DEFAULTS, PER_LAYER, Recipe
from pxos.lib.inference.quantize import agreement, evaluate, quantize
from pxos.lib.inference.sentences import verses

ROOT = Path(__file__).resolve().parents[1]
N = NNCF_DEFAULTS
FFN = replace(DEFAULT, keep_float=("ffn_input", "ffn_output"))
RECIPES: dict[str, Recipe] = {
    "pxos default": DEFAULT,
    "per-layer": PER_LAYER,
    "the same, float MatMuls' weights INT8": replace(DEFAULT, float_weights="int8"),
    "nncf defaults (transformer, SmoothQuant α 0.95)": N,
    "7-bit weights, α 0.8, feed-forward float": FFN,
    "the same, α 0.7": replace(FFN, smooth_quant=0.7),
    "the same, feed-forward weights INT8": replace(FFN, float_weights="int8"),
    "7-bit weights (overflow fix everywhere)": replace(N, overflow_fix="enable"),
    "7-bit weights, α 0.8": replace(N, overflow_fix="enable", smooth_quant=0.8),
    "SmoothQuant off": replace(N, smooth_quant=None),
    "activation ranges: global min/max": replace(N, ranges="minmax"),
}


def machine() -> dict:
    """This machine's name, CPU model and core count."""
    cpu = platform.processor()
    info = Path("/proc/cpuinfo")
    if info.is_file():
        cpu = next((ln.split(":", 1)[1].strip() for ln in info.read_text().splitlines()
                    if ln.startswith("model name")), cpu)
    return {"node": platform.node(), "cpu": cpu, "cores": os.cpu_count(),
            "load": os.getloadavg()[0]}


def emulated(out: Path, texts: list[str], ref: np.ndarray) -> dict:
    """The agreement of the quantized IR in ``out`` with FakeQuantize computed in float."""
    import openvino as ov
    c = ov.Core().compile_model(str(out / "model.xml"), "CPU", {
        "INFERENCE_PRECISION_HINT": "f32", "LP_TRANSFORMS_MODE": "NO"})
    req, names = c.create_infer_request(), {p.get_any_name() for p in c.inputs}
    ids = tokenize(str(out), texts)
    order = np.argsort([len(i) for i in ids], kind="stable")
    emb = np.empty((len(texts), ref.shape[1]), np.float32)
    for s in range(0, len(order), 32):
        rows = order[s:s + 32]
        feeds = pad([ids[r] for r in rows], "exact")
        res = req.infer({k: v for k, v in feeds.items() if k in names})
        emb[rows] = pool(res[0], feeds["attention_mask"])
    return agreement(ref, emb)


def quantized(recipe: Recipe, cache: Path) -> Path:
    """The folder of all-MiniLM-L6-v2 quantized by ``recipe``, kept in ``cache`` under the
    recipe's text (quantized on the first call)."""
    out = cache / ("ir-" + hashlib.sha256(repr(recipe).encode()).hexdigest()[:16])
    if not (out / "model.xml").is_file():
        quantize("all-MiniLM-L6-v2", "int8", out, recipe=recipe)
    return out


def run(name: str, recipe: Recipe, texts, ref, cache: Path, emulate: bool) -> dict:
    """The figures of one recipe, from ``cache`` when it holds them."""
    for e in (emulate, True):  # a run with the emulated figures serves one without
        key = hashlib.sha256(f"{recipe!r} {len(texts)} {e}".encode()).hexdigest()[:16]
        if (cache / f"{key}.json").is_file():
            return {**json.loads((cache / f"{key}.json").read_text()), "name": name}
    key = hashlib.sha256(f"{recipe!r} {len(texts)} {emulate}".encode()).hexdigest()[:16]
    f = cache / f"{key}.json"
    t = time.perf_counter()
    out = quantized(recipe, cache)
    r = {"name": name, "recipe": repr(recipe), "quantize_s": time.perf_counter() - t,
         **evaluate(out, texts, ref)}
    if emulate:
        r["emulated"] = emulated(out, texts, ref)
    cache.mkdir(parents=True, exist_ok=True)
    f.with_suffix(".tmp").write_text(json.dumps(r))
    os.replace(f.with_suffix(".tmp"), f)
    return r


def speed(names: list[str], repeat: int, cache: Path) -> dict:
    """Raw OpenVINO sentences/s of the FP32 IR (f32 hint) and of each recipe's INT8 IR on
    one batch of 32 real verses × 128 tokens, timed in alternation (median of
    ``repeat`` rounds after a warm-up), and each INT8 IR's ratio to FP32."""
    import openvino as ov

    from inference import fixed_batch  # benchmarks/inference.py, next to this script
    from pxos.lib.inference.convert import to_openvino_ir
    core, feeds = ov.Core(), fixed_batch(32, 128)
    reqs = {"fp32": core.compile_model(str(to_openvino_ir(bundled_model())), "CPU", {
        "INFERENCE_PRECISION_HINT": "f32"}).create_infer_request()}
    for name in names:
        out = quantized(RECIPES[name], cache)
        reqs[name] = core.compile_model(str(out / "model.xml"), "CPU").create_infer_request()
    times: dict[str, list[float]] = {k: [] for k in reqs}
    for rnd in range(repeat + 1):
        for k, r in reqs.items():
            t = time.perf_counter()
            r.infer(feeds, share_inputs=True)
            if rnd:
                times[k].append(time.perf_counter() - t)
    rate = {k: 32 / float(np.median(v)) for k, v in times.items()}
    return {"sentences_per_s": rate, "int8 / fp32": {k: rate[k] / rate["fp32"] for k in names}}


def table(rows: list[dict]) -> str:
    """Markdown: one line per recipe, this CPU's figures (and the emulated ones)."""
    lines = ["| recipe | mean cosine | min cosine | top-1 | emulated mean / min / top-1 |",
             "|---|---|---|---|---|"]
    for r in rows:
        e = r.get("emulated")
        emu = f"{e['mean_cosine']:.4f} / {e['min_cosine']:.4f} / {e['top1_agreement']:.3f}" \
            if e else ""
        lines.append(f"| {r['name']} | {r['mean_cosine']:.4f} | {r['min_cosine']:.4f} | "
                     f"{r['top1_agreement']:.3f} | {emu} |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/int8_recipes.json")
    ap.add_argument("--cache", type=Path, default=ROOT / "benchmarks/results/int8_recipes")
    ap.add_argument("--only", default="", help="recipe names separated by ; (default: all)")
    ap.add_argument("--emulate", action="store_true", help="also run FakeQuantize in float")
    ap.add_argument("--sentences", type=int, default=1000)
    ap.add_argument("--speed", action="store_true", help="only time the recipes' IRs "
                    "against FP32 (batch 32 × 128), not their accuracy")
    ap.add_argument("--repeat", type=int, default=7, help="--speed: rounds")
    args = ap.parse_args()
    names = [n.strip() for n in args.only.split(";") if n.strip()] or list(RECIPES)
    if args.speed:
        result = {"machine": machine(), "speed": speed(names, args.repeat, args.cache)}
        args.out = args.out.with_name("int8_speed.json")
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.with_suffix(".tmp").write_text(json.dumps(result, indent=2))
        os.replace(args.out.with_suffix(".tmp"), args.out)
        print(json.dumps(result, indent=2))
        return
    texts = verses(args.sentences, step=31)
    ref = embed(texts, precision="fp32", device="cpu")
    result = {"machine": machine(), "sentences": len(texts), "recipes": []}
    for name in names:
        result["recipes"].append(run(name, RECIPES[name], texts, ref, args.cache,
                                     args.emulate))
        print(table(result["recipes"][-1:]).splitlines()[-1], flush=True)
    result["table"] = table(result["recipes"])
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".tmp").write_text(json.dumps(result, indent=2))
    os.replace(args.out.with_suffix(".tmp"), args.out)
    print(result["table"])


if __name__ == "__main__":
    main()
