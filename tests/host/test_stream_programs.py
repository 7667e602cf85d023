"""Streamed programs (`READ_FILE … AS u8 CHUNK n`): the bytes written equal one-shot
`cryptography`/`zstandard`/`hashlib` results for any chunk size; a failure (wrong tag,
corrupt input, failed VALIDATE) writes nothing; a process killed with SIGKILL mid-stream
leaves nothing at the output path; the checker refuses what a stream cannot do."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from pxos.errors import PxError, PxRuntimeError, PxTypeError
from pxos.host.program import ProgramRun
from pxos.ir.check_host import check_program
from pxos.lang.px.parser import parse_program
from tests.conftest import ROOT

pytest.importorskip("cryptography")
zstandard = pytest.importorskip("zstandard")
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes  # noqa: E402

KEY = bytes(range(32))
NONCE16 = bytes(range(200, 216))
NONCE12 = bytes(range(12))
DATA = (np.random.default_rng(3).integers(0, 8, 300_000, dtype=np.uint8) + 97).tobytes()

SEAL = """READ_ENV "PXOS_TEST_KEY" INTO key AS hex
READ_FILE "nonce.bin" INTO nonce
READ_FILE "data.bin" INTO data AS u8 CHUNK {chunk}
HASH data WITH sha256 → digest
COMPRESS data WITH zstd LEVEL 3 → packed
ENCRYPT packed WITH {cipher} KEY key NONCE nonce → sealed
WRITE_FILE sealed TO "out/sealed.bin"
WRITE_FILE digest TO "out/digest.bin"
"""

OPEN = """READ_ENV "PXOS_TEST_KEY" INTO key AS hex
READ_FILE "nonce.bin" INTO nonce
READ_FILE "out/sealed.bin" INTO sealed AS u8 CHUNK {chunk}
DECRYPT sealed WITH {cipher} KEY key NONCE nonce → packed
DECOMPRESS packed WITH zstd → data
VALIDATE data WITH sha256 = "{digest}"
WRITE_FILE data TO "out/opened.bin"
"""


def run(text: str, folder, files: dict[str, bytes] | None = None) -> ProgramRun:
    for name, data in (files or {}).items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(data)
    path = folder / "prog.px"
    path.write_text(text)
    return ProgramRun(check_program(parse_program(text, str(path))), emit=print).run()


@pytest.fixture(autouse=True)
def key_env(monkeypatch):
    monkeypatch.setenv("PXOS_TEST_KEY", KEY.hex())


@pytest.mark.parametrize("chunk", [1, 4093, 65536, 10 ** 6])
def test_streamed_ctr_equals_one_shot_ctr_of_the_whole_file(tmp_path, chunk):
    data = DATA[:20_000] if chunk == 1 else DATA
    run("""READ_ENV "PXOS_TEST_KEY" INTO key AS hex
READ_FILE "nonce.bin" INTO nonce
READ_FILE "data.bin" INTO data AS u8 CHUNK {chunk}
ENCRYPT data WITH aes256ctr KEY key NONCE nonce → sealed
WRITE_FILE sealed TO "sealed.bin"
""".format(chunk=chunk), tmp_path, {"data.bin": data, "nonce.bin": NONCE16})
    enc = Cipher(algorithms.AES(KEY), modes.CTR(NONCE16)).encryptor()
    assert (tmp_path / "sealed.bin").read_bytes() == enc.update(data) + enc.finalize()


@pytest.mark.parametrize("cipher,nonce", [("aes256gcm", NONCE12), ("chacha20", NONCE12),
                                          ("aes256ctr", NONCE16)])
def test_seal_then_open_round_trips_and_checks_the_digest(tmp_path, cipher, nonce):
    r = run(SEAL.format(chunk=65536, cipher=cipher), tmp_path,
            {"data.bin": DATA, "nonce.bin": nonce})
    assert (tmp_path / "out/digest.bin").read_bytes() == hashlib.sha256(DATA).digest()
    assert r.array("digest", None).tobytes() == hashlib.sha256(DATA).digest()
    run(OPEN.format(chunk=10_000, cipher=cipher, digest=hashlib.sha256(DATA).hexdigest()),
        tmp_path)
    assert (tmp_path / "out/opened.bin").read_bytes() == DATA
    if cipher == "chacha20":  # the ciphertext is plain ChaCha20 of a zstd frame
        raw = (tmp_path / "out/sealed.bin").read_bytes()
        dec = Cipher(algorithms.ChaCha20(KEY, bytes(4) + nonce), None).decryptor()
        packed = dec.update(raw)
        assert zstandard.ZstdDecompressor().decompressobj().decompress(packed) == DATA


def _sealed(tmp_path) -> bytes:
    run(SEAL.format(chunk=50_000, cipher="aes256gcm"), tmp_path,
        {"data.bin": DATA, "nonce.bin": NONCE12})
    return (tmp_path / "out/sealed.bin").read_bytes()


@pytest.mark.parametrize("change,why,line", [
    (lambda b: b[:-1] + bytes([b[-1] ^ 1]), "authentication tag of segment", 4),
    (lambda b: b[:12 + 50_016], "authentication tag of segment 0", 4),
])
def test_a_changed_file_stops_the_stream_and_writes_nothing(tmp_path, change, why, line):
    (tmp_path / "out/sealed.bin").write_bytes(change(_sealed(tmp_path)))
    with pytest.raises(PxRuntimeError, match=why) as err:
        run(OPEN.format(chunk=7777, cipher="aes256gcm",
                        digest=hashlib.sha256(DATA).hexdigest()), tmp_path)
    assert err.value.span.line == line
    assert not (tmp_path / "out/opened.bin").exists()
    assert not [p for p in (tmp_path / "out").iterdir() if p.name.endswith(".tmp")]


def test_a_failed_validate_writes_nothing(tmp_path):
    _sealed(tmp_path)
    with pytest.raises(PxRuntimeError, match="VALIDATE failed: the sha256") as err:
        run(OPEN.format(chunk=7777, cipher="aes256gcm", digest="0" * 64), tmp_path)
    assert err.value.span.line == 6
    assert not (tmp_path / "out/opened.bin").exists()


def test_corrupt_compressed_stream_names_decompress(tmp_path):
    packed = bytearray(zstandard.ZstdCompressor().compress(DATA))
    packed[len(packed) // 2] ^= 0xFF
    with pytest.raises(PxRuntimeError, match="zstd: the compressed input is corrupt") as err:
        run("""READ_FILE "p.zst" INTO p AS u8 CHUNK 4096
