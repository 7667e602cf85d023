"""Running a stream (``READ_FILE … CHUNK``, see ``ir/check_stream``) in a program.

A mixin of :class:`pxos.host.program.ProgramRun`, beside ``pipeline_run``. The stream's
statements are skipped where they stand, and the whole stream runs at its last one: the
file is read chunk by chunk into a ring buffer (``host/pipeline/stream``), each chunk goes
through the members' filters (``host/pipeline/filters``, ``gcm_stream``) in program order,
``WRITE_FILE`` appends to temporary files, and when the file ends every ``VALIDATE`` is
checked; only then are the outputs renamed into place and the digests defined. A failure
anywhere (a wrong tag, a corrupt input, a failed check, Ctrl-C) removes every output.

A streamed COMPRESS runs on nvCOMP (``host/pipeline/nvcomp_stream``) where the program is
pinned to cuda, or where ``--device auto`` predicts it faster with its copies
(``codec_placement``, measured on the file's first bytes); else on the CPU library.

A stream that only runs a keystream cipher (AES-256-CTR, ChaCha20) from the file into a
``WRITE_FILE``, with a ``CHUNK`` that is a multiple of 64 bytes, goes through the ring of
slots of ``host/pipeline/slot_stream`` instead: no chunk is copied on the host, and on cuda
reads, GPU work and writes overlap on their own threads and streams.
"""

from __future__ import annotations

import os
import sys
import time
from contextlib import contextmanager

import numpy as np

from pxos.errors import PxFileError, PxRuntimeError
from pxos.host.pipeline_run import at
from pxos.ir import nodes as ir
from pxos.ir.check_stream import source_of

MAX_CHUNK = 1 << 30  # bytes: the ring holds a few chunks in memory
PROGRESS_AFTER = 1.0  # seconds: a stream still running then shows a progress bar
SAMPLE = 64 << 20  # bytes of the file that a streamed COMPRESS is placed by


