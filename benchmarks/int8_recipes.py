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
result is cached in ``--cache`` under the recipe's text, so a rerun only runs new ones.
Output: JSON with the machine, every recipe and its figures, and a Markdown table.

    PYTHONPATH=src python3 benchmarks/int8_recipes.py [--only NAME,...] [--emulate]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from pxos.lib.inference import embed
from pxos.lib.inference.embed import pool, tokenize
from pxos.lib.inference.buckets import pad
from pxos.lib.inference.formats import bundled_model
from pxos.lib.inference.int8 import DEFAULT, NNCF_DEFAULTS, Recipe
from pxos.lib.inference.quantize import agreement, evaluate, quantize
from pxos.lib.inference.sentences import verses

ROOT = Path(__file__).resolve().parents[1]
N = NNCF_DEFAULTS
RECIPES: dict[str, Recipe] = {
    "nncf defaults (transformer, SmoothQuant α 0.95)": N,
    "SmoothQuant off": replace(N, smooth_quant=None),
    "activation ranges: global min/max": replace(N, ranges="minmax"),
    "7-bit weights (overflow fix everywhere)": replace(N, overflow_fix="enable"),
    "7-bit weights, α 0.8": replace(N, overflow_fix="enable", smooth_quant=0.8),
    "7-bit weights, α 0.8, feed-forward output float": replace(
        N, overflow_fix="enable", smooth_quant=0.8, keep_float=("ffn_output",)),
    "pxos default": DEFAULT,
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


def run(name: str, recipe: Recipe, texts, ref, cache: Path, emulate: bool) -> dict:
    """The figures of one recipe, from ``cache`` when it holds them."""
    key = hashlib.sha256(f"{recipe!r} {len(texts)} {emulate}".encode()).hexdigest()[:16]
    f = cache / f"{key}.json"
    if f.is_file():
        return json.loads(f.read_text())
    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        out = quantize("all-MiniLM-L6-v2", "int8", Path(tmp) / "q", recipe=recipe)
        r = {"name": name, "recipe": repr(recipe), "quantize_s": time.perf_counter() - t,
             **evaluate(out, texts, ref)}
        if emulate:
            r["emulated"] = emulated(out, texts, ref)
    cache.mkdir(parents=True, exist_ok=True)
    f.with_suffix(".tmp").write_text(json.dumps(r))
    os.replace(f.with_suffix(".tmp"), f)
    return r


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
    ap.add_argument("--only", default="", help="comma-separated recipe names (default: all)")
    ap.add_argument("--emulate", action="store_true", help="also run FakeQuantize in float")
    ap.add_argument("--sentences", type=int, default=1000)
    args = ap.parse_args()
    texts = verses(args.sentences, step=31)
    ref = embed(texts, precision="fp32", device="cpu")
    names = [n for n in args.only.split(",") if n] or list(RECIPES)
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
