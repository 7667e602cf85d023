"""The secure-pipeline statements of `.px` (version 2) against `cryptography`, `hashlib`,
`zstandard`, `lz4` and `zlib`: READ_ENV, ENCRYPT/DECRYPT, HASH [ROWS OF], COMPRESS/
DECOMPRESS, VALIDATE, and their errors (key literals, keys made by the program, reused
nonces, wrong tags, failed validation before a later WRITE_FILE)."""

from __future__ import annotations

import hashlib
import zlib

import numpy as np
import pytest

from pxos.errors import PxArgumentError, PxRuntimeError, PxSyntaxError, PxTypeError
from pxos.host.program import ProgramRun
from pxos.ir.check_host import check_program
from pxos.lang.px.parser import parse_program

cryptography = pytest.importorskip("cryptography")  # the `pipelines` extra
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes  # noqa: E402
from cryptography.hazmat.primitives.ciphers.aead import AESGCM  # noqa: E402

KEY = bytes(range(32))
RNG = np.random.default_rng(11)
DATA = RNG.integers(0, 256, 5000, dtype=np.uint8).tobytes()
SHORT = DATA[:1000]  # for the slow paths of the interpreter: still 62 whole blocks and a part


def run(text: str, folder, files: dict[str, bytes] | None = None, env=None, monkeypatch=None,
        device: str = "interp") -> ProgramRun:
    for name, data in (files or {}).items():
        (folder / name).write_bytes(data)
    for k, v in (env or {}).items():
        monkeypatch.setenv(k, v)
    path = folder / "prog.px"
    path.write_text(text)
    printed: list[str] = []
    result = ProgramRun(check_program(parse_program(text, str(path))), device=device,
                        emit=printed.append).run()
    result.printed = printed
    return result


def check(text: str):
    return check_program(parse_program(text, "prog.px"))


def test_aes_ctr_round_trip_matches_cryptography(tmp_path, monkeypatch):
    nonce = bytes(range(100, 116))
    r = run("""READ_ENV "PXOS_TEST_KEY" INTO k AS hex
READ_FILE "data.bin" INTO data
READ_FILE "nonce.bin" INTO nonce
ENCRYPT data WITH aes256ctr KEY k NONCE nonce → secret
DECRYPT secret WITH aes256ctr KEY k NONCE nonce → back
WRITE_FILE secret TO "secret.bin"
""", tmp_path, {"data.bin": DATA, "nonce.bin": nonce}, {"PXOS_TEST_KEY": KEY.hex()},
        monkeypatch)
    enc = Cipher(algorithms.AES(KEY), modes.CTR(nonce)).encryptor()
    assert (tmp_path / "secret.bin").read_bytes() == enc.update(DATA) + enc.finalize()
    assert r.array("back", None).tobytes() == DATA


def test_aes_gcm_appends_and_checks_the_tag(tmp_path, monkeypatch):
    nonce = bytes(12)
    r = run("""READ_ENV "PXOS_TEST_KEY" INTO k
READ_FILE "data.bin" INTO data
READ_FILE "nonce.bin" INTO nonce
ENCRYPT data WITH aes256gcm KEY k NONCE nonce → secret
DECRYPT secret WITH aes256gcm KEY k NONCE nonce → back
""", tmp_path, {"data.bin": SHORT, "nonce.bin": nonce}, {"PXOS_TEST_KEY": KEY.hex()},
        monkeypatch)
    assert r.array("secret", None).tobytes() == AESGCM(KEY).encrypt(nonce, SHORT, None)
    assert r.array("back", None).tobytes() == SHORT

    tampered = bytearray(AESGCM(KEY).encrypt(nonce, SHORT, None))
    tampered[10] ^= 1
    with pytest.raises(PxRuntimeError) as err:
        run("""READ_ENV "PXOS_TEST_KEY" INTO k
READ_FILE "bad.bin" INTO secret
READ_FILE "nonce.bin" INTO nonce
DECRYPT secret WITH aes256gcm KEY k NONCE nonce → back
WRITE_FILE back TO "back.bin"
""", tmp_path, {"bad.bin": bytes(tampered)}, {"PXOS_TEST_KEY": KEY.hex()}, monkeypatch)
    assert err.value.span.line == 4
    assert not (tmp_path / "back.bin").exists()


