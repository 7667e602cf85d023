"""The pipeline's errors (issue 21): a bad key length, a nonce reused within one program, a
wrong tag, a truncated or corrupt compressed input and a failed VALIDATE each stop the run
with a PxError that names the statement (its keyword and its line), whether the file is read
whole or streamed (`CHUNK`), and nothing is written."""

from __future__ import annotations

import numpy as np
import pytest

from pxos.errors import PxError
from pxos.host.program import ProgramRun
from pxos.ir.check_host import check_program
from pxos.lang.px.parser import parse_program

pytest.importorskip("cryptography")
zstandard = pytest.importorskip("zstandard")
from cryptography.hazmat.primitives.ciphers.aead import AESGCM  # noqa: E402

KEY = bytes(range(32))
NONCE = bytes(range(12))
DATA = (np.random.default_rng(9).integers(0, 4, 100_000, dtype=np.uint8) + 48).tobytes()
PACKED = zstandard.ZstdCompressor(write_checksum=True).compress(DATA)  # as COMPRESS writes
SEALED = AESGCM(KEY).encrypt(NONCE, DATA, None)  # the one-shot (whole-file) format


def _corrupt(b: bytes) -> bytes:
    mid = bytearray(b)
    mid[len(mid) // 2] ^= 0xFF
    return bytes(mid)


HEAD = 'READ_ENV "PXOS_TEST_KEY" INTO key AS hex\nREAD_FILE "nonce.bin" INTO nonce\n'
CASES = {
    "bad key length": (HEAD + 'READ_FILE "in.bin" INTO d AS u8{chunk}\n'
                       'ENCRYPT d WITH aes256gcm KEY key NONCE nonce → s\n'
                       'WRITE_FILE s TO "out.bin"\n', DATA, 4, "ENCRYPT: aes256gcm needs a "
                       "32-byte key; got 16 bytes", KEY[:16]),
    "nonce reused": (HEAD + 'READ_FILE "in.bin" INTO d AS u8\n'
                     'ENCRYPT d WITH aes256gcm KEY key NONCE nonce → s\n'
                     'READ_FILE "in.bin" INTO e AS u8{chunk}\n'
                     'ENCRYPT e WITH aes256gcm KEY key NONCE nonce → t\n'
                     'WRITE_FILE t TO "out.bin"\n', DATA, 6,
                     "ENCRYPT: nonce 'nonce' was already used with this key", KEY),
    "wrong tag": (HEAD + 'READ_FILE "in.bin" INTO d AS u8{chunk}\n'
                  'DECRYPT d WITH aes256gcm KEY key NONCE nonce → s\n'
                  'WRITE_FILE s TO "out.bin"\n', None, 4,
                  "DECRYPT: aes256gcm: authentication tag", KEY),
    "truncated": (HEAD + 'READ_FILE "in.bin" INTO d AS u8{chunk}\n'
                  'DECOMPRESS d WITH zstd → s\nWRITE_FILE s TO "out.bin"\n',
                  PACKED[:len(PACKED) // 2], 4,
                  "DECOMPRESS: zstd: the compressed input is corrupt or truncated", KEY),
    "corrupt": (HEAD + 'READ_FILE "in.bin" INTO d AS u8{chunk}\n'
                'DECOMPRESS d WITH zstd → s\nWRITE_FILE s TO "out.bin"\n',
                _corrupt(PACKED), 4,
                "DECOMPRESS: zstd: the compressed input is corrupt or truncated", KEY),
    "validation": (HEAD + 'READ_FILE "in.bin" INTO d AS u8{chunk}\n'
                   'VALIDATE d WITH crc32c = "00000000"\nWRITE_FILE d TO "out.bin"\n', DATA,
                   4, "VALIDATE failed: the crc32c of 'd' is", KEY),
}


@pytest.mark.parametrize("streamed", [False, True], ids=["whole", "streamed"])
@pytest.mark.parametrize("case", list(CASES))
def test_each_error_names_its_statement_and_writes_nothing(case, streamed, tmp_path,
                                                           monkeypatch):
    text, data, line, message, key = CASES[case]
    if data is None:  # a sealed file with one byte changed, in the format the run reads
        whole = SEALED if not streamed else None
        data = _corrupt(whole) if whole else _streamed_sealed(tmp_path, monkeypatch)
    monkeypatch.setenv("PXOS_TEST_KEY", key.hex())
    (tmp_path / "in.bin").write_bytes(data)
    (tmp_path / "nonce.bin").write_bytes(NONCE)
    text = text.format(chunk=" CHUNK 8192" if streamed else "")
    (tmp_path / "prog.px").write_text(text)
    program = check_program(parse_program(text, str(tmp_path / "prog.px")))
    with pytest.raises(PxError) as err:
        ProgramRun(program, emit=print).run()
    assert message in err.value.message
    assert err.value.span.line == line
    assert f"{line:>5} | " in str(err.value)  # the statement's line is shown
    assert not (tmp_path / "out.bin").exists()


def _streamed_sealed(tmp_path, monkeypatch) -> bytes:
    """DATA sealed by a streamed ENCRYPT (the framed format), one byte then changed."""
    monkeypatch.setenv("PXOS_TEST_KEY", KEY.hex())
    (tmp_path / "plain.bin").write_bytes(DATA)
    (tmp_path / "nonce.bin").write_bytes(NONCE)
    text = (HEAD + 'READ_FILE "plain.bin" INTO d AS u8 CHUNK 8192\n'
            'ENCRYPT d WITH aes256gcm KEY key NONCE nonce → s\nWRITE_FILE s TO "s.bin"\n')
    (tmp_path / "seal.px").write_text(text)
    ProgramRun(check_program(parse_program(text, str(tmp_path / "seal.px")))).run()
    return _corrupt((tmp_path / "s.bin").read_bytes())
