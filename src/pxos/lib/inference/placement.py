"""Where a model runs: the runtime, device, batch size and length buckets that
:func:`pxos.infer` and :func:`pxos.embed` use, and why (:func:`plan`, :func:`explain`).

With a calibration of the model on this machine (:mod:`pxos.lib.inference.measure`,
``pxos infer MODEL --calibrate``), the choice is the measured fastest: the (runtime,
device, batch) with the most sentences/s, on the device asked for if one was, and the
length bucket set measured fastest there (:func:`pxos.lib.inference.calibration.choose`).
Without one, a fixed rule (the docs' table):

- inputs already on an NVIDIA GPU (CuPy, torch, any DLPack / CUDA array interface
  producer) → that GPU, unless the model is an OpenVINO IR (no CUDA device: CPU, with the
  inputs copied to the host);
- ``auto`` → ``cuda`` for an ONNX or Hugging Face model where PyTorch sees a GPU, else
  ``cpu``;
- ``cuda``: Hugging Face → PyTorch, ONNX → ONNX Runtime's CUDA provider;
- ``cpu``: OpenVINO if installed, else ONNX Runtime (ONNX) or PyTorch (Hugging Face).
"""

from __future__ import annotations

from pxos.errors import PxArgumentError
from pxos.extras import installed
from pxos.lib.inference import calibration
from pxos.lib.inference.formats import EXTRA, detect, resolve
from pxos.lib.inference.runtime import PRECISIONS

DEVICES = ("auto", "cpu", "cuda")


def cuda_available() -> bool:
    """Whether PyTorch is installed and sees an NVIDIA GPU."""
    if not installed("torch"):
        return False
    import torch
    return torch.cuda.is_available()


def runtimes(fmt: str, device: str) -> list[str]:
    """The installed runtimes that can run a ``fmt`` model on ``device``, preferred first
    (``openvino-streams`` is OpenVINO with its throughput hint and a batch split across
    streams; see :class:`~pxos.lib.inference.runtime.OpenVINOSession`)."""
    if device == "cuda":
        want = {"hf": ["torch"], "onnx": ["onnxruntime"], "openvino": []}[fmt]
    else:
        want = {"hf": ["openvino", "openvino-streams", "torch"],
                "onnx": ["openvino", "openvino-streams", "onnxruntime"],
                "openvino": ["openvino", "openvino-streams"]}[fmt]
    return [r for r in want if installed(r.split("-")[0])]


def _static(fmt: str, device: str, why_dev: str) -> tuple[str, str]:
    if device == "cuda":
        if fmt == "openvino":
            raise PxArgumentError("OpenVINO IR cannot run on CUDA (OpenVINO has no CUDA "
                                  "device)", hint="give the ONNX or Hugging Face model")
        rt = "torch" if fmt == "hf" else "onnxruntime"
        return rt, f"{why_dev}; OpenVINO has no CUDA device, so {rt}"
    found = runtimes(fmt, "cpu")
    if not found:
        raise PxArgumentError(f"no runtime installed for a {fmt} model on the CPU", hint=EXTRA)
    if found[0] == "openvino":
        return "openvino", f"{why_dev}; OpenVINO is installed (preferred on the CPU)"
    return found[0], f"{why_dev}; OpenVINO is not installed ({EXTRA})"


def plan(model, device: str = "auto", precision: str = "auto", *,
         on_gpu: bool = False) -> dict:
    """The choice :func:`pxos.infer` makes for ``model``: a dict with ``format``,
    ``path``, ``runtime``, ``device``, ``batch`` (None: the caller's), ``bucket`` (a
    :mod:`~pxos.lib.inference.buckets` set), ``calibrated`` (bool) and ``why`` (words).
    ``on_gpu``: the inputs are on an NVIDIA GPU. Raises PxArgumentError (unknown device
    or precision, a device the format cannot use, no runtime installed) and PxFileError
    (missing or unknown model)."""
    if device not in DEVICES:
        raise PxArgumentError(f"unknown device {device!r}", hint=f"one of {', '.join(DEVICES)}")
    if precision not in PRECISIONS:
        raise PxArgumentError(f"unknown precision {precision!r}",
                              hint=f"one of {', '.join(PRECISIONS)}")
    fmt, path = detect(resolve(model))
    base = {"format": fmt, "path": str(path), "batch": None, "bucket": "exact",
            "calibrated": False}
    why_dev = "asked for"
    if device == "auto" and on_gpu:
        device = "cuda" if fmt != "openvino" else "cpu"
        why_dev = ("the inputs are on the GPU" if device == "cuda" else
                   "the inputs are on the GPU, but OpenVINO has no CUDA device: they are "
                   "copied to the host")
    rec = calibration.load(path, precision)
    picked = calibration.choose(rec, None if device == "auto" else device) if rec else None
    if picked is not None:
        why = picked.pop("why") if why_dev == "asked for" else f"{why_dev}; {picked.pop('why')}"
        return {**base, **picked, "calibrated": True, "why": why}
    if device == "auto":
        device = "cuda" if fmt != "openvino" and cuda_available() else "cpu"
        why_dev = "an NVIDIA GPU is present" if device == "cuda" else "no NVIDIA GPU"
    rt, why = _static(fmt, device, why_dev)
    if rec is None:
        why += "; not calibrated (pxos infer MODEL --calibrate measures the choice)"
    return {**base, "runtime": rt, "device": device, "why": why}


def explain(model, device: str = "auto", precision: str = "auto", *,
            on_gpu: bool = False) -> str:
    """One line: which runtime, device, batch and buckets :func:`pxos.infer` picks for
    ``model`` (with inputs on the GPU if ``on_gpu``), and why (the calibration's figures
    when there is one)."""
    p = plan(model, device, precision, on_gpu=on_gpu)
    batch = f", batch {p['batch']}, buckets {p['bucket']!r}" if p["calibrated"] else ""
    return (f"{p['format']} model {p['path']}: {p['runtime']} on {p['device']}{batch} "
            f"({p['why']})")


__all__ = ["DEVICES", "PRECISIONS", "cuda_available", "explain", "has", "plan", "runtimes"]