def test_hash_and_hash_rows_match_hashlib(tmp_path):
    rows = RNG.integers(0, 256, (7, 100), dtype=np.uint8)
    np.save(tmp_path / "rows.npy", rows)
    r = run("""READ_FILE "data.bin" INTO data
READ_FILE "rows.npy" INTO rows
HASH data WITH sha256 → digest
HASH ROWS OF rows WITH sha256 → digests
""", tmp_path, {"data.bin": SHORT})
    assert r.array("digest", None).tobytes() == hashlib.sha256(SHORT).digest()
    got = r.array("digests", None)
    assert got.shape == (7, 32)
    for row, digest in zip(rows, got):
        assert digest.tobytes() == hashlib.sha256(row.tobytes()).digest()


@pytest.mark.parametrize("codec", ["zstd", "lz4", "deflate"])
def test_compress_round_trip_and_standard_decoders(codec, tmp_path):
    text = (b"pxos compresses real text, " * 400) + DATA[:1000]
    r = run(f"""READ_FILE "data.bin" INTO data
COMPRESS data WITH {codec} LEVEL 3 → small
DECOMPRESS small WITH {codec} → big
""", tmp_path, {"data.bin": text})
    small = r.array("small", None).tobytes()
    assert len(small) < len(text) // 3
    assert r.array("big", None).tobytes() == text
    if codec == "zstd":
        import zstandard
        assert zstandard.ZstdDecompressor().decompress(small) == text
    elif codec == "lz4":
        import lz4.frame
        assert lz4.frame.decompress(small) == text
    else:
        assert zlib.decompress(small) == text


def test_validate_passes_and_stops_the_run_before_a_later_write(tmp_path):
    digest = hashlib.sha256(DATA).hexdigest()
    crc = "%08x" % _crc32c(DATA)
    r = run(f"""READ_FILE "data.bin" INTO data
VALIDATE data WITH sha256 = "{digest}"
VALIDATE data WITH crc32c = "{crc}"
""", tmp_path, {"data.bin": DATA})
    assert r.steps[-1].what == "VALIDATE"
    with pytest.raises(PxRuntimeError, match="VALIDATE failed: the sha256") as err:
        run(f"""READ_FILE "data.bin" INTO data
VALIDATE data WITH sha256 = "{'0' * 64}"
WRITE_FILE data TO "copy.bin"
""", tmp_path, {"data.bin": DATA})
    assert err.value.span.line == 2 and not (tmp_path / "copy.bin").exists()


@pytest.mark.parametrize("kind, good, bad", [
    ("utf8", "héllo".encode(), b"\xff\xfe"),
    ("png", None, b"\x89PNG\r\n\x1a\nnot really"),
])
def test_validate_formats(kind, good, bad, tmp_path):
    from tests.conftest import EXAMPLES

    good = good if good is not None else (EXAMPLES / "data" / "astronaut.png").read_bytes()
    run(f'READ_FILE "good.bin" INTO d\nVALIDATE d AS {kind}\n', tmp_path, {"good.bin": good})
    with pytest.raises(PxRuntimeError):
        run(f'READ_FILE "bad.bin" INTO d\nVALIDATE d AS {kind}\n', tmp_path, {"bad.bin": bad})


def test_a_reused_nonce_is_refused(tmp_path, monkeypatch):
    with pytest.raises(PxRuntimeError, match="already used") as err:
        run("""READ_ENV "PXOS_TEST_KEY" INTO k
READ_FILE "data.bin" INTO data
READ_FILE "nonce.bin" INTO nonce
ENCRYPT data WITH chacha20 KEY k NONCE nonce → a
ENCRYPT data WITH chacha20 KEY k NONCE nonce → b
""", tmp_path, {"data.bin": DATA, "nonce.bin": bytes(12)}, {"PXOS_TEST_KEY": KEY.hex()},
            monkeypatch)
    assert err.value.span.line == 5


