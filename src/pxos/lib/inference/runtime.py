"""Sessions: one loaded model on one runtime and device, NumPy in, NumPy out.

- :class:`OpenVINOSession` — OpenVINO on the CPU (IR or ONNX; inputs shared, not copied).
- :class:`OnnxRuntimeSession` — ONNX Runtime (CUDA provider first where present).
- :class:`TorchSession` — a Hugging Face encoder in PyTorch, for NVIDIA GPUs (and as the
  CPU fallback when neither OpenVINO nor ONNX Runtime is installed).

Every session has ``inputs`` (name → (rank, NumPy dtype)), ``outputs`` (names) and
``run(feeds) -> dict``. :func:`check_feeds` turns wrong names, ranks and dtypes into
:class:`~pxos.errors.PxArgumentError` / :class:`~pxos.errors.PxShapeError` /
:class:`~pxos.errors.PxTypeError` before a runtime sees them.
"""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np

from pxos.errors import PxArgumentError, PxFileError, PxShapeError, PxTypeError
from pxos.lib.inference.convert import INPUTS, load_torch_encoder, require

PRECISIONS = ("auto", "fp32", "fp16", "bf16")
_OV_HINT = {"fp32": "f32", "fp16": "f16", "bf16": "bf16"}
_OV_TYPES = {"i64": np.int64, "i32": np.int32, "f32": np.float32, "f16": np.float16,
             "u8": np.uint8, "i8": np.int8, "boolean": np.bool_, "f64": np.float64}


def check_feeds(session, feeds: dict) -> dict:
    """Feeds as contiguous arrays of the session's dtypes; errors name the input."""
    spec = session.inputs
    if feeds.keys() != spec.keys():
        raise PxArgumentError(f"model inputs are {sorted(spec)}, got {sorted(feeds)}")
    out = {}
    for name, x in feeds.items():
        rank, dtype = spec[name]
        a = x if type(x) is np.ndarray else np.asarray(x)
        if rank is not None and a.ndim != rank:
            raise PxShapeError(f"input {name!r} must have rank {rank}, got shape {a.shape}")
        if a.dtype != dtype:
            same_kind = np.can_cast(a.dtype, dtype, casting="same_kind")
            if not same_kind:
                raise PxTypeError(f"input {name!r} must be {np.dtype(dtype).name}, "
                                  f"got {a.dtype.name}")
            a = a.astype(dtype)
        out[name] = a if a.flags.c_contiguous else np.ascontiguousarray(a)
    return out


def _quantized(model) -> bool:
    """Whether an OpenVINO model holds INT8 activations (NNCF's ``FakeQuantize`` nodes).
    Under precision ``auto`` its float parts then run in f32, not OpenVINO's CPU default
    (bf16 on a CPU with AMX): on an Intel Xeon with AMX-BF16 and AMX-FP16 (OpenVINO
    2026.4.1), all-MiniLM-L6-v2 quantized by pxos's default recipe gave a minimum cosine
    of 0.739 against sentence-transformers with bf16 float parts and 0.9991 with f32
    (96 verses, ``tests/lib/inference/test_int8.py``). ``precision="bf16"`` still asks
    for bf16."""
    return any(op.get_type_name() == "FakeQuantize" for op in model.get_ops())


