"""OpenSSL's ciphers on C threads (`host/pipeline/evp_threads`), against `cryptography`:
parts cut at any length and pieces of any size, the CTR counter carried across all 128
bits, ChaCha20 from a later block, GCM segments sealed and opened with their IVs and AADs,
the lowest bad tag found, the pending tail copied; the pool works again in a forked child;
and the filters give the same bytes with the helper as without it."""

from __future__ import annotations

import os

import numpy as np
import pytest

from pxos.errors import PxRuntimeError
from pxos.host.pipeline import evp_threads, filters, gcm_stream
from pxos.host.pipeline.cores import CorePool

crypto = pytest.importorskip("cryptography")
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes  # noqa: E402
from cryptography.hazmat.primitives.ciphers.aead import AESGCM  # noqa: E402

pytestmark = pytest.mark.skipif(evp_threads.helper() is None,
                                reason="no C compiler or libcrypto to build the helper")
KEY = bytes(range(32))
DATA = np.random.default_rng(3).integers(0, 256, 3 * evp_threads.MIN_PART + 4097, np.uint8)


@pytest.mark.parametrize("workers", [1, 2, 3])
def test_ctr_parts_carry_the_counter_across_128_bits(workers):
    iv = b"\xff" * 15 + b"\xf0"  # wraps after 16 blocks, inside the first part
    want = Cipher(algorithms.AES(KEY), modes.CTR(iv)).encryptor().update(DATA.tobytes())
    out = np.empty_like(DATA)
    evp_threads.xor_keystream("aes256ctr", KEY, iv, DATA, out, workers)
    assert out.tobytes() == want
    inplace = DATA.copy()
    evp_threads.xor_keystream("aes256ctr", KEY, iv, inplace, inplace, workers)
    assert inplace.tobytes() == want


def test_chacha20_parts_start_at_the_given_block():
    nonce, start = bytes(range(12)), 1000
    iv = start.to_bytes(4, "little") + nonce
    want = Cipher(algorithms.ChaCha20(KEY, iv), None).encryptor().update(DATA.tobytes())
    out = np.empty_like(DATA)
    evp_threads.xor_keystream("chacha20", KEY, iv, DATA, out, 2)
    assert out.tobytes() == want


def test_gcm_segments_are_sealed_and_opened_as_the_framing_says():
    nonce, head, size = b"\0" * 11 + b"\xfe", gcm_stream.header(1000), 1000
    pieces = [DATA[lo:lo + size] for lo in range(0, 4500, size)]  # the last is short
    sealed = [np.empty(len(p) + 16, np.uint8) for p in pieces]
    assert evp_threads.gcm_segments(False, KEY, nonce, head, 7, True, pieces, sealed, 2) == -1
    aead = AESGCM(KEY)
    for k, (p, s) in enumerate(zip(pieces, sealed)):
        i, last = 7 + k, k == len(pieces) - 1
        iv = ((int.from_bytes(nonce, "big") + i) % 2 ** 96).to_bytes(12, "big")
        aad = head + i.to_bytes(8, "big") + bytes([last])
        assert s.tobytes() == aead.encrypt(iv, p.tobytes(), aad)
    opened = [np.empty(len(p), np.uint8) for p in pieces]
    assert evp_threads.gcm_segments(True, KEY, nonce, head, 7, True, sealed, opened, 3) == -1
    assert all(np.array_equal(a, b) for a, b in zip(opened, pieces))
    sealed[3][5] ^= 1
    assert evp_threads.gcm_segments(True, KEY, nonce, head, 7, True, sealed, opened, 2) == 3


def test_the_filters_give_the_same_bytes_without_the_helper(monkeypatch):
    def run():
        with CorePool(2) as pool:
            ctr = filters.KeystreamFilter("aes256ctr", KEY, bytes(16), "host", pool)
            gcm = gcm_stream.GcmSealFilter(KEY, bytes(12), 1 << 20, pool)
            cut = (1 << 20) + 333
            return [b"".join(bytes(f.push(DATA[lo:lo + cut])) for lo in range(0, len(DATA), cut))
                    + bytes(f.close()) for f in (ctr, gcm)]
    with_helper = run()
    monkeypatch.setattr(evp_threads, "helper", lambda: None)
    assert run() == with_helper


def test_more_segments_than_one_call_takes_are_sealed_in_batches(monkeypatch):
    monkeypatch.setattr(evp_threads, "MAX_SEGMENTS", 3)  # 10 segments: 4 calls
    data = DATA[:10 * 64 - 5]
    with CorePool(2) as pool:
        seal = gcm_stream.GcmSealFilter(KEY, bytes(12), 64, pool)
        sealed = np.concatenate([seal.push(data), seal.close()])
        monkeypatch.setattr(evp_threads, "helper", lambda: None)  # the pool's path
        ref = gcm_stream.GcmSealFilter(KEY, bytes(12), 64, pool)
        assert np.array_equal(sealed, np.concatenate([ref.push(data), ref.close()]))
        monkeypatch.undo()
        monkeypatch.setattr(evp_threads, "MAX_SEGMENTS", 3)
        sealed[12 + 7 * 80 + 1] ^= 1  # segment 7 (each 64 + 16 bytes after the header)
        with pytest.raises(PxRuntimeError, match="segment 7 does not match"):
            opened = gcm_stream.GcmOpenFilter(KEY, bytes(12), pool)
            opened.push(sealed)
            opened.close()


@pytest.mark.parametrize("piece", [64, 192, 1 << 16])
def test_keystream_pieces_from_the_counter_continue_the_stream(monkeypatch, piece):
    monkeypatch.setattr(evp_threads, "PIECE", piece)
    iv = (2 ** 128 - 5).to_bytes(16, "big")  # the counter wraps inside the first piece
    data = DATA[:2 * evp_threads.MIN_PART + 1000]
    want = Cipher(algorithms.AES(KEY), modes.CTR(iv)).encryptor().update(data.tobytes())
    out = np.empty_like(data)
    evp_threads.xor_keystream("aes256ctr", KEY, iv, data, out, 2)
    assert out.tobytes() == want


def test_the_lowest_bad_tag_is_reported_and_the_tail_is_kept():
    nonce, head, size = bytes(12), gcm_stream.header(4096), 4096
    pieces = [DATA[lo:lo + size] for lo in range(0, 40 * size, size)]
    sealed = [np.empty(size + 16, np.uint8) for _ in pieces]
    tail = DATA[-(300 << 10) - 777:]  # three pieces of the copy
    kept = np.zeros(len(tail), np.uint8)
    assert evp_threads.gcm_segments(False, KEY, nonce, head, 0, False, pieces, sealed, 2,
                                    (tail, kept)) == -1
    assert np.array_equal(kept, tail)
    for k in (31, 9):
        sealed[k][-1] ^= 1
    opened = [np.empty(size, np.uint8) for _ in pieces]
    assert evp_threads.gcm_segments(True, KEY, nonce, head, 0, False, sealed, opened, 2) == 9


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork here")
def test_a_forked_child_starts_its_own_pool():
    iv = bytes(16)
    want = Cipher(algorithms.AES(KEY), modes.CTR(iv)).encryptor().update(DATA.tobytes())
    out = np.empty_like(DATA)
    evp_threads.xor_keystream("aes256ctr", KEY, iv, DATA, out, 2)  # the parent's pool
    pid = os.fork()
    if pid == 0:  # the child: the parent's workers are not here
        out[:] = 0
        evp_threads.xor_keystream("aes256ctr", KEY, iv, DATA, out, 2)
        os._exit(0 if out.tobytes() == want else 1)
    assert os.waitpid(pid, 0)[1] == 0
