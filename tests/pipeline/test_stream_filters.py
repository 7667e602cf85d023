"""Stream filters against the one-shot libraries: any slicing of the input into chunks gives
the bytes `cryptography`, `hashlib`, `zstandard`, `lz4` and `zlib` give for the whole input
(Hypothesis draws the chunk boundaries), and the framed GCM of `gcm_stream` is checked
against `AESGCM` segment by segment, with tampering, reordering and truncation refused."""

from __future__ import annotations

import hashlib
import zlib

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pxos import backends
from pxos.errors import PxRuntimeError

pytest.importorskip("cryptography")
zstandard = pytest.importorskip("zstandard")
lz4_frame = pytest.importorskip("lz4.frame")
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes  # noqa: E402
from cryptography.hazmat.primitives.ciphers.aead import AESGCM  # noqa: E402

from pxos.host.pipeline import filters, gcm_stream  # noqa: E402
from pxos.host.pipeline.cores import CorePool  # noqa: E402

KEY = bytes(range(32))
NONCE16 = bytes.fromhex("f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff")  # carries into the high bytes
NONCE12 = bytes(range(40, 52))
DATA = np.random.default_rng(5).integers(0, 256, 40_000, dtype=np.uint8).tobytes()
TEXT = ("grüße, 世界 🙂 " * 2000).encode()


def slices(data: bytes, cuts: list[int]) -> list[bytes]:
    """``data`` cut at the sorted positions ``cuts`` (empty pieces included)."""
    points = [0] + sorted(c % (len(data) + 1) for c in cuts) + [len(data)]
    return [data[a:b] for a, b in zip(points, points[1:])]


def streamed(f, pieces: list[bytes]) -> bytes:
    out = b"".join(bytes(memoryview(f.push(np.frombuffer(p, np.uint8))).cast("B"))
                   for p in pieces)
    return out + bytes(memoryview(f.close()).cast("B"))


def crc32c_reference(data: bytes) -> int:
    """Bitwise CRC-32C (RFC 3720, appendix B.4), independent of pxos's table code."""
    crc = 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


