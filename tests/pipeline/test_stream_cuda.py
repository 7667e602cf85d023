"""Streams on the GPU (`--device cuda`): the pinned double-buffered ring of `cuda_ring` gives,
for any chunking, the bytes `cryptography` gives for the whole input, as do the pinned slots
of `slot_stream` file to file, and a streamed program pinned to cuda writes the one-shot
ciphertext. Skipped without the cuda backend."""

from __future__ import annotations

import numpy as np
import pytest

from tests.conftest import BACKENDS

pytestmark = pytest.mark.skipif("cuda" not in BACKENDS, reason="no cuda backend here")
pytest.importorskip("cryptography")
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes  # noqa: E402

KEY = bytes(range(32))
NONCE16 = bytes.fromhex("fffffffffffffffffffffffffffffff0")  # the counter carries at once
NONCE12 = bytes(range(12))
DATA = np.random.default_rng(4).integers(0, 256, 3_000_001, dtype=np.uint8).tobytes()


def reference(cipher: str, nonce: bytes, data: bytes) -> bytes:
    c = (Cipher(algorithms.AES(KEY), modes.CTR(nonce)) if cipher == "aes256ctr" else
         Cipher(algorithms.ChaCha20(KEY, bytes(4) + nonce), None))
    return c.encryptor().update(data)


@pytest.mark.parametrize("cipher,nonce", [("aes256ctr", NONCE16), ("chacha20", NONCE12)])
@pytest.mark.parametrize("cuts", [[], [1], [100, 1_000_000, 1_000_017, 2_999_999],
                                  list(range(0, 3_000_001, 65_536))])
def test_cuda_ring_any_chunks_equal_cryptography(cipher, nonce, cuts):
    from pxos.host.pipeline.filters import KeystreamFilter

    f = KeystreamFilter(cipher, KEY, nonce, "cuda")
    points = [0] + cuts + [len(DATA)]
    out = [f.push(np.frombuffer(DATA[a:b], np.uint8)) for a, b in zip(points, points[1:])]
    got = b"".join(o.tobytes() for o in out) + f.close().tobytes()
    assert got == reference(cipher, nonce, DATA)


def test_streamed_program_on_cuda_writes_the_one_shot_ciphertext(tmp_path, monkeypatch):
    from pxos.host.program import ProgramRun
    from pxos.ir.check_host import check_program
    from pxos.lang.px.parser import parse_program

    monkeypatch.setenv("PXOS_TEST_KEY", KEY.hex())
    (tmp_path / "data.bin").write_bytes(DATA)
    (tmp_path / "nonce.bin").write_bytes(NONCE16)
    text = """READ_ENV "PXOS_TEST_KEY" INTO key AS hex
READ_FILE "nonce.bin" INTO nonce
READ_FILE "data.bin" INTO data AS u8 CHUNK 262144
ENCRYPT data WITH aes256ctr KEY key NONCE nonce → sealed
WRITE_FILE sealed TO "sealed.bin"
"""
    (tmp_path / "prog.px").write_text(text)
    run = ProgramRun(check_program(parse_program(text, str(tmp_path / "prog.px"))),
                     device="cuda").run()
    assert (tmp_path / "sealed.bin").read_bytes() == reference("aes256ctr", NONCE16, DATA)
    assert [s.device for s in run.steps if s.what == "ENCRYPT"] == ["stream"]


@pytest.mark.parametrize("cipher,nonce", [("aes256ctr", NONCE16), ("chacha20", NONCE12)])
@pytest.mark.parametrize("size,chunk,slots", [(3_000_001, 65_536, 2), (3_000_001, 1 << 20, 6),
                                              (1, 64, 2), (0, 64, 3)])
def test_cuda_slot_stream_equals_cryptography(tmp_path, cipher, nonce, size, chunk, slots):
    """File to file through pinned slots, a CUDA stream each (cuda_ring.CudaSlotEngine)."""
    from pxos.host.pipeline.cuda_ring import CudaSlotEngine
    from pxos.host.pipeline.slot_stream import stream_keystream
    from pxos.host.pipeline.stream import StreamOutput

    (tmp_path / "in.bin").write_bytes(DATA[:size])
    out = StreamOutput(tmp_path.resolve() / "out.bin").open()
    times = stream_keystream(tmp_path / "in.bin", out, CudaSlotEngine(cipher, KEY, nonce),
                             chunk, slots)
    out.commit()
    assert (tmp_path / "out.bin").read_bytes() == reference(cipher, nonce, DATA[:size])
    assert times.chunks == -(-size // chunk)
