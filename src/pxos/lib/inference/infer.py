"""``pxos.infer``: run a model file on NumPy (or GPU) inputs with one call.

:func:`pxos.lib.inference.placement.plan` picks the runtime, device, batch size and
length buckets (measured, when the model is calibrated; else a fixed rule) and says why.
Loaded sessions are kept per (path, mtime, runtime, device, precision), so a second call
costs one dictionary lookup plus the request. Inputs on an NVIDIA GPU (CuPy, torch, any
DLPack or CUDA array interface producer) run there without a copy and give CuPy outputs
(:mod:`pxos.lib.inference.residency`).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np

from pxos.errors import PxArgumentError
from pxos.lib.inference import residency
from pxos.lib.inference import runtime as RT
from pxos.lib.inference.convert import to_openvino_ir
from pxos.lib.inference.placement import explain, plan

RECHECK_S = 1.0   # seconds between checks that a cached model's file is unchanged
_SESSIONS: dict = {}
_FAST: dict = {}


def open_session(path: Path, fmt: str, runtime: str, device: str, precision: str = "auto"):
    """The loaded session of the model at ``path`` (format ``fmt``) on ``runtime`` and
    ``device``, loaded once per (path, mtime, runtime, device, precision). Raises
    PxArgumentError (precision the runtime or device cannot run, missing runtime) and
    PxFileError (corrupt model)."""
    key = (str(path.resolve()), path.stat().st_mtime_ns, device, precision, runtime)
    s = _SESSIONS.get(key)
    if s is None:
        if runtime in ("openvino", "openvino-streams"):
            ir = to_openvino_ir(path) if fmt == "hf" else path
            s = RT.OpenVINOSession(ir, precision, streams=runtime == "openvino-streams")
        elif runtime == "onnxruntime":
            if precision not in ("auto", "fp32"):
                raise PxArgumentError(f"ONNX Runtime here runs the model's own precision, "
                                      f"not {precision!r}", hint="quantize the model first")
            s = RT.OnnxRuntimeSession(path, device)
        else:
            s = RT.TorchSession(path, device, precision)
        _SESSIONS[key] = s
    return s


def placed(model, device: str = "auto", precision: str = "auto", on_gpu: bool = False):
    """(session, plan) for :func:`infer`: the plan of
    :func:`~pxos.lib.inference.placement.plan` and its loaded session. A repeated call
    with the same arguments costs one dictionary lookup; the file's mtime is checked again
    (one ``os.stat``, about 12 µs in a VM) once :data:`RECHECK_S` seconds have passed since
    the last check, so a model file replaced on disk is picked up within that time."""
    fast = (model if isinstance(model, (str, Path)) else str(model), device, precision, on_gpu)
    hit = _FAST.get(fast)
    if hit is not None:
        now = time.monotonic()
        if now < hit[3]:
            return hit[2], hit[4]
        try:
            if os.stat(hit[0]).st_mtime_ns == hit[1]:
                hit[3] = now + RECHECK_S
                return hit[2], hit[4]
        except OSError:
            pass
    p = plan(model, device, precision, on_gpu=on_gpu)
    path = Path(p["path"])
    s = open_session(path, p["format"], p["runtime"], p["device"], precision)
    _FAST[fast] = [str(path), path.stat().st_mtime_ns, s, time.monotonic() + RECHECK_S, p]
    return s, p


def replan() -> None:
    """Forget the plans made so far (loaded sessions stay), so that the next call plans
    again: after a calibration, for instance."""
    _FAST.clear()


def session(model, device: str = "auto", precision: str = "auto"):
    """The (cached) session :func:`infer` would use for host inputs."""
    return placed(model, device, precision)[0]


def _feeds(sess, inputs) -> dict:
    if isinstance(inputs, dict):
        return inputs
    if not isinstance(inputs, (list, tuple)):
        inputs = [inputs]
    names = list(sess.inputs)
    if len(inputs) != len(names):
        raise PxArgumentError(f"the model takes {len(names)} inputs {names}; give a dict "
                              f"name → array or a list in that order")
    return dict(zip(names, inputs))


def _run(fn, feeds: dict, batch_size: int | None, concat) -> dict:
    """``fn(feeds)``, or ``fn`` on chunks of ``batch_size`` rows along axis 0 with the
    outputs joined by ``concat`` (``np.concatenate`` or ``torch.cat``)."""
    n = {a.shape[0] for a in feeds.values() if len(a.shape)}
    if batch_size is None or len(n) != 1 or next(iter(n)) <= batch_size:
        return fn(feeds)
    total = next(iter(n))
    parts = [fn({k: v[i:i + batch_size] for k, v in feeds.items()})
             for i in range(0, total, batch_size)]
    return {k: concat([p[k] for p in parts]) for k in parts[0]}


def _infer_gpu(model, inputs, device, precision, batch_size) -> dict:
    """GPU inputs: PyTorch on the GPU without copies, or via the host for runtimes with
    no CUDA path; outputs as CuPy arrays."""
    residency.cupy_module()                          # CuPy missing: fail before any work
    sess, p = placed(model, device, precision, on_gpu=True)
    bs = batch_size or p["batch"]
    if getattr(sess, "run_torch", None) is not None and p["device"] == "cuda":
        import torch
        feeds = residency.check_tensors(sess.inputs, _feeds(sess, inputs), sess.device)
        out = _run(sess.run_torch, feeds, bs, torch.cat)
        return {k: residency.to_cupy(v) for k, v in out.items()}
    host = {k: residency.to_host(v) for k, v in _feeds(sess, inputs).items()}
    feeds = RT.check_feeds(sess, host)
    out = _run(sess.run, feeds, bs, np.concatenate)
    return {k: residency.to_cupy(v) for k, v in out.items()}


def infer(model, inputs, *, device: str = "auto", precision: str = "auto",
          batch_size: int | None = None) -> dict:
    """Run ``model`` on ``inputs``; return ``{output name: array}``: NumPy arrays, or CuPy
    arrays when the inputs were on an NVIDIA GPU.

    ``model``: a path (OpenVINO ``.xml`` with its ``.bin``, ``.onnx``, a Hugging Face folder)
    or ``"all-MiniLM-L6-v2"``. ``inputs``: a dict name → array, a list in the model's input
    order, or one array; NumPy arrays are used without a copy when already contiguous in
    the model's dtype, and GPU arrays (CuPy, torch, DLPack) run on the GPU without a copy.
    ``batch_size`` splits axis 0 into chunks and concatenates the outputs (default: the
    calibrated batch, if the model is calibrated, else one run). ``precision``: ``auto``,
    ``fp32``, ``fp16``, ``bf16``. Raises PxFileError (missing or unknown or corrupt model),
    PxArgumentError (input names, device, precision, missing runtime with the extra to
    install, GPU inputs without CuPy), PxShapeError / PxTypeError (rank, dtype)."""
    if batch_size is not None and batch_size < 1:
        raise PxArgumentError(f"batch_size must be ≥ 1, got {batch_size}")
    if residency.any_on_gpu(inputs):
        return _infer_gpu(model, inputs, device, precision, batch_size)
    sess, p = placed(model, device, precision)
    feeds = RT.check_feeds(sess, _feeds(sess, inputs))
    bs = batch_size or p["batch"]
    if bs is None:
        return sess.run(feeds)
    if getattr(sess, "queue", None) is not None:      # streams: every chunk in flight at once
        return sess.run(feeds, chunk=bs)
    return _run(sess.run, feeds, bs, np.concatenate)


__all__ = ["explain", "infer", "open_session", "placed", "plan", "replan", "session"]
