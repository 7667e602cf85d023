"""Which layers does top-1 agreement need in float? A per-layer sensitivity sweep of INT8.

NNCF quantizes all-MiniLM-L6-v2 twice with pxos's recipe (SmoothQuant α 0.8, 7-bit
weights): once with every MatMul in INT8 (``B``) and once with the attention-output and
feed-forward MatMuls float (``A``, the default). A *group* is one role of one layer
(attention output, feed-forward input, feed-forward output of layers 0–5: 18 groups).
A configuration (a set of groups kept float) is built from ``B`` by giving each float
group's MatMul its input without FakeQuantize, scaled by ``A``'s SmoothQuant factor, and
``A``'s float weights and bias, so that no configuration needs a new NNCF run (the row
"A itself" checks that every group float gives A's figures). Each is
scored as ``pxos quantize`` reports (mean / min cosine to FP32, top-1 nearest-neighbour
agreement) on the 1,000 verses ``verses(1000, step=31)``.

Steps: every group float (≈ the default), none float (≈ all INT8), then each group alone
in INT8 (its cost: the loss of mean cosine, on every 5th of the verses, to save time;
the mean moves smoothly where top-1 moves by whole verses), then the longest run of the
cheapest groups that can go back to INT8 with the goals (min cosine ≥ 0.99, top-1 ≥ 0.95)
met, found by bisection. Scored configurations are reused from ``--out`` when the script
runs again. The candidate it prints is then confirmed by a real NNCF run
(``int8_recipes.py --only "per-layer"``, the recipe ``int8.PER_LAYER``).

    PYTHONPATH=src python3 benchmarks/int8_layers.py [--sentences 1000]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from pxos.lib.inference import embed
from pxos.lib.inference.buckets import pad
from pxos.lib.inference.convert import to_openvino_ir
from pxos.lib.inference.embed import pool, tokenize
from pxos.lib.inference.formats import bundled_model
from pxos.lib.inference.int8 import DEFAULT, ROLES, quantize_int8
from pxos.lib.inference.quantize import agreement
from pxos.lib.inference.sentences import verses

ROOT = Path(__file__).resolve().parents[1]
SWEPT = ("attention_output", "ffn_input", "ffn_output")
GROUPS = [(role, layer) for layer in range(6) for role in SWEPT]


def matmuls(model) -> dict:
    """{(role, layer): MatMul node} of the encoder's swept MatMuls."""
    out = {}
    for op in model.get_ordered_ops():
        if op.get_type_name() != "MatMul":
            continue
        name = op.get_friendly_name()
        for role in SWEPT:
            if re.fullmatch(ROLES[role], name):
                out[(role, int(re.search(r"layer\.(\d+)\.", name).group(1)))] = op
    return out


def bias_add(mm):
    """The Add that follows a MatMul (the linear layer's bias)."""
    (target,) = mm.output(0).get_target_inputs()
    return target.get_node()


def constant_input(node):
    """The one input of ``node`` that a Constant gives."""
    (value,) = [v for v in node.input_values() if v.get_node().get_type_name() == "Constant"]
    return value


def float_parts(model) -> dict:
    """{group: (SmoothQuant scale, weight, bias)} outputs of the float model ``model``
    (NNCF applies SmoothQuant to the MatMuls it leaves float too: a Multiply of the input
    by a constant, the weights scaled to match). The caller keeps ``model`` alive: these
    nodes are only referenced from it."""
    out = {}
    for g, mm in matmuls(model).items():
        scale = mm.input_value(0).get_node()
        assert scale.get_type_name() == "Multiply"
        out[g] = (constant_input(scale), mm.input_value(1), bias_add(mm).input_value(1))
    return out


def hybrid(b_xml: Path, parts: dict, floats: set):
    """A fresh copy of the all-INT8 model with the groups in ``floats`` computed in float
    (A's weights and bias, from ``parts``)."""
    import openvino as ov
    import openvino.opset13 as ops
    model = ov.Core().read_model(str(b_xml))
    for g, mm in matmuls(model).items():
        if g not in floats:
            continue
        fq = mm.input_value(0).get_node()
        scale = fq.input_value(0).get_node()
        assert fq.get_type_name() == "FakeQuantize" and scale.get_type_name() == "Multiply"
        factor, weight, bias = parts[g]
        x = [v for v in scale.input_values() if v.get_node().get_type_name() != "Constant"][0]
        mm.input(0).replace_source_output(ops.multiply(x, factor).output(0))
        mm.input(1).replace_source_output(weight)
        bias_add(mm).input(1).replace_source_output(bias)
    model.validate_nodes_and_infer_types()
    return model


