"""The ``pipeline`` sub-app (pxos.cli.pipeline.app), through typer's CliRunner."""

from __future__ import annotations

import hashlib

from typer.testing import CliRunner

from tests.conftest import EXAMPLES, needs_extra

for _module in ("cryptography", "zstandard", "lz4"):  # the commands' host libraries
    needs_extra(_module, "pipelines")

from pxos.cli.pipeline import app

PHOTO = EXAMPLES / "data" / "astronaut.png"


def test_hash_crc_validate():
    r = CliRunner().invoke(app, ["hash", str(PHOTO), "--device", "c"])
    assert r.exit_code == 0 and r.stdout.strip() == hashlib.sha256(PHOTO.read_bytes()).hexdigest()
    r = CliRunner().invoke(app, ["crc32c", str(PHOTO)])
    assert r.exit_code == 0 and len(r.stdout.strip()) == 8
    r = CliRunner().invoke(app, ["validate", str(PHOTO), "--as", "png"])
    assert r.exit_code == 0 and "valid png" in r.stdout
    r = CliRunner().invoke(app, ["validate", str(PHOTO), "--as", "utf8"])
    assert r.exit_code == 2 and "not UTF-8" in r.stderr


def test_compress_encrypt_round_trip(tmp_path, monkeypatch):
    monkeypatch.setenv("K", "0f" * 32)
    z, s, back, plain = (tmp_path / n for n in ("p.zst", "p.sealed", "p.zst2", "p.png"))
    run = lambda *a: CliRunner().invoke(app, [str(x) for x in a])  # noqa: E731
    assert run("compress", PHOTO, z, "--codec", "zstd").exit_code == 0
    nonce = "00" * 12
    assert run("encrypt", z, s, "--cipher", "aes256gcm", "--key-env", "K", "--nonce", nonce).exit_code == 0
    assert run("decrypt", s, back, "--cipher", "aes256gcm", "--key-env", "K", "--nonce", nonce,
               "--device", "c").exit_code == 0
    assert run("decompress", back, plain, "--codec", "zstd").exit_code == 0
    assert plain.read_bytes() == PHOTO.read_bytes()
    monkeypatch.setenv("K", "1f" * 32)  # the wrong key: an error, no output file
    r = run("decrypt", s, tmp_path / "never", "--cipher", "aes256gcm", "--key-env", "K", "--nonce", nonce)
    assert r.exit_code == 2 and "authentication tag does not match" in r.stderr
    assert not (tmp_path / "never").exists()
    r = run("encrypt", z, s, "--cipher", "chacha20", "--key-env", "NOPE", "--nonce", nonce)
    assert r.exit_code == 2 and "environment variable NOPE is not set" in r.stderr


def test_streamed_commands_match_the_libraries(tmp_path, monkeypatch):
    """`--chunk`: CTR equals `cryptography`'s one-shot CTR, the zstd file is one frame the
    library reads, GCM segments round-trip, and a wrong key or a cut file writes nothing."""
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
    import zstandard

    monkeypatch.setenv("K", "0f" * 32)
    run = lambda *a: CliRunner().invoke(app, [str(x) for x in a])  # noqa: E731
    photo = PHOTO.read_bytes()
    ctr, z, g, back = (tmp_path / n for n in ("p.ctr", "p.zst", "p.gcm", "p.back"))
    assert run("encrypt", PHOTO, ctr, "--cipher", "aes256ctr", "--key-env", "K",
               "--nonce", "ff" * 16, "--chunk", 10_007).exit_code == 0
    enc = Cipher(algorithms.AES(bytes([15]) * 32), modes.CTR(b"\xff" * 16)).encryptor()
    assert ctr.read_bytes() == enc.update(photo) + enc.finalize()
    assert run("compress", PHOTO, z, "--chunk", 4096).exit_code == 0
    assert zstandard.ZstdDecompressor().decompressobj().decompress(z.read_bytes()) == photo
    assert run("decompress", z, back, "--chunk", 333).exit_code == 0
    assert back.read_bytes() == photo
    nonce = "00" * 12
    assert run("encrypt", PHOTO, g, "--cipher", "aes256gcm", "--key-env", "K", "--nonce", nonce,
               "--chunk", 65536).exit_code == 0
    assert run("decrypt", g, back, "--cipher", "aes256gcm", "--key-env", "K", "--nonce", nonce,
               "--chunk", 1000).exit_code == 0
    assert back.read_bytes() == photo
    (tmp_path / "cut.gcm").write_bytes(g.read_bytes()[:12 + 65536 + 16])  # cut short
    r = run("decrypt", tmp_path / "cut.gcm", tmp_path / "never", "--cipher", "aes256gcm",
            "--key-env", "K", "--nonce", nonce, "--chunk", 1000)
    assert r.exit_code == 2 and "authentication tag of segment 0" in r.stderr
    assert not (tmp_path / "never").exists()