class StreamStatements:
    """Streams of a running program (mixed into ``ProgramRun``)."""

    def _stream_of(self, stmt: ir.Stmt):
        """The stream ``stmt`` belongs to (``ir.check_stream.Stream``), or None."""
        index = getattr(self, "_stream_index", None)
        if index is None:
            from pxos.ir.check_stream import stream_plans

            index = self._stream_index = {}
            for stream in stream_plans(self.program.statements):
                for stmt_ in (stream.read,) + stream.members:
                    index[id(stmt_)] = stream
        return index.get(id(stmt))

    def _stream_step(self, stmt: ir.Stmt) -> str | None:
        """Run ``stmt`` as a stream member: nothing until the stream's last statement, then
        the whole stream. None when ``stmt`` is not streamed."""
        stream = self._stream_of(stmt)
        if stream is None:
            return None
        if stmt is stream.last:
            self._run_stream(stream)
        return "stream"

    def _chunk_bytes(self, read: ir.ReadFile) -> int:
        size = int(self.evaluate(read.chunk))
        if not 1 <= size <= MAX_CHUNK:
            raise PxRuntimeError(f"CHUNK must be from 1 to {MAX_CHUNK} bytes; got {size}",
                                 read.chunk.span, "16 MiB (16777216) is a good size")
        return size

    def _run_stream(self, stream) -> None:
        from pxos.host.pipeline.cores import CorePool

        read = stream.read
        chunk = self._chunk_bytes(read)
        path = self.files.resolve(read.path, read.span)
        if not path.is_file():
            raise PxFileError(f"no such file: {path}", read.span)
        pair = _slot_pair(stream, chunk)
        if pair is not None:
            return self._run_slot_stream(path, chunk, read, *pair)
        with CorePool() as pool:
            stages = [self._stage(m, chunk, pool) for m in stream.members]
            writes = [(m, out) for m, out in zip(stream.members, stages)
                      if isinstance(m, ir.WriteFile)]
            try:
                for m, out in writes:
                    with _write_errors(m):
                        out.open()
                with _progress(path.stat().st_size) as advance:
                    for view in _chunks(path, chunk, read):
                        self._flow(stream, stages, view, False)
                        advance(len(view))
                self._flow(stream, stages, b"", True)
                results = self._results(stream, stages)
                for m, out in writes:
                    with _write_errors(m):
                        out.commit()
                    self.written.append(out.path)
            except BaseException:  # an error, Ctrl-C: no output is left behind
                for _, out in writes:
                    out.discard()
                raise
        for name, (value, span) in results.items():
            self._define_bytes(name, value, span)

    def _run_slot_stream(self, path, chunk: int, read: ir.ReadFile, m: ir.Crypt,
                         w: ir.WriteFile) -> None:
        """``_run_stream`` of READ_FILE → ENCRYPT/DECRYPT (CTR, ChaCha20) → WRITE_FILE."""
        from pxos.host.pipeline import slot_stream
        from pxos.host.pipeline.cores import CorePool
        from pxos.host.pipeline.stream import StreamOutput

        with CorePool() as pool:
            with at(m):
                engine = self._slot_engine(m, pool)
            out = StreamOutput(self.files.resolve(w.path, w.span))
            try:
                with _write_errors(w):
                    out.open()
                with _progress(path.stat().st_size) as advance, _write_errors(w), at(m):
                    try:
                        slot_stream.stream_keystream(path, out, engine, chunk, advance=advance)
                    except slot_stream.ReadFailed as err:
                        raise PxFileError(f"cannot read {read.path!r}: {err.strerror}",
                                          read.span) from None
                    out.commit()
                self.written.append(out.path)
            except BaseException:  # an error, Ctrl-C: no output is left behind
                out.discard()
                raise

    def _slot_engine(self, m: ir.Crypt, pool):
        from pxos.host.pipeline import ciphers
        from pxos.host.pipeline.slot_stream import make_engine

        key, nonce = self._bytes(m.key.name, m.key.span), self._bytes(m.nonce, m.span)
        if not m.decrypt:
            self._fresh_nonce(m, key, nonce)
        _, key, nonce = ciphers.checked(b"", key, nonce, m.cipher)
        return make_engine(m.cipher, key, nonce, self._pipeline_device(m), pool)

    def _stage(self, m: ir.Stmt, chunk: int, pool):
        """The filter, sink or output of member ``m``."""
        from pxos.host.pipeline import filters
        from pxos.host.pipeline.stream import StreamOutput

        with at(m):
            if isinstance(m, ir.WriteFile):
                return StreamOutput(self.files.resolve(m.path, m.span))
            if isinstance(m, ir.Crypt):
                return self._cipher_stage(m, chunk, pool)
            if isinstance(m, ir.Codec):
                level = None if m.level is None else int(self.evaluate(m.level))
                if self._stream_codec_devices().get(id(m)) == "cuda":
                    from pxos.host.pipeline.nvcomp_stream import NvcompFilter

                    return NvcompFilter(m.codec, level)
                return filters.CodecFilter(m.codec, m.decompress, level, pool.workers, pool)
            if isinstance(m, ir.Hash) or m.check == "sha256":
                return filters.Sha256Sink()
            return filters.Crc32cSink(pool) if m.check == "crc32c" else filters.Utf8Sink()

    def _stream_codec_devices(self) -> dict:
        """id(COMPRESS) -> the device chosen for it by :meth:`_place_stream_codec`."""
        if getattr(self, "_codec_devices", None) is None:
            self._codec_devices = {}
        return self._codec_devices

    def _place_stream_codec(self, s: ir.Codec) -> None:
        """Where a streamed COMPRESS runs, chosen when its statement is reached (before the
        stream runs, so ``--explain`` shows it on its line): pinned, ``cuda`` where nvCOMP
        is installed; under ``auto``, ``codec_placement.place_codec`` with the rates
        measured on the file's first bytes (the CPU library's on its first MiB, nvCOMP's on
        up to 64 MiB) and the times predicted for the whole file; else the host."""
        from pxos.host import pipeline
        from pxos.host.pipeline import nvcomp_codec

        device = self._pipeline_device(s)
        read = self._stream_of(s).read
        path = self.files.resolve(read.path, read.span)
        if self.device == "auto" and path.is_file():
            gpu = nvcomp_codec.installed() and "cuda" in pipeline.devices("compress")
            if gpu or self.explain:
                from pxos.host.pipeline.codec_placement import place_codec

                level = None if s.level is None else int(self.evaluate(s.level))
                sample = np.fromfile(path, np.uint8, count=SAMPLE if gpu else 1 << 20)
                self._decision = place_codec(sample, s.codec, level, gpu, s.span.line,
                                             s.span.text.strip(), path.stat().st_size)
                device = self._decision.device
        self._stream_codec_devices()[id(s)] = device

    def _cipher_stage(self, m: ir.Crypt, chunk: int, pool):
        from pxos.host.pipeline import ciphers, filters, gcm_stream

        key, nonce = self._bytes(m.key.name, m.key.span), self._bytes(m.nonce, m.span)
        if not m.decrypt:
            self._fresh_nonce(m, key, nonce)
        _, key, nonce = ciphers.checked(b"", key, nonce, m.cipher)
        if m.cipher == "aes256gcm":
            return (gcm_stream.GcmOpenFilter(key, nonce, pool) if m.decrypt
                    else gcm_stream.GcmSealFilter(key, nonce, gcm_stream.SEGMENT, pool))
        return filters.KeystreamFilter(m.cipher, key, nonce, self._pipeline_device(m), pool)

    def _flow(self, stream, stages: list, view, final: bool) -> None:
        """One chunk (``final``: the end of the file) through every member in order."""
        from pxos.host.pipeline.stream import StreamOutput

        data = {stream.read.name: view}
        for m, stage in zip(stream.members, stages):
            src = data[source_of(m)]
            if isinstance(stage, StreamOutput):
                with _write_errors(m):  # the ring's slot is reused: the file's bytes copied
                    stage.append(bytes(src) if source_of(m) == stream.read.name else src)
                continue
            with at(m):
                if isinstance(m, (ir.Crypt, ir.Codec)):
                    out = stage.push(src)
                    data[m.result] = (_cat(out, stage.close()) if final else out)
                else:
                    stage.push(src)

    def _results(self, stream, stages: list) -> dict:
        """Check every VALIDATE (PxRuntimeError at the first that fails); the digests."""
        results = {}
        for m, stage in zip(stream.members, stages):
            if isinstance(m, ir.Hash):
                results[m.result] = (np.frombuffer(stage.value(), np.uint8), m.span)
            elif isinstance(m, ir.Validate):
                with at(m):
                    got = stage.value()
                if m.check != "utf8":
                    self._compare(m, got if m.check == "crc32c" else got.hex())
        return results