def score(model, ids: list, ref: np.ndarray) -> dict:
    """Agreement of ``model``'s embeddings of the tokenized verses ``ids`` with ``ref``."""
    import openvino as ov
    req = ov.Core().compile_model(model, "CPU").create_infer_request()
    order = np.argsort([len(i) for i in ids], kind="stable")
    emb = np.empty_like(ref)
    for s in range(0, len(order), 32):
        rows = order[s:s + 32]
        feeds = pad([ids[r] for r in rows], "exact")
        emb[rows] = pool(req.infer(feeds)[0], feeds["attention_mask"])
    return agreement(ref, emb)


def goals_met(r: dict) -> bool:
    return r["min_cosine"] >= 0.99 and r["top1_agreement"] >= 0.95


def main() -> None:
    import openvino as ov
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/int8_layers.json")
    ap.add_argument("--sentences", type=int, default=1000)
    ap.add_argument("--work", type=Path, default=ROOT / "build/int8_layers")
    ap.add_argument("--rank-sentences", type=int, default=200,
                    help="verses (spread over the 1,000) that rank the groups alone")
    args = ap.parse_args()
    folder = bundled_model()
    texts = verses(args.sentences, step=31)
    args.work.mkdir(parents=True, exist_ok=True)
    ref_file = args.work / f"ref{len(texts)}.npy"
    if not ref_file.is_file():
        np.save(ref_file, embed(texts, precision="fp32", device="cpu"))
    ref = np.load(ref_file)
    ids = tokenize(str(folder), texts)
    core, ir = ov.Core(), to_openvino_ir(folder)
    b_xml, a_xml = args.work / "all_int8.xml", args.work / "float.xml"
    for xml, keep in ((b_xml, ()), (a_xml, SWEPT)):
        if not xml.is_file():
            q = quantize_int8(core.read_model(str(ir)), folder, replace(DEFAULT, keep_float=keep))
            ov.save_model(q, str(xml), compress_to_fp16=False)
    a_model = core.read_model(str(a_xml))
    parts = float_parts(a_model)
    old = json.loads(args.out.read_text())["rows"] if args.out.is_file() else []
    done = {(tuple(r["int8"]), r.get("n", len(texts))): r for r in old if "int8" in r}
    every = np.arange(len(texts))
    few = every[::max(1, len(texts) // args.rank_sentences)]
    res: dict = {"load_start": os.getloadavg()[0],
                 "rows": [r for r in old if r["label"] == "A itself"]}

    def run(label: str, floats: set, rows: np.ndarray = every) -> dict:
        t = time.perf_counter()
        key = sorted(f"{g[0]}.{g[1]}" for g in set(GROUPS) - floats)
        r = {**done[(tuple(key), len(rows))], "label": label} \
            if (tuple(key), len(rows)) in done else {
            "label": label, "int8": key, "n": len(rows),
            **score(hybrid(b_xml, parts, floats), [ids[i] for i in rows], ref[rows]),
            "s": time.perf_counter() - t}
        res["rows"].append(r)
        print(f"{label:40s} mean {r['mean_cosine']:.5f} min {r['min_cosine']:.4f} "
              f"top1 {r['top1_agreement']:.3f}", flush=True)
        tmp = args.out.with_suffix(".tmp")
        args.out.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(json.dumps(res, indent=2))
        os.replace(tmp, args.out)
        return r

    if not done:
        r = {"label": "A itself", **score(core.read_model(str(a_xml)), ids, ref)}
        res["rows"].append(r)
        print("A itself", r, flush=True)
    run("all float (≈ default)", set(GROUPS))
    run("all int8", set())
    alone = {g: run(f"only {g[0]}.{g[1]} int8 ({len(few)})", set(GROUPS) - {g}, few)
             for g in GROUPS}
    cost = sorted(GROUPS, key=lambda g: -alone[g]["mean_cosine"])
    res["order"] = [f"{g[0]}.{g[1]}" for g in cost]
    # the longest prefix of ``cost`` that can go back to INT8 with the goals met, by
    # bisection (the figures fall, give or take a verse, as groups are added)
    lo, hi, best = 0, len(cost), None
    while lo < hi:
        k = (lo + hi + 1) // 2
        r = run(f"cheapest {k} int8", set(GROUPS) - set(cost[:k]))
        if goals_met(r):
            lo, best = k, r
        else:
            hi = k - 1
    kept = set(GROUPS) - set(cost[:lo])
    res["candidate_float"] = sorted(f"{g[0]}.{g[1]}" for g in kept)
    res["candidate"] = best
    res["load_end"] = os.getloadavg()[0]
    args.out.write_text(json.dumps(res, indent=2))
    print("float groups of the candidate:", res["candidate_float"])


if __name__ == "__main__":
    main()
