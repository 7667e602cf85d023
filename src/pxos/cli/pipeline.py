"""``pxos pipeline …``: the secure-pipeline primitives on files (hash, checksum, encrypt,
decrypt, compress, decompress, validate). Keys come from an environment variable holding
hex, never from the command line; outputs are written atomically (temporary file, rename)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import os
from pathlib import Path

import typer

from pxos.cli.report import _guarded, out
from pxos.cli.options import PxApp, PxGroup
from pxos.errors import PxArgumentError, PxFileError

if TYPE_CHECKING:
    import numpy as np

app = PxApp(cls=PxGroup, help="Encrypt, hash, compress and validate files (docs/pipelines.md).",
                  no_args_is_help=True, add_completion=False)
CODEC = typer.Option("zstd", help="zstd, lz4 or deflate")
DEVICE = typer.Option("host", "--device", "-d", help="host (CPU libraries) or a pxos backend")
CHUNK = typer.Option(None, "--chunk", help="stream SRC this many bytes at a time (for files "
                     "larger than memory; aes256gcm then writes segments, docs/pipelines.md)")


def _stream(src: Path, dst: Path, stage, chunk: int) -> None:
    """SRC through ``stage`` into DST, ``chunk`` bytes at a time (``pipeline/stream``)."""
    from pxos.host.pipeline.stream import stream_file

    if chunk < 1:
        raise PxArgumentError(f"--chunk must be at least 1 byte; got {chunk}")
    try:
        stream_file(src, dst, stage, chunk)
    except OSError as err:
        raise PxFileError(f"cannot stream {src} into {dst}: {err.strerror}") from None


def _slots(src: Path, dst: Path, stage, chunk: int, device: str) -> None:
    """A keystream cipher from SRC to DST over the ring of slots (``pipeline/slot_stream``:
    no copies on the host; reads, GPU work and writes overlapping on cuda)."""
    from pxos.host.pipeline.slot_stream import cipher_file

    try:
        cipher_file(src, dst, stage.cipher, stage.key, stage.nonce, chunk, device)
    except OSError as err:
        raise PxFileError(f"cannot stream {src} into {dst}: {err.strerror}") from None


def _cipher_stage(cipher: str, key: bytes, nonce: bytes, decrypt: bool, chunk: int,
                  device: str):
    from pxos.host.pipeline import ciphers, filters, gcm_stream

    if cipher not in ciphers.NONCE_BYTES:
        raise PxArgumentError(f"unknown cipher {cipher!r}; expected one of "
                              + ", ".join(ciphers.NONCE_BYTES))
    _, key, nonce = ciphers.checked(b"", key, nonce, cipher)
    if cipher == "aes256gcm":
        return (gcm_stream.GcmOpenFilter(key, nonce) if decrypt
                else gcm_stream.GcmSealFilter(key, nonce, gcm_stream.SEGMENT))
    return filters.KeystreamFilter(cipher, key, nonce, device)


def _read(path: Path) -> np.ndarray:
    import numpy as np  # here, not at import: `pxos --help` loads no NumPy

    try:
        return np.fromfile(path, np.uint8)
    except OSError as err:
        raise PxFileError(f"cannot read {path}: {err.strerror}") from None


def _write(path: Path, data: np.ndarray) -> None:
    """Write atomically (``pxos/atomic_write``): the old file or the new one, never
    part of one."""
    from pxos.atomic_write import write_atomic

    try:
        write_atomic(path, memoryview(data).cast("B") if data.size else b"")
    except OSError as err:
        raise PxFileError(f"cannot write {path}: {err.strerror}") from None


def _hex(text: str, what: str) -> bytes:
    try:
        return bytes.fromhex(text)
    except ValueError:
        raise PxArgumentError(f"{what} must be hexadecimal digits") from None


def _key(env: str) -> bytes:
    if env not in os.environ:
        raise PxArgumentError(f"environment variable {env} is not set (it must hold the key "
                              "as hexadecimal digits)")
    return _hex(os.environ[env].strip(), f"the key in {env}")


@app.command("hash")
@_guarded
def hash_file(file: Path, device: str = DEVICE):
    """Print the SHA-256 of FILE (hex)."""
    from pxos.host import pipeline
    out.print(pipeline.sha256(_read(file), device=device).tobytes().hex())


@app.command("crc32c")
@_guarded
def crc_file(file: Path, device: str = DEVICE):
    """Print the CRC32C of FILE (8 hex digits)."""
    from pxos.host import pipeline
    out.print(f"{pipeline.crc32c(_read(file), device=device):08x}")


def _cipher_command(decrypt: bool):
    def command(src: Path, dst: Path,
                cipher: str = typer.Option(..., help="aes256ctr, aes256gcm or chacha20"),
                key_env: str = typer.Option(..., help="environment variable with the key (hex)"),
                nonce: str = typer.Option(..., help="hex: 16 bytes CTR, 12 GCM and ChaCha20"),
                device: str = DEVICE, chunk: int = CHUNK):
        from pxos.host import pipeline
        if chunk is not None:
            stage = _cipher_stage(cipher, _key(key_env), _hex(nonce, "--nonce"), decrypt,
                                  chunk, device)
            if cipher in ("aes256ctr", "chacha20") and chunk >= 64 and chunk % 64 == 0:
                return _slots(src, dst, stage, chunk, device)
            return _stream(src, dst, stage, chunk)
        fn = pipeline.decrypt if decrypt else pipeline.encrypt
        result = fn(_read(src), cipher, _key(key_env), _hex(nonce, "--nonce"), device=device)
        _write(dst, result)
    command.__doc__ = ("Decrypt SRC into DST (GCM: the tag is checked, nothing is written "
                       "if it fails)." if decrypt else
                       "Encrypt SRC into DST (GCM appends the tag).")
    return _guarded(command)


app.command("encrypt")(_cipher_command(False))
app.command("decrypt")(_cipher_command(True))


@app.command("compress")
@_guarded
def compress_file(src: Path, dst: Path, codec: str = CODEC,
                  level: int = typer.Option(None, help="the codec's level (default its own)"),
                  chunk: int = CHUNK,
                  device: str = typer.Option("host", "--device", "-d",
                                             help="host (CPU libraries) or cuda (nvCOMP)")):
    """Compress SRC into DST (with --chunk: streamed, on every core, or on nvCOMP with
    --device cuda)."""
    from pxos.host import pipeline
    if chunk is not None:
        from pxos.host.pipeline.cores import CorePool
        from pxos.host.pipeline.filters import CodecFilter
        if device == "cuda" and "cuda" in pipeline.devices("compress"):
            from pxos.host.pipeline.nvcomp_stream import NvcompFilter
            return _stream(src, dst, NvcompFilter(codec, level), chunk)
        if device != "host":
            raise PxArgumentError("a streamed compress (--chunk) runs on the host, or on "
                                  f"cuda where nvCOMP is installed; got --device {device}")
        with CorePool() as pool:
            return _stream(src, dst, CodecFilter(codec, False, level, pool.workers, pool),
                           chunk)
    _write(dst, pipeline.compress(_read(src), codec, level, device=device))


@app.command("decompress")
@_guarded
def decompress_file(src: Path, dst: Path, codec: str = CODEC, chunk: int = CHUNK):
    """Decompress SRC into DST (corrupt or truncated input: an error, nothing written)."""
    from pxos.host import pipeline
    if chunk is not None:
        from pxos.host.pipeline.cores import CorePool
        from pxos.host.pipeline.filters import CodecFilter
        with CorePool() as pool:  # LZ4's independent blocks: decoded on every core
            return _stream(src, dst, CodecFilter(codec, True, pool=pool), chunk)
    _write(dst, pipeline.decompress(_read(src), codec))


@app.command("validate")
@_guarded
def validate_file(file: Path, kind: str = typer.Option(..., "--as", help="npy, png or utf8")):
    """Check that FILE is a well-formed npy, png or utf8 file."""
    from pxos.host import pipeline
    pipeline.validate(_read(file), kind)
    out.print(f"{file}: valid {kind}")
