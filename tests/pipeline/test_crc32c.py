"""CRC32C on the host (the ``crc32c`` package on C threads or on the Python pool, or NumPy
without it), its multi-core split and ``crc32c_extend``, against an independent bitwise
CRC-32C and RFC 3720's test vectors (appendix B.4); Hypothesis draws lengths and cuts."""

from __future__ import annotations

import importlib
import os
import threading

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pxos.errors import PxArgumentError
from pxos.host.pipeline import crc32c_threads, filters
from pxos.host.pipeline.cores import CorePool

crc_module = importlib.import_module("pxos.host.pipeline.crc32c")
crc32c, crc32c_extend = crc_module.crc32c, crc_module.crc32c_extend

# RFC 3720, B.4: 32 bytes of zeros, of 0xFF, ascending 0..31, descending 31..0
RFC3720 = [(bytes(32), 0x8A9136AA), (b"\xff" * 32, 0x62A8AB43),
           (bytes(range(32)), 0x46DD794E), (bytes(range(31, -1, -1)), 0x113FDB5C)]
DATA = np.random.default_rng(21).integers(0, 256, 5000, dtype=np.uint8)


def bitwise(data: bytes) -> int:
    """CRC-32C one bit at a time (reflected polynomial 0x82F63B78), independent of pxos."""
    crc = 0xFFFFFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0x82F63B78 if crc & 1 else crc >> 1
    return crc ^ 0xFFFFFFFF


@pytest.fixture(params=["threads", "pool", "numpy"])
def path(request, monkeypatch):
    """Each host path: the ``crc32c`` package on C threads and on the Python pool (skipped
    where they are absent; small pieces and parts, so that the split runs), and NumPy."""
    monkeypatch.setattr(crc32c_threads, "PIECE", 300)
    monkeypatch.setattr(crc_module, "PART", 700)
    if request.param == "numpy":
        monkeypatch.setattr(crc_module, "_library", None)
        assert crc_module.library() == "numpy"
        return request.param
    pytest.importorskip("crc32c")
    assert crc_module.library().startswith("crc32c")
    if request.param == "pool":
        monkeypatch.setattr(crc32c_threads, "helper", lambda: None)
    elif crc32c_threads.helper() is None:
        pytest.skip("the C helper cannot serve here")
    return request.param


def test_rfc3720_vectors_and_the_check_value(path):
    for data, want in RFC3720 + [(b"123456789", 0xE3069283), (b"", 0)]:
        assert crc32c(data) == want
        assert crc32c(np.frombuffer(data, np.uint8)) == want


@pytest.mark.parametrize("workers", [None, 2, 3])
def test_parts_on_the_pool_equal_the_reference(path, workers, monkeypatch):
    monkeypatch.setattr(crc_module, "cpu_count", lambda: 2)  # None: a pool for the call
    with CorePool(workers or 1) as pool:
        for length in (1399, 1400, 2101, 5000):
            got = crc32c(DATA[:length], pool=pool if workers else None)
            assert got == bitwise(DATA[:length].tobytes())


def test_a_strided_view_is_refused_or_read_in_order():
    got = crc32c(np.ascontiguousarray(DATA[::2]))
    assert got == bitwise(DATA[::2].tobytes())
    with pytest.raises(PxArgumentError, match="1-D u8 array"):
        crc32c(DATA.reshape(50, 100))


@settings(max_examples=60, deadline=None)
@given(length=st.integers(0, 600), cut=st.integers(0, 600))
def test_extend_joins_any_split(length, cut):
    data = DATA[:length].tobytes()
    cut = min(cut, length)
    a, b = bitwise(data[:cut]), bitwise(data[cut:])
    assert crc32c_extend(a, b, length - cut) == bitwise(data)


def test_extend_over_zero_runs_and_long_lengths():
    head = DATA[:100].tobytes()
    for n in (1, 255, 4096):
        assert crc32c_extend(bitwise(head), bitwise(bytes(n)), n) == bitwise(head + bytes(n))
    # lengths past 2^32 bytes: composing two advances is one advance over the sum, and the
    # GF(2) matrix of ``combine`` (advancing one zero byte at a time, squared) agrees
    for a, b in ((1 << 39, 1 << 39), ((1 << 33) + 5, 12345)):
        assert crc32c_extend(crc32c_extend(7, 0, a), 0, b) == crc32c_extend(7, 0, a + b)
    step = crc_module._power(crc_module._zero_byte_matrix(), (1 << 33) + 5)
    assert int(crc_module._apply(step, np.array([7], np.uint32))[0]) == \
        crc32c_extend(7, 0, (1 << 33) + 5)


def test_the_c_helper_continues_a_crc():
    if crc32c_threads.helper() is None:
        pytest.skip("the C helper cannot serve here")
    head = bitwise(DATA[:1234].tobytes())
    assert crc32c_threads.crc32c(DATA[1234:], 2, head) == bitwise(DATA.tobytes())
    assert crc32c_threads.crc32c(b"", 2, head) == head


@settings(max_examples=25, deadline=None)
@given(cuts=st.lists(st.integers(0, 5000), max_size=6), workers=st.sampled_from([1, 2]),
       threads=st.booleans())
def test_sink_with_a_pool_any_chunks(cuts, workers, threads):
    points = [0] + sorted(cuts) + [len(DATA)]
    with CorePool(workers) as pool, pytest.MonkeyPatch.context() as patch:
        patch.setattr(crc_module, "PART", 500)  # chunks from 1000 bytes are split
        patch.setattr(crc32c_threads, "PIECE", 300)
        if not threads:
            patch.setattr(crc32c_threads, "helper", lambda: None)
        sink = filters.Crc32cSink(pool)
        for lo, hi in zip(points, points[1:]):
            sink.push(DATA[lo:hi].tobytes())
    assert sink.value() == bitwise(DATA.tobytes())


def test_run_here_keeps_the_order_and_takes_the_first_job_itself():
    def job(k):
        return k, threading.get_ident()

    with CorePool(3) as pool:
        got = pool.run_here(job, [(k,) for k in range(5)])
    assert [k for k, _ in got] == list(range(5))
    assert got[0][1] == threading.get_ident()


def test_a_forked_child_starts_its_own_pool(monkeypatch):
    if crc32c_threads.helper() is None:
        pytest.skip("the C helper cannot serve here")
    monkeypatch.setattr(crc32c_threads, "PIECE", 300)
    want = bitwise(DATA.tobytes())
    assert crc32c_threads.crc32c(DATA, 2) == want  # the parent's pool
    pid = os.fork()
    if pid == 0:  # the child: the parent's workers are not here
        os._exit(0 if crc32c_threads.crc32c(DATA, 2) == want else 1)
    assert os.waitpid(pid, 0)[1] == 0