DECOMPRESS p WITH zstd → data
WRITE_FILE data TO "data.out"
""", tmp_path, {"p.zst": bytes(packed)})
    assert err.value.span.line == 2
    assert not (tmp_path / "data.out").exists()


@pytest.mark.parametrize("program,message", [
    ('READ_FILE "d.bin" INTO d AS u8 CHUNK 4096\nPRINT d\n', "PRINT needs it whole"),
    ('READ_FILE "d.bin" INTO d AS u8 CHUNK 4096\nVALIDATE d AS png\n', "AS png needs the whole"),
    ('READ_FILE "d.bin" INTO d AS u8 CHUNK 4096\nHASH ROWS OF d WITH sha256 → h\n',
     "HASH ROWS OF needs a 2-D array"),
    ('READ_FILE "d.npy" INTO d CHUNK 4096\n', "must be read AS u8"),
    ('READ_FILE "d.bin" INTO d AS u8 CHUNK 4096\nWRITE_FILE d TO "out/d.npy"\n',
     "a stream is written as raw bytes"),
    ('READ_FILE "d.bin" INTO d AS u8 CHUNK 1.5\n', "CHUNK is a number of bytes"),
    ('READ_FILE "d.bin" INTO d AS u8 CHUNK 4096\nHASH d WITH sha256 → h\nPRINT h\n'
     'COMPRESS d WITH lz4 → c\nWRITE_FILE c TO "c.lz4"\n', "known only when the stream ends"),
])
def test_the_checker_refuses_what_a_stream_cannot_do(program, message):
    with pytest.raises(PxTypeError, match=message):
        check_program(parse_program(program, "prog.px"))


def test_bad_chunk_size_and_key_length_are_errors_at_their_statements(tmp_path, monkeypatch):
    with pytest.raises(PxRuntimeError, match="CHUNK must be from 1"):
        run('READ_FILE "d.bin" INTO d AS u8 CHUNK 0\nWRITE_FILE d TO "e.bin"\n', tmp_path,
            {"d.bin": DATA})
    monkeypatch.setenv("PXOS_TEST_KEY", KEY[:16].hex())
    with pytest.raises(PxError, match="32-byte key") as err:
        run(SEAL.format(chunk=4096, cipher="aes256ctr"), tmp_path,
            {"nonce.bin": NONCE16, "data.bin": DATA})
    assert err.value.span.line == 6
    assert not (tmp_path / "out/sealed.bin").exists()


def test_sigkill_mid_stream_leaves_nothing_at_the_output(tmp_path):
    """The stream writes 24 MiB in 64 KiB chunks through deflate level 9 (tens of MB/s,
    and zlib gives its first bytes after a few chunks, where zstd at a high level holds
    them for megabytes), so the kill lands while the temporary file grows; the output
    path must not exist afterwards."""
    big = tmp_path / "big.bin"
    big.write_bytes(np.random.default_rng(0).integers(0, 4, 24 << 20, np.uint8).tobytes())
    prog = tmp_path / "kill.px"
    prog.write_text('READ_FILE "big.bin" INTO d AS u8 CHUNK 65536\n'
                    'COMPRESS d WITH deflate LEVEL 9 → c\nWRITE_FILE c TO "out/big.z"\n')
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [str(ROOT / "src"), os.environ.get("PYTHONPATH", "")]))
    (tmp_path / "out").mkdir()
    proc = subprocess.Popen([sys.executable, "-m", "pxos.cli.main", "run", str(prog)],
                            cwd=tmp_path, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            temps = [p for p in (tmp_path / "out").iterdir() if p.name.endswith(".tmp")]
            if temps and temps[0].stat().st_size > 0:
                break
            time.sleep(0.01)
        assert proc.poll() is None, "the stream ended before it could be killed"
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        proc.kill()
    assert not (tmp_path / "out/big.z").exists()