CUTS = st.lists(st.integers(0, 10 ** 6), max_size=12)
SETTINGS = settings(max_examples=40, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


@settings(max_examples=40, deadline=None, suppress_health_check=[
    HealthCheck.too_slow, HealthCheck.function_scoped_fixture])  # the patch is the same each time
@given(cuts=CUTS, workers=st.sampled_from([1, 2, 3]))
def test_ctr_any_chunks_equal_one_shot_cryptography(cuts, workers, monkeypatch):
    monkeypatch.setattr(filters, "MIN_PART", 64)  # so small chunks are split between cores
    with CorePool(workers) as pool:
        got = streamed(filters.KeystreamFilter("aes256ctr", KEY, NONCE16, "host", pool),
                       slices(DATA, cuts))
    enc = Cipher(algorithms.AES(KEY), modes.CTR(NONCE16)).encryptor()
    assert got == enc.update(DATA) + enc.finalize()


@SETTINGS
@given(cuts=CUTS)
def test_chacha20_any_chunks_equal_one_shot_cryptography(cuts):
    got = streamed(filters.KeystreamFilter("chacha20", KEY, NONCE12), slices(DATA, cuts))
    enc = Cipher(algorithms.ChaCha20(KEY, bytes(4) + NONCE12), None).encryptor()
    assert got == enc.update(DATA)


@pytest.mark.parametrize("device", [d for d in ("c", "opencl") if d in backends.available()])
@pytest.mark.parametrize("cipher,nonce", [("aes256ctr", NONCE16), ("chacha20", NONCE12)])
def test_keystream_kernels_continue_the_counter(device, cipher, nonce):
    got = streamed(filters.KeystreamFilter(cipher, KEY, nonce, device),
                   slices(DATA[:5000], [100, 1029, 3000]))
    ref = (Cipher(algorithms.AES(KEY), modes.CTR(nonce)) if cipher == "aes256ctr" else
           Cipher(algorithms.ChaCha20(KEY, bytes(4) + nonce), None)).encryptor()
    assert got == ref.update(DATA[:5000])


def _one_shot_decode(codec: str, packed: bytes) -> bytes:
    if codec == "zstd":
        return zstandard.ZstdDecompressor().decompressobj().decompress(packed)
    if codec == "lz4":
        return lz4_frame.decompress(packed)
    return zlib.decompress(packed)


def _one_shot_encode(codec: str, raw: bytes) -> bytes:
    return {"zstd": lambda: zstandard.ZstdCompressor().compress(raw),
            "lz4": lambda: lz4_frame.compress(raw), "deflate": lambda: zlib.compress(raw)}[codec]()


@SETTINGS
@given(cuts=CUTS, codec=st.sampled_from(["zstd", "lz4", "deflate"]),
       workers=st.sampled_from([1, 2]))
def test_codecs_any_chunks_round_trip_through_the_libraries(cuts, codec, workers):
    raw = TEXT[:30_000]
    packed = streamed(filters.CodecFilter(codec, False, workers=workers), slices(raw, cuts))
    assert _one_shot_decode(codec, packed) == raw
    theirs = _one_shot_encode(codec, raw)
    assert streamed(filters.CodecFilter(codec, True), slices(theirs, cuts)) == raw


@pytest.mark.parametrize("codec", ["zstd", "lz4", "deflate"])
def test_truncated_or_corrupt_stream_is_refused(codec):
    packed = _one_shot_encode(codec, TEXT[:30_000])
    with pytest.raises(PxRuntimeError, match=f"{codec}: the compressed input is corrupt"):
        streamed(filters.CodecFilter(codec, True), [packed[:len(packed) // 2]])
    bad = bytearray(packed)
    bad[len(bad) // 2] ^= 0xFF
    bad[-1] ^= 0xFF  # the checksum too, so every codec notices
    with pytest.raises(PxRuntimeError, match="corrupt or truncated"):
        streamed(filters.CodecFilter(codec, True), [bytes(bad)])


@SETTINGS
@given(cuts=CUTS)
def test_sinks_any_chunks_equal_hashlib_and_reference_crc(cuts):
    data = DATA[:3000]
    sha, crc, utf = filters.Sha256Sink(), filters.Crc32cSink(), filters.Utf8Sink()
    for piece in slices(data, cuts):
        sha.push(piece)
        crc.push(piece)
    assert sha.value() == hashlib.sha256(data).digest()
    assert crc.value() == crc32c_reference(data)
    for piece in slices(TEXT, cuts):  # characters cut in two by a chunk boundary
        utf.push(piece)
    utf.value()


@pytest.mark.parametrize("cut", [1000, 1001, 1002, 1003])
def test_utf8_sink_names_the_byte_python_names(cut):
    bad = TEXT[:cut] + b"\xff" + TEXT[:50]
    with pytest.raises(UnicodeDecodeError) as one_shot:
        bad.decode("utf-8")
    utf = filters.Utf8Sink()
    for piece in slices(bad, [500, cut - 1, cut + 1]):
        utf.push(piece)
    with pytest.raises(PxRuntimeError, match=f"at byte {one_shot.value.start}$"):
        utf.value()


def gcm_reference(data: bytes, segment: int) -> bytes:
    """The framing of docs/pipelines.md, built here with AESGCM alone."""
    head = b"PXGCMS1\0" + segment.to_bytes(4, "big")
    pieces = [data[i:i + segment] for i in range(0, len(data), segment)] or [b""]
    out = head
    for i, piece in enumerate(pieces):
        iv = ((int.from_bytes(NONCE12, "big") + i) % 2 ** 96).to_bytes(12, "big")
        aad = head + i.to_bytes(8, "big") + bytes([i == len(pieces) - 1])
        out += AESGCM(KEY).encrypt(iv, piece, aad)
    return out


@SETTINGS
@given(cuts=CUTS, segment=st.sampled_from([1, 7, 4096, 10_000]),
       size=st.sampled_from([0, 1, 4096, 12_288, 40_000]))
def test_gcm_framing_matches_reference_and_opens(cuts, segment, size):
    data = DATA[:size]
    with CorePool(2) as pool:
        sealed = streamed(gcm_stream.GcmSealFilter(KEY, NONCE12, segment, pool),
                          slices(data, cuts))
        assert sealed == gcm_reference(data, segment)
        assert streamed(gcm_stream.GcmOpenFilter(KEY, NONCE12, pool),
                        slices(sealed, cuts)) == data


def test_gcm_framing_refuses_tampering_reordering_and_truncation():
    segment = 1000
    sealed = gcm_reference(DATA[:5000], segment)
    size, head = segment + 16, 12
    segs = [sealed[head + i * size:head + (i + 1) * size] for i in range(5)]
    flipped = bytearray(sealed)
    flipped[head + 3] ^= 1
    swapped = sealed[:head] + segs[1] + segs[0] + b"".join(segs[2:])
    cut = sealed[:head] + b"".join(segs[:4])  # a whole last segment dropped
    for bad, why in ((bytes(flipped), "segment 0"), (swapped, "segment 0"),
                     (cut, "segment 3"), (sealed[:-5], "ends inside a segment|segment 4")):
        with pytest.raises(PxRuntimeError, match=why):
            streamed(gcm_stream.GcmOpenFilter(KEY, NONCE12), [bad])
    with pytest.raises(PxRuntimeError, match="not a streamed GCM file"):
        streamed(gcm_stream.GcmOpenFilter(KEY, NONCE12), [b"x" * 40])
    with pytest.raises(PxRuntimeError, match="segment 0"):  # another nonce
        streamed(gcm_stream.GcmOpenFilter(KEY, bytes(12)), [sealed])


@pytest.mark.parametrize("cipher,nonce", [("aes256ctr", NONCE16), ("chacha20", NONCE12)])
def test_openssl_evp_and_cryptography_give_the_same_bytes(cipher, nonce, monkeypatch):
    from pxos.host.pipeline import openssl_evp

    if not openssl_evp.available():
        pytest.skip("no libcrypto here")
    src = np.frombuffer(DATA, np.uint8)
    dst = np.empty(len(src), np.uint8)
    iv = nonce if cipher == "aes256ctr" else (7).to_bytes(4, "little") + nonce
    openssl_evp.xor_keystream(cipher, KEY, iv, src, dst)
    ref = (Cipher(algorithms.AES(KEY), modes.CTR(iv)) if cipher == "aes256ctr" else
           Cipher(algorithms.ChaCha20(KEY, iv), None)).encryptor()
    assert dst.tobytes() == ref.update(DATA)
    monkeypatch.setattr(openssl_evp, "available", lambda: False)  # the fallback path
    with CorePool(2) as pool:
        got = streamed(filters.KeystreamFilter(cipher, KEY, nonce, "host", pool),
                       slices(DATA, [5, 17_000]))
    enc = (Cipher(algorithms.AES(KEY), modes.CTR(nonce)) if cipher == "aes256ctr" else
           Cipher(algorithms.ChaCha20(KEY, bytes(4) + nonce), None)).encryptor()
    assert got == enc.update(DATA)


@pytest.mark.parametrize("size", [0, 1, 4095, 4096, 40_000])
def test_openssl_evp_gcm_equals_aesgcm_and_refuses_a_wrong_tag(size):
    from pxos.host.pipeline import openssl_evp

    if not openssl_evp.available():
        pytest.skip("no libcrypto here")
    src, iv, aad = np.frombuffer(DATA[:size], np.uint8), bytes(range(12)), b"header+index"
    sealed = np.empty(size + 16, np.uint8)
    openssl_evp.gcm_seal(KEY, iv, aad, src, sealed)
    assert sealed.tobytes() == AESGCM(KEY).encrypt(iv, DATA[:size], aad)
    opened = np.empty(size, np.uint8)
    assert openssl_evp.gcm_open(KEY, iv, aad, sealed, opened)
    assert opened.tobytes() == DATA[:size]
    for bad_aad, flip in ((aad, size + 15), (aad, 0), (b"other", None)):
        bad = sealed.copy()
        if flip is not None and flip < len(bad):
            bad[flip] ^= 1
        out = np.full(size, 7, np.uint8)
        assert not openssl_evp.gcm_open(KEY, iv, bad_aad, bad, out)
        assert not out.any()  # no unauthenticated plaintext is left behind


def test_gcm_segments_on_cores_equal_the_cryptography_path(monkeypatch):
    """Segments sealed and opened by OpenSSL on two cores equal `AESGCM`'s framing and the
    filters' own fallback through `cryptography`; a wrong tag on a core is the error."""
    from pxos.host.pipeline import openssl_evp

    data, cuts = DATA[:40_000], [5000, 17_000, 17_001]
    with CorePool(2) as pool:
        fast = streamed(gcm_stream.GcmSealFilter(KEY, NONCE12, 4096, pool), slices(data, cuts))
        bad = bytearray(fast)
        bad[12 + 3 * 4112 + 9] ^= 1  # segment 3
        with pytest.raises(PxRuntimeError, match="tag of segment 3"):
            streamed(gcm_stream.GcmOpenFilter(KEY, NONCE12, pool), [bytes(bad)])
        monkeypatch.setattr(openssl_evp, "available", lambda: False)
        slow = streamed(gcm_stream.GcmSealFilter(KEY, NONCE12, 4096, pool), slices(data, cuts))
        assert streamed(gcm_stream.GcmOpenFilter(KEY, NONCE12, pool), [fast]) == data
    assert fast == slow == gcm_reference(data, 4096)
