"""``pxos.infer``: run a model file on NumPy inputs with one call.

The runtime follows the format and device: OpenVINO IR / ONNX / Hugging Face folder on the
CPU → OpenVINO (a Hugging Face folder is converted once and cached), or ONNX Runtime when
OpenVINO is missing; ``device="cuda"`` (or ``auto`` with an NVIDIA GPU and a Hugging Face
folder) → PyTorch (ONNX → ONNX Runtime's CUDA provider). :func:`explain` says which and why.
Loaded sessions are kept per (path, mtime, device, precision), so a second call costs one
dictionary lookup plus the request.
"""

from __future__ import annotations

import importlib.util
import os
import time
from pathlib import Path

import numpy as np

from pxos.errors import PxArgumentError
from pxos.lib.inference import runtime as RT
from pxos.lib.inference.convert import to_openvino_ir
from pxos.lib.inference.formats import EXTRA, detect, resolve

DEVICES = ("auto", "cpu", "cuda")
RECHECK_S = 1.0   # seconds between checks that a cached model's file is unchanged
_SESSIONS: dict = {}
_FAST: dict = {}


def _has(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def _cuda() -> bool:
    if not _has("torch"):
        return False
    import torch
    return torch.cuda.is_available()


def plan(model, device: str = "auto", precision: str = "auto") -> dict:
    """The choice :func:`infer` makes: ``{"format", "path", "runtime", "device", "why"}``."""
    if device not in DEVICES:
        raise PxArgumentError(f"unknown device {device!r}", hint=f"one of {', '.join(DEVICES)}")
    if precision not in RT.PRECISIONS:
        raise PxArgumentError(f"unknown precision {precision!r}",
                              hint=f"one of {', '.join(RT.PRECISIONS)}")
    fmt, path = detect(resolve(model))
    if device == "auto":
        device = "cuda" if fmt != "openvino" and _cuda() else "cpu"
        why_dev = "an NVIDIA GPU is present" if device == "cuda" else "no NVIDIA GPU"
    else:
        why_dev = "asked for"
    if device == "cuda":
        if fmt == "openvino":
            raise PxArgumentError("OpenVINO IR cannot run on CUDA (OpenVINO has no CUDA "
                                  "device)", hint="give the ONNX or Hugging Face model")
        rt = "torch" if fmt == "hf" else "onnxruntime"
        why = f"{why_dev}; OpenVINO has no CUDA device, so {rt}"
    elif _has("openvino"):
        rt, why = "openvino", f"{why_dev}; OpenVINO is installed (preferred on the CPU)"
    elif fmt == "onnx" and _has("onnxruntime"):
        rt, why = "onnxruntime", f"{why_dev}; OpenVINO is not installed"
    elif fmt == "hf":
        rt, why = "torch", f"{why_dev}; OpenVINO is not installed ({EXTRA})"
    else:
        raise PxArgumentError(f"no runtime installed for a {fmt} model on the CPU", hint=EXTRA)
    return {"format": fmt, "path": str(path), "runtime": rt, "device": device, "why": why}


def session(model, device: str = "auto", precision: str = "auto"):
    """The (cached) session :func:`infer` would use. A repeated call with the same
    arguments costs one dictionary lookup; the file's mtime is checked again (one
    ``os.stat``, about 12 µs in a VM) once :data:`RECHECK_S` seconds have passed since the
    last check, so a model file replaced on disk is picked up within that time."""
    fast = (model if isinstance(model, (str, Path)) else str(model), device, precision)
    hit = _FAST.get(fast)
    if hit is not None:
        now = time.monotonic()
        if now < hit[3]:
            return hit[2]
        try:
            if os.stat(hit[0]).st_mtime_ns == hit[1]:
                hit[3] = now + RECHECK_S
                return hit[2]
        except OSError:
            pass
    p = plan(model, device, precision)
    path = Path(p["path"])
    key = (str(path.resolve()), path.stat().st_mtime_ns, p["device"], precision, p["runtime"])
    s = _SESSIONS.get(key)
    if s is None:
        if p["runtime"] == "openvino":
            ir = to_openvino_ir(path) if p["format"] == "hf" else path
            s = RT.OpenVINOSession(ir, precision)
        elif p["runtime"] == "onnxruntime":
            if precision not in ("auto", "fp32"):
                raise PxArgumentError(f"ONNX Runtime here runs the model's own precision, "
                                      f"not {precision!r}", hint="quantize the model first")
            s = RT.OnnxRuntimeSession(path, p["device"])
        else:
            s = RT.TorchSession(path, p["device"], precision)
        _SESSIONS[key] = s
    _FAST[fast] = [str(path), key[1], s, time.monotonic() + RECHECK_S]
    return s


def _feeds(sess, inputs) -> dict:
    if isinstance(inputs, dict):
        return inputs
    if isinstance(inputs, np.ndarray):
        inputs = [inputs]
    names = list(sess.inputs)
    if not isinstance(inputs, (list, tuple)) or len(inputs) != len(names):
        raise PxArgumentError(f"the model takes {len(names)} inputs {names}; give a dict "
                              f"name → array or a list in that order")
    return dict(zip(names, inputs))


def infer(model, inputs, *, device: str = "auto", precision: str = "auto",
          batch_size: int | None = None) -> dict:
    """Run ``model`` on ``inputs``; return ``{output name: numpy array}``.

    ``model``: a path (OpenVINO ``.xml`` with its ``.bin``, ``.onnx``, a Hugging Face folder)
    or ``"all-MiniLM-L6-v2"``. ``inputs``: a dict name → array, a list in the model's input
    order, or one array; each is used without a copy when already contiguous in the model's
    dtype. ``batch_size`` splits axis 0 into chunks and concatenates the outputs.
    ``precision``: ``auto``, ``fp32``, ``fp16``, ``bf16``. Raises PxFileError (missing or
    unknown or corrupt model), PxArgumentError (input names, device, precision, missing
    runtime with the extra to install), PxShapeError / PxTypeError (rank, dtype)."""
    sess = session(model, device, precision)
    feeds = RT.check_feeds(sess, _feeds(sess, inputs))
    if batch_size is None:
        return sess.run(feeds)
    n = {a.shape[0] for a in feeds.values() if a.ndim}
    if len(n) != 1 or next(iter(n)) <= batch_size:
        return sess.run(feeds)
    if batch_size < 1:
        raise PxArgumentError(f"batch_size must be ≥ 1, got {batch_size}")
    total = next(iter(n))
    parts = [sess.run({k: v[i:i + batch_size] for k, v in feeds.items()})
             for i in range(0, total, batch_size)]
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}


def explain(model, device: str = "auto", precision: str = "auto") -> str:
    """One line: which runtime and device :func:`infer` picks for ``model``, and why."""
    p = plan(model, device, precision)
    return f"{p['format']} model {p['path']}: {p['runtime']} on {p['device']} ({p['why']})"


__all__ = ["explain", "infer", "plan", "session"]