class OpenVINOSession:
    """An OpenVINO compiled model on the CPU. ``precision``: ``auto`` (OpenVINO's default,
    bf16 where the CPU has it; f32 for a model with INT8 activations, :func:`_quantized`),
    ``fp32``, ``bf16`` or ``fp16`` (if the CPU can run it).

    ``streams=False`` (runtime ``openvino``): OpenVINO's latency hint, one request using
    every core. ``streams=True`` (runtime ``openvino-streams``): its throughput hint, as
    ``benchmark_app`` runs by default: the cores are split into several streams, and
    :meth:`run` splits a batch along axis 0 into one chunk per request of an
    ``AsyncInferQueue``, runs them at once and joins the outputs. Which of the two is
    faster for a model and batch is for the calibration to measure."""

    def __init__(self, path: Path, precision: str = "auto", device: str = "CPU",
                 streams: bool = False):
        ov = require("openvino")
        core = ov.Core()
        self.runtime = "openvino-streams" if streams else "openvino"
        config: dict = {"PERFORMANCE_HINT": "THROUGHPUT"} if streams else {}
        if precision != "auto":
            caps = core.get_property(device, "OPTIMIZATION_CAPABILITIES")
            need = {"fp16": "FP16", "bf16": "BF16", "fp32": "FP32"}[precision]
            if need not in caps:
                raise PxArgumentError(f"the {device} cannot run precision {precision!r}",
                                      hint=f"it supports {', '.join(caps)}")
            config["INFERENCE_PRECISION_HINT"] = _OV_HINT[precision]
        try:
            model = core.read_model(str(path))
            if precision == "auto" and _quantized(model):
                config["INFERENCE_PRECISION_HINT"] = "f32"  # see _quantized
            self.compiled = core.compile_model(model, device, config)
        except RuntimeError as e:
            raise PxFileError(f"OpenVINO cannot read {path}: {str(e).splitlines()[0]}") from None
        self.request = self.compiled.create_infer_request()
        self.inputs = {p.any_name: (None if p.partial_shape.rank.is_dynamic
                                    else p.partial_shape.rank.get_length(),
                                    _OV_TYPES.get(p.element_type.get_type_name(), np.float32))
                       for p in self.compiled.inputs}
        self.outputs = [p.any_name for p in self.compiled.outputs]
        n = self.compiled.get_property("OPTIMAL_NUMBER_OF_INFER_REQUESTS") if streams else 1
        self.queue = ov.AsyncInferQueue(self.compiled, n) if n > 1 else None
        self._out: list = []          # the joined outputs of a split run, filled by _done
        self._edges: list = []
        self._lock = threading.Lock()
        if self.queue is not None:
            self.queue.set_callback(self._done)

    def _done(self, request, index: int) -> None:
        """Copy request ``index``'s outputs into their rows of the joined outputs (one
        copy; the first request to finish allocates them, under the lock)."""
        lo, hi = self._edges[index], self._edges[index + 1]
        for j in range(len(self.outputs)):
            part = request.get_output_tensor(j).data
            with self._lock:
                if self._out[j] is None:
                    self._out[j] = np.empty((self._edges[-1],) + part.shape[1:], part.dtype)
            self._out[j][lo:hi] = part

    def run(self, feeds: dict, chunk: int | None = None) -> dict:
        """Outputs by name (copies; the inputs are shared with OpenVINO, not copied).

        With streams, the rows (axis 0) are split into one request per chunk, all in
        flight at once on the ``AsyncInferQueue`` (as ``benchmark_app`` keeps its requests
        busy) and joined in order: chunks of ``chunk`` rows if given and smaller than the
        input (``pxos.infer``'s ``batch_size``), else one equal part per request. Each
        request's outputs are copied once, straight into their rows of the result."""
        rows = {a.shape[0] for a in feeds.values() if a.ndim}
        if self.queue is None or len(rows) != 1 or next(iter(rows)) < 2:
            res = self.request.infer(feeds, share_inputs=True, share_outputs=False)
            return dict(zip(self.outputs, res.to_tuple()))
        total = next(iter(rows))
        if chunk is None or chunk >= total:
            k = min(len(self.queue), total)
            edges = [total * i // k for i in range(k + 1)]
        else:
            edges = list(range(0, total, chunk)) + [total]
        self._edges, self._out = edges, [None] * len(self.outputs)
        for i in range(len(edges) - 1):
            self.queue.start_async({n: v[edges[i]:edges[i + 1]] for n, v in feeds.items()},
                                   userdata=i, share_inputs=True)
        self.queue.wait_all()
        return dict(zip(self.outputs, self._out))


class OnnxRuntimeSession:
    """An ONNX Runtime session (CUDA provider first when ``device`` is ``cuda``)."""

    runtime = "onnxruntime"
    _TYPES = {"tensor(int64)": np.int64, "tensor(int32)": np.int32,
              "tensor(float)": np.float32, "tensor(float16)": np.float16,
              "tensor(bool)": np.bool_, "tensor(double)": np.float64}

    def __init__(self, path: Path, device: str = "cpu"):
        ort = require("onnxruntime")
        providers = ["CPUExecutionProvider"]
        if device == "cuda":
            providers.insert(0, "CUDAExecutionProvider")
        try:
            self.sess = ort.InferenceSession(str(path), providers=providers)
        except RuntimeError as e:
            raise PxFileError(f"ONNX Runtime cannot read {path}: {e}") from None
        self.inputs = {i.name: (len(i.shape), self._TYPES.get(i.type, np.float32))
                       for i in self.sess.get_inputs()}
        self.outputs = [o.name for o in self.sess.get_outputs()]

    def run(self, feeds: dict) -> dict:
        """Outputs by name."""
        return dict(zip(self.outputs, self.sess.run(None, feeds)))


class TorchSession:
    """A Hugging Face encoder in PyTorch: inputs ``input_ids``, ``attention_mask``,
    ``token_type_ids`` → ``last_hidden_state``. fp16 on CUDA with ``precision`` fp16 or
    auto, with PyTorch's fused attention (``sdpa``); CPU runs fp32 only."""

    runtime = "torch"

    def __init__(self, folder: Path, device: str = "cpu", precision: str = "auto"):
        import torch
        self.torch = torch
        if device == "cpu" and precision not in ("auto", "fp32"):
            raise PxArgumentError(f"PyTorch on the CPU cannot run precision {precision!r} here",
                                  hint="use precision='fp32' or the OpenVINO runtime")
        dtype = torch.float32
        if device == "cuda" and precision in ("auto", "fp16"):
            dtype = torch.float16
        elif precision == "bf16":
            dtype = torch.bfloat16
        self.device = device
        attention = "sdpa" if device == "cuda" else "eager"
        self.model = load_torch_encoder(folder, attention).to(device=device, dtype=dtype)
        self.inputs = {name: (2, np.int64) for name in INPUTS}
        self.outputs = ["last_hidden_state"]

    def _hidden(self, feeds: dict):
        t = self.torch
        args = {k: t.from_numpy(v).to(self.device, non_blocking=True) for k, v in feeds.items()}
        return self.model(**args).last_hidden_state, args["attention_mask"]

    def run(self, feeds: dict) -> dict:
        """Outputs by name, as float32 NumPy arrays."""
        with self.torch.inference_mode():
            out, _ = self._hidden(feeds)
            return {"last_hidden_state": out.float().cpu().numpy()}

    def run_torch(self, feeds: dict) -> dict:
        """Outputs by name as float32 torch tensors on the session's device, for feeds
        that are int64 torch tensors there already (GPU inputs, without copies; see
        :func:`pxos.lib.inference.residency.check_tensors`)."""
        with self.torch.inference_mode():
            return {"last_hidden_state": self.model(**feeds).last_hidden_state.float()}

    def run_pooled(self, feeds: dict) -> np.ndarray:
        """Mean over real tokens, L2-normalised, computed on the device: float32 (n, d).
        Only the pooled rows cross to the host, not the (n, seq, d) hidden states."""
        with self.torch.inference_mode():
            out, mask = self._hidden(feeds)
            m = mask.unsqueeze(-1).to(self.torch.float32)
            mean = (out.float() * m).sum(1) / m.sum(1).clamp_min(1e-9)
            unit = self.torch.nn.functional.normalize(mean, dim=1, eps=1e-12)
            return unit.cpu().numpy()


__all__ = ["OnnxRuntimeSession", "OpenVINOSession", "PRECISIONS", "TorchSession",
           "check_feeds"]
