"""The ring of slots of `slot_stream` (a keystream cipher from file to file without copies):
the bytes equal one-shot `cryptography` on the host and on every kernel backend, for files
of any length and rings of any size; a slot is never refilled before its bytes are
written, several chunks are in flight at once, and a read, device or write error stops the
stream without hanging and leaves nothing at the output."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import BACKENDS

pytest.importorskip("cryptography")
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes  # noqa: E402

from pxos.host.pipeline import slot_stream  # noqa: E402
from pxos.host.pipeline.cores import CorePool  # noqa: E402
from pxos.host.pipeline.slot_stream import (HostKeystreamEngine, ReadFailed,  # noqa: E402
                                            stream_keystream)
from pxos.host.pipeline.stream import StreamOutput  # noqa: E402

KEY = bytes(range(32))
NONCE16 = bytes.fromhex("fffffffffffffffffffffffffffffff0")  # the counter carries at once
NONCE12 = bytes(range(12))
DATA = np.random.default_rng(8).integers(0, 256, 200_001, dtype=np.uint8).tobytes()
KERNEL_DEVICES = [d for d in ("c", "opencl") if d in BACKENDS]


def reference(cipher: str, nonce: bytes, data: bytes) -> bytes:
    c = (Cipher(algorithms.AES(KEY), modes.CTR(nonce)) if cipher == "aes256ctr" else
         Cipher(algorithms.ChaCha20(KEY, bytes(4) + nonce), None))
    return c.encryptor().update(data)


def run(tmp_path: Path, data: bytes, engine, chunk: int, slots: int) -> bytes:
    (tmp_path / "in.bin").write_bytes(data)
    out = StreamOutput(tmp_path.resolve() / "out.bin").open()
    try:
        stream_keystream(tmp_path / "in.bin", out, engine, chunk, slots)
        out.commit()
    except BaseException:
        out.discard()
        raise
    return (tmp_path / "out.bin").read_bytes()


@pytest.mark.parametrize("device", ["host"] + KERNEL_DEVICES)
@pytest.mark.parametrize("cipher,nonce", [("aes256ctr", NONCE16), ("chacha20", NONCE12)])
@pytest.mark.parametrize("size,chunk,slots", [(0, 64, 2), (1, 64, 2), (200_001, 4096, 2),
                                              (200_001, 65_536, 6), (131_072, 65_536, 3)])
def test_slot_stream_equals_one_shot_cryptography(tmp_path, device, cipher, nonce, size,
                                                  chunk, slots):
    if device != "host" and chunk < 65_536 and size > 1:
        chunk = 65_536  # fewer kernel calls on the slow portable backends
    with CorePool(2) as pool:
        engine = HostKeystreamEngine(cipher, KEY, nonce, device, pool)
        got = run(tmp_path, DATA[:size], engine, chunk, slots)
    assert got == reference(cipher, nonce, DATA[:size])


class LateEngine(HostKeystreamEngine):
    """Works as the GPU engine does: in place, in the slot it was read into, and only when
    the writer calls ``ready`` (a late download). ``ready`` of chunk ``k`` waits until chunk
    ``k + ahead`` has been launched, which a stream that did not keep several chunks in
    flight (reading and launching ahead of the writer) could never do."""

    def __init__(self, ahead: int, fail_at: int | None = None):
        super().__init__("aes256ctr", KEY, NONCE16)
        self.ahead, self.fail_at, self.launched = ahead, fail_at, -1
        self.cond, self.in_flight, self.most = threading.Condition(), 0, 0

    @property
    def outputs(self):
        return self.inputs

    @outputs.setter
    def outputs(self, value):
        pass

    def launch(self, slot: int, nbytes: int, block: int):
        with self.cond:
            self.launched += 1
            k = self.launched
            self.in_flight += 1
            self.most = max(self.most, self.in_flight)
            self.cond.notify_all()
        buf = self.inputs[slot]

        def ready():
            with self.cond:
                ok = self.cond.wait_for(lambda: self.launched >= k + self.ahead or self.done,
                                        timeout=20)
                assert ok, f"chunk {k + self.ahead} was never launched before {k} was written"
                self.in_flight -= 1
            if k == self.fail_at:
                raise RuntimeError("the device failed")
            self.filter.xor_into(buf[:nbytes].copy(), buf, block)
        return ready

    done = False

    def allocate(self, slots: int, chunk: int) -> None:
        self.inputs = [np.empty(chunk + 16, np.uint8) for _ in range(slots)]


def test_chunks_are_in_flight_together_and_slots_wait_for_their_write(tmp_path):
    """With 4 slots, chunk k is written only after chunk k + 2 was launched (the last ones
    once the stream has read the end): reads and
    launches run ahead of the writer, and still no slot is refilled before its bytes are
    written (the bytes would be wrong otherwise, as the engine works in place)."""
    engine = LateEngine(ahead=2)
    size = 64 * 4096 * 10 - 5  # ten chunks, the last one short
    data = np.random.default_rng(9).integers(0, 256, size, dtype=np.uint8).tobytes()
    (tmp_path / "in.bin").write_bytes(data)
    out = StreamOutput(tmp_path.resolve() / "out.bin").open()
    orig_drain = out.drain

    def drain():
        with engine.cond:
            engine.done = True  # the last chunks have nothing launched after them
            engine.cond.notify_all()
        orig_drain()
    out.drain = drain
    stream_keystream(tmp_path / "in.bin", out, engine, 64 * 4096, slots=4)
    out.commit()
    assert (tmp_path / "out.bin").read_bytes() == reference("aes256ctr", NONCE16, data)
    assert engine.most >= 3


@pytest.mark.parametrize("what", ["device", "write", "read"])
def test_an_error_anywhere_stops_the_stream_without_hanging(tmp_path, what, monkeypatch):
    (tmp_path / "in.bin").write_bytes(DATA)
    engine = LateEngine(ahead=0, fail_at=3 if what == "device" else None)
    out = StreamOutput(tmp_path.resolve() / "out.bin").open()
    if what == "write":
        os.close(out.fd)
        out.fd = os.open(os.devnull, os.O_RDONLY)  # every write fails: EBADF
    if what == "read":
        monkeypatch.setattr(slot_stream, "open", lambda *a, **k: _Broken(), raising=False)
    expected = {"device": RuntimeError, "write": OSError, "read": ReadFailed}[what]
    try:
        with pytest.raises(expected):
            stream_keystream(tmp_path / "in.bin", out, engine, 4096, slots=3)
    finally:
        monkeypatch.undo()
        out.discard()
    assert not (tmp_path / "out.bin").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["in.bin"]


class _Broken:
    """A file whose reads fail, as a disk error would."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def readinto(self, buf):
        raise OSError(5, "Input/output error")