def test_streamed_keystream_commands_take_the_slots(tmp_path, monkeypatch):
    """`--chunk` of whole 64-byte blocks: CTR and ChaCha20 file to file over the ring of
    slots equal `cryptography`'s one-shot ciphertext; a missing SRC writes nothing."""
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    from pxos.host.pipeline import slot_stream

    calls = []
    real = slot_stream.cipher_file
    monkeypatch.setattr(slot_stream, "cipher_file",
                        lambda *a, **k: calls.append(a[5]) or real(*a, **k))
    monkeypatch.setenv("K", "0f" * 32)
    run = lambda *a: CliRunner().invoke(app, [str(x) for x in a])  # noqa: E731
    photo, key = PHOTO.read_bytes(), bytes([15]) * 32
    for cipher, nonce, ref in (
            ("aes256ctr", b"\xff" * 16, Cipher(algorithms.AES(key), modes.CTR(b"\xff" * 16))),
            ("chacha20", b"\1" * 12, Cipher(algorithms.ChaCha20(key, bytes(4) + b"\1" * 12),
                                            None))):
        dst = tmp_path / f"p.{cipher}"
        r = run("encrypt", PHOTO, dst, "--cipher", cipher, "--key-env", "K", "--nonce",
                nonce.hex(), "--chunk", 65_536)
        assert r.exit_code == 0, r.stderr
        assert dst.read_bytes() == ref.encryptor().update(photo)
    assert calls == [65_536, 65_536]
    r = run("decrypt", tmp_path / "missing", tmp_path / "never", "--cipher", "chacha20",
            "--key-env", "K", "--nonce", "01" * 12, "--chunk", 65_536)
    assert r.exit_code == 2 and "cannot stream" in r.stderr
    assert not (tmp_path / "never").exists()


def test_streamed_lz4_on_every_core_and_compress_on_cuda(tmp_path):
    """`compress --chunk` with lz4 writes one frame of independent blocks that `lz4.frame`
    reads; `--device cuda` compresses through nvCOMP where it is installed (streamed too,
    with `--chunk`), and is a clear error where it is not."""
    import lz4.frame

    from pxos.host.pipeline import nvcomp_codec

    run = lambda *a: CliRunner().invoke(app, [str(x) for x in a])  # noqa: E731
    out = tmp_path / "p.lz4"
    assert run("compress", PHOTO, out, "--codec", "lz4", "--chunk", 100_000).exit_code == 0
    assert lz4.frame.decompress(out.read_bytes()) == PHOTO.read_bytes()
    r = run("compress", PHOTO, tmp_path / "q.lz4", "--codec", "lz4", "--device", "cuda")
    if nvcomp_codec.available():
        assert r.exit_code == 0
        assert lz4.frame.decompress((tmp_path / "q.lz4").read_bytes()) == PHOTO.read_bytes()
    else:
        assert r.exit_code == 2 and "compress on cuda needs nvCOMP" in r.stderr
    r = run("compress", PHOTO, tmp_path / "r.lz4", "--codec", "lz4", "--chunk", 100_000,
            "--device", "cuda")  # streamed on nvCOMP where it is installed
    if nvcomp_codec.available():
        assert r.exit_code == 0
        assert lz4.frame.decompress((tmp_path / "r.lz4").read_bytes()) == PHOTO.read_bytes()
    else:
        assert r.exit_code == 2 and "or on cuda where nvCOMP is installed" in r.stderr