@pytest.mark.parametrize("text, error, message", [
    ('ALLOC d u8 SIZE 4\nENCRYPT d WITH chacha20 KEY "00ff" NONCE d → x\n', PxArgumentError,
     "key written in the program"),
    ('ALLOC k u8 SIZE 32\nALLOC d u8 SIZE 4\nENCRYPT d WITH chacha20 KEY k NONCE d → x\n',
     PxArgumentError, "made by the program"),
    ('READ_ENV "K" INTO k\nFILL k 1\nALLOC d u8 SIZE 4\nENCRYPT d WITH chacha20 KEY k NONCE d'
     ' → x\n', PxArgumentError, "made by the program"),
    ('READ_ENV "K" INTO k\nALLOC d u8 SIZE 4\nENCRYPT d WITH rot13 KEY k NONCE d → x\n',
     PxSyntaxError, "unknown cipher 'rot13'"),
    ('ALLOC d float SIZE 4\nHASH d WITH sha256 → x\n', PxTypeError, "must hold bytes"),
    ('ALLOC d u8 SIZE 4\nHASH ROWS OF d WITH sha256 → x\n', PxTypeError, "2-D"),
    ('ALLOC d u8 SIZE 4\nHASH d WITH md5 → x\n', PxSyntaxError, "unknown hash"),
    ('ALLOC d u8 SIZE 4\nCOMPRESS d WITH rar → x\n', PxSyntaxError, "unknown codec"),
    ('ALLOC d u8 SIZE 4\nDECOMPRESS d WITH zstd LEVEL 3 → x\n', PxSyntaxError,
     "LEVEL belongs to COMPRESS"),
    ('ALLOC d u8 SIZE 4\nVALIDATE d WITH sha256 = 5\n', PxTypeError, "32 bytes"),
    ('ALLOC d u8 SIZE 4\nVALIDATE d WITH crc32c = "xyz"\n', PxTypeError, "hex digits"),
    ('ALLOC d u8 SIZE 4\nVALIDATE d AS pdf\n', PxSyntaxError, "unknown format"),
])
def test_pipeline_errors_at_check_time(text, error, message):
    with pytest.raises(error, match=message) as err:
        check(text)
    assert err.value.span is not None


def test_missing_or_bad_environment_variable(tmp_path, monkeypatch):
    monkeypatch.delenv("PXOS_NO_SUCH_KEY", raising=False)
    with pytest.raises(PxRuntimeError, match="is not set"):
        run('READ_ENV "PXOS_NO_SUCH_KEY" INTO k\n', tmp_path)
    with pytest.raises(PxRuntimeError, match="not hex"):
        run('READ_ENV "PXOS_BAD" INTO k\n', tmp_path, env={"PXOS_BAD": "zz"},
            monkeypatch=monkeypatch)


def _crc32c(data: bytes) -> int:
    """CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), bit by bit: the reference."""
    crc = 0xFFFFFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 & -(crc & 1))
    return crc ^ 0xFFFFFFFF


def test_crc32c_reference_is_right():
    assert _crc32c(b"123456789") == 0xE3069283  # the CRC catalogue's check value


def test_pinned_backends_run_pxos_kernels_with_the_same_bytes(backend, tmp_path, monkeypatch):
    """Under ``--device`` the ciphers and hashes run as pxos kernels where that backend has
    them; the bytes are the CPU libraries' (cryptography, hashlib)."""
    nonce = bytes(range(12))
    r = run("""READ_ENV "PXOS_TEST_KEY" INTO k
READ_FILE "data.bin" INTO data
READ_FILE "nonce.bin" INTO nonce
ENCRYPT data WITH chacha20 KEY k NONCE nonce → secret
HASH data WITH sha256 → digest
""", tmp_path, {"data.bin": DATA[:3000], "nonce.bin": nonce}, {"PXOS_TEST_KEY": KEY.hex()},
        monkeypatch, device=backend)
    from pxos.host import pipeline

    want = pipeline.encrypt(np.frombuffer(DATA[:3000], np.uint8), "chacha20",
                            np.frombuffer(KEY, np.uint8), np.frombuffer(nonce, np.uint8))
    assert r.array("secret", None).tobytes() == bytes(want)  # the host's cryptography path
    assert r.array("digest", None).tobytes() == hashlib.sha256(DATA[:3000]).digest()
    ran = {s.what: s.device for s in r.steps}
    expected = backend if backend in pipeline.devices("encrypt") else "host"
    assert ran["ENCRYPT"] == expected