@pytest.mark.parametrize("device", ["host"] + KERNEL_DEVICES[:1])
@pytest.mark.parametrize("cipher,nonce", [("aes256ctr", NONCE16), ("chacha20", NONCE12)])
def test_a_streamed_program_takes_the_slots(tmp_path, monkeypatch, device, cipher, nonce):
    """READ_FILE … CHUNK → ENCRYPT → WRITE_FILE runs through `stream_keystream` (a CHUNK of
    whole 64-byte blocks) and writes the one-shot ciphertext; an odd CHUNK takes the
    filters and writes the same bytes."""
    from pxos.host.program import ProgramRun
    from pxos.ir.check_host import check_program
    from pxos.lang.px.parser import parse_program

    calls = []
    real = slot_stream.stream_keystream
    monkeypatch.setattr(slot_stream, "stream_keystream",
                        lambda *a, **k: calls.append(a[3]) or real(*a, **k))
    monkeypatch.setenv("PXOS_TEST_KEY", KEY.hex())
    (tmp_path / "data.bin").write_bytes(DATA)
    (tmp_path / "nonce.bin").write_bytes(nonce)
    for chunk in (65_536, 65_537):
        text = f"""READ_ENV "PXOS_TEST_KEY" INTO key AS hex
READ_FILE "nonce.bin" INTO nonce
READ_FILE "data.bin" INTO data AS u8 CHUNK {chunk}
ENCRYPT data WITH {cipher} KEY key NONCE nonce → sealed
WRITE_FILE sealed TO "sealed.bin"
"""
        ProgramRun(check_program(parse_program(text, str(tmp_path / "p.px"))),
                   device=device).run()
        assert (tmp_path / "sealed.bin").read_bytes() == reference(cipher, nonce, DATA)
    assert calls == [65_536]


def test_a_read_error_names_read_file_and_leaves_no_output(tmp_path, monkeypatch):
    from pxos.errors import PxFileError
    from pxos.host.program import ProgramRun
    from pxos.ir.check_host import check_program
    from pxos.lang.px.parser import parse_program

    monkeypatch.setenv("PXOS_TEST_KEY", KEY.hex())
    (tmp_path / "data.bin").write_bytes(DATA)
    (tmp_path / "nonce.bin").write_bytes(NONCE16)
    monkeypatch.setattr(slot_stream, "open", lambda *a, **k: _Broken(), raising=False)
    text = """READ_ENV "PXOS_TEST_KEY" INTO key AS hex
READ_FILE "nonce.bin" INTO nonce
READ_FILE "data.bin" INTO data AS u8 CHUNK 4096
ENCRYPT data WITH aes256ctr KEY key NONCE nonce → sealed
WRITE_FILE sealed TO "out/sealed.bin"
"""
    with pytest.raises(PxFileError, match="cannot read 'data.bin': Input/output error") as err:
        ProgramRun(check_program(parse_program(text, str(tmp_path / "p.px")))).run()
    assert err.value.span.line == 3
    assert list((tmp_path / "out").iterdir()) == []


def test_the_writer_starts_write_back_on_every_range_it_wrote(tmp_path, monkeypatch):
    from pxos.host.pipeline import stream

    ranges = []
    monkeypatch.setattr(stream, "WRITE_BEHIND", 10_000)
    monkeypatch.setattr(stream, "start_writeback", lambda fd, at, n: ranges.append((at, n)))
    with CorePool(2) as pool:
        got = run(tmp_path, DATA, HostKeystreamEngine("aes256ctr", KEY, NONCE16, "host", pool),
                  4096, 3)
    assert got == reference("aes256ctr", NONCE16, DATA)
    assert ranges[0][0] == 0 and all(n >= 10_000 for _, n in ranges)
    assert all(a + n == b for (a, n), (b, _) in zip(ranges, ranges[1:]))  # no gap, no overlap
    assert sum(n for _, n in ranges) > len(DATA) - 10_000
