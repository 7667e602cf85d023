"""``pxos.inference``: inference as one call — ``embed`` (sentence embeddings, matching
sentence-transformers), ``infer`` (OpenVINO IR / ONNX / Hugging Face folders on OpenVINO,
ONNX Runtime or PyTorch; NumPy in and out, or CuPy in and out on the GPU), ``calibrate``
(measure runtimes, batch sizes and length buckets; ``explain`` says what was chosen and
why), ``quantize`` (fp16, int8, int4, binary, ternary with a report).
``docs/inference.md``.
"""

from pxos.lib.inference.embed import embed
from pxos.lib.inference.infer import explain, infer, plan
from pxos.lib.inference.measure import calibrate

__all__ = ["calibrate", "embed", "explain", "infer", "plan"]
