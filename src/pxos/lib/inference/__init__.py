"""``pxos.inference``: inference as one call — ``embed`` (sentence embeddings, matching
sentence-transformers), ``infer`` (OpenVINO IR / ONNX / Hugging Face folders on OpenVINO,
ONNX Runtime or PyTorch, NumPy in and out), ``quantize`` (fp16, int8, int4, binary,
ternary with a report). ``docs/inference.md``.
"""

from pxos.lib.inference.embed import embed
from pxos.lib.inference.infer import explain, infer, plan

__all__ = ["embed", "explain", "infer", "plan"]
