"""A Hugging Face encoder folder → OpenVINO IR, once, cached on disk by content hash.

The IR takes ``input_ids``, ``attention_mask``, ``token_type_ids`` (int64, batch ×
sequence, both dynamic) and returns ``last_hidden_state`` (float32, batch × sequence ×
hidden). The cache entry is ``<pxos cache>/inference/<sha256>/model.xml|.bin``, keyed by
the bytes of the folder's config and weights and the OpenVINO version; it is written into
a temporary folder and renamed into place, so a failed conversion leaves nothing behind.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from pathlib import Path

from pxos.cache_folder import cache_folder
from pxos import extras
from pxos.errors import PxFileError

INPUTS = ("input_ids", "attention_mask", "token_type_ids")


def content_hash(folder: Path, salt: str = "") -> str:
    """sha256 over the config, weight and tokenizer files of ``folder`` (names and bytes)."""
    h = hashlib.sha256(salt.encode())
    for f in sorted(folder.iterdir()):
        if f.is_file() and (f.suffix in (".json", ".safetensors", ".bin")):
            h.update(f.name.encode())
            with open(f, "rb") as fh:
                for block in iter(lambda: fh.read(1 << 20), b""):
                    h.update(block)
    return h.hexdigest()


def require(module: str):
    """Import an optional runtime of the inference extra (``pxos.extras.require``).

    Raises:
        PxPackageError: it is not installed, naming the extra.
    """
    return extras.require(module, "inference", "pxos.inference")


def load_torch_encoder(folder: Path, attention: str = "eager"):
    """The transformers model of ``folder`` in eval mode. ``attention``: ``eager`` (what
    the OpenVINO and ONNX conversions trace) or ``sdpa`` (PyTorch's fused attention, for
    running on a GPU)."""
    transformers = require("transformers")
    try:
        model = transformers.AutoModel.from_pretrained(str(folder), attn_implementation=attention)
    except (OSError, ValueError) as e:
        raise PxFileError(f"cannot load the model in {folder}: {e}") from None
    return model.eval()


class _Encoder:
    """Wraps the encoder so that its one output is the last hidden state."""

    def __new__(cls, model):
        import torch

        class Enc(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.m = model

            def forward(self, input_ids, attention_mask, token_type_ids):
                return self.m(input_ids=input_ids, attention_mask=attention_mask,
                              token_type_ids=token_type_ids).last_hidden_state
        return Enc().eval()


def publish(tmp: Path, final: Path) -> Path:
    """Rename the finished folder ``tmp`` to ``final`` (another process may have won)."""
    try:
        os.replace(tmp, final)
    except OSError:
        shutil.rmtree(tmp, ignore_errors=True)
        if not (final / "model.xml").is_file():
            raise
    return final


def save_ir(model, xml: Path) -> None:
    """Convert a transformers encoder with ``openvino.convert_model`` and save it as FP32 IR
    at ``xml`` (inputs :data:`INPUTS`, dynamic batch × sequence; output
    ``last_hidden_state``)."""
    import torch
    ov = require("openvino")
    ex = torch.ones((2, 8), dtype=torch.int64)
    with torch.no_grad():
        m = ov.convert_model(_Encoder(model), example_input={
            "input_ids": ex, "attention_mask": ex, "token_type_ids": ex * 0})
    for port, name in zip(m.inputs, INPUTS):
        port.get_tensor().set_names({name})
    m.reshape({name: ov.PartialShape([-1, -1]) for name in INPUTS})
    m.outputs[0].get_tensor().set_names({"last_hidden_state"})
    ov.save_model(m, str(xml), compress_to_fp16=False)


def to_openvino_ir(folder: Path) -> Path:
    """The cached IR ``model.xml`` for the Hugging Face folder, converting it if needed."""
    ov = require("openvino")
    key = content_hash(folder, salt="ov-" + ov.__version__)
    root = cache_folder() / "inference"
    final = root / key
    if (final / "model.xml").is_file() and (final / "model.bin").is_file():
        return final / "model.xml"
    root.mkdir(parents=True, exist_ok=True)
    model = load_torch_encoder(folder)
    tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=root))
    try:
        save_ir(model, tmp / "model.xml")
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return publish(tmp, final) / "model.xml"


__all__ = ["INPUTS", "content_hash", "load_torch_encoder", "publish", "require",
           "save_ir", "to_openvino_ir"]
