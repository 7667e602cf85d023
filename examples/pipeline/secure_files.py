"""A secure file pipeline in Python: validate a PNG, compress it, encrypt it (AES-256-GCM),
write it; then read it back, decrypt, decompress and check its SHA-256.

    PXOS_DEMO_KEY=<64 hex digits> python3 examples/pipeline/secure_files.py [--device c] [--out DIR]

The key comes from the environment (never from the source); without ``PXOS_DEMO_KEY`` the
demo makes a random one and says so. ``--device`` runs the cipher and the hash as pxos
kernels on that backend instead of the CPU libraries.
"""

from __future__ import annotations

import argparse
import os
import secrets
import tempfile
from pathlib import Path

import numpy as np

import pxos.compress
import pxos.crypto
from pxos.host import pipeline

PHOTO = Path(__file__).resolve().parents[1] / "data" / "astronaut.png"


def seal(src: Path, dst: Path, key: bytes, device: str) -> bytes:
    """Write ``nonce ‖ GCM(zstd(src))`` to ``dst``; return the SHA-256 of ``src``."""
    raw = np.fromfile(src, np.uint8)
    pipeline.validate(raw, "png")
    nonce = secrets.token_bytes(12)  # a fresh nonce for every file
    packed = pxos.compress.compress(raw, "zstd", level=3)
    sealed = pxos.crypto.encrypt(packed, "aes256gcm", key, nonce, device=device)
    dst.write_bytes(nonce + sealed.tobytes())
    return pxos.crypto.sha256(raw, device=device).tobytes()


def open_sealed(path: Path, key: bytes, device: str) -> np.ndarray:
    """The original bytes of a file written by ``seal`` (PxRuntimeError if it was changed)."""
    blob = np.fromfile(path, np.uint8)
    packed = pxos.crypto.decrypt(blob[12:], "aes256gcm", key, blob[:12], device=device)
    return pxos.compress.decompress(packed, "zstd")


def run(device: str = "host", out: Path | None = None) -> dict[str, object]:
    """Seal and reopen the example photograph; the digests before and after."""
    hex_key = os.environ.get("PXOS_DEMO_KEY")
    key = bytes.fromhex(hex_key) if hex_key else secrets.token_bytes(32)
    out = Path(out or tempfile.mkdtemp())
    target = out / "astronaut.png.sealed"
    before = seal(PHOTO, target, key, device)
    after = pxos.crypto.sha256(open_sealed(target, key, device), device=device).tobytes()
    return {"sealed": target, "bytes": target.stat().st_size, "before": before, "after": after,
            "random_key": hex_key is None}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="host")
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    result = run(args.device, args.out)
    if result["random_key"]:
        print("no PXOS_DEMO_KEY set: used a random key")
    print(f"sealed {result['sealed']} ({result['bytes']} bytes);",
          "SHA-256 matches" if result["before"] == result["after"] else "SHA-256 DIFFERS")