def _slot_pair(stream, chunk: int):
    """(ENCRYPT/DECRYPT, WRITE_FILE) when ``stream`` is only a keystream cipher of the file
    written out, and ``chunk`` a multiple of 64 bytes (whole blocks); else None."""
    if len(stream.members) != 2 or chunk % 64:
        return None
    m, w = stream.members
    if (isinstance(m, ir.Crypt) and m.cipher in ("aes256ctr", "chacha20")
            and source_of(m) == stream.read.name and isinstance(w, ir.WriteFile)
            and source_of(w) == m.result):
        return m, w
    return None


def _chunks(path, chunk: int, read: ir.ReadFile):
    """``stream.read_chunks``, a read error as a PxFileError at the ``READ_FILE``."""
    from pxos.host.pipeline.stream import read_chunks

    try:
        yield from read_chunks(path, chunk)
    except OSError as err:
        raise PxFileError(f"cannot read {read.path!r}: {err.strerror}", read.span) from None


@contextmanager
def _write_errors(m: ir.WriteFile):
    """An OSError while writing ``m``'s output as a PxFileError at ``m``."""
    from pxos.host.files import _why

    try:
        yield
    except OSError as err:
        raise PxFileError(f"cannot write {m.path!r}: {_why(err)}", m.span) from None


@contextmanager
def _progress(total: int):
    """A Rich progress bar with bytes/s on stderr (a terminal only, not with
    ``PXOS_NO_PROGRESS``), shown once the stream has run ``PROGRESS_AFTER`` seconds;
    yields ``advance(bytes)``."""
    if not sys.stderr.isatty() or os.environ.get("PXOS_NO_PROGRESS"):
        yield lambda n: None
        return
    from rich.console import Console
    from rich.progress import (BarColumn, DownloadColumn, Progress, TimeRemainingColumn,
                               TransferSpeedColumn)

    bar = Progress(BarColumn(), DownloadColumn(), TransferSpeedColumn(), TimeRemainingColumn(),
                   console=Console(stderr=True), transient=True)
    start, task, done = time.perf_counter(), None, 0

    def advance(n: int) -> None:
        nonlocal task, done
        done += n
        if task is None and time.perf_counter() - start > PROGRESS_AFTER:
            bar.start()
            task = bar.add_task("stream", total=total, completed=done)
        elif task is not None:
            bar.update(task, completed=done)
    try:
        yield advance
    finally:
        if task is not None:
            bar.stop()


def _cat(a, b):
    if not len(b):
        return a
    if not len(a):
        return b
    return np.concatenate([np.frombuffer(a, np.uint8), np.frombuffer(b, np.uint8)])
