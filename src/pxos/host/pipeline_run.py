"""The secure-pipeline statements of a running program (version 2): ``READ_ENV``,
``ENCRYPT``/``DECRYPT``, ``HASH``, ``COMPRESS``/``DECOMPRESS`` and ``VALIDATE``.

A mixin of :class:`pxos.host.program.ProgramRun`. Each statement reads its data as bytes
(a ``u8`` array, row-major) and defines its result as a new ``u8`` array; the work is done
by ``host/pipeline`` on the host's CPU libraries (``cryptography``, ``hashlib``,
``zstandard``, ``lz4``, ``zlib``) or, under ``--device``, by pxos's own kernels where that
backend has them. A nonce used twice with one key and cipher in a program is refused: it
would let anyone who sees both outputs recover their XOR.
"""

from __future__ import annotations

import hashlib
import os
import time
from contextlib import contextmanager

import numpy as np

from pxos import registry
from pxos.backends.base import HOST
from pxos.errors import PxError, PxRuntimeError
from pxos.ir import nodes as ir

OPERATIONS = {ir.Crypt: "encrypt", ir.Hash: "sha256", ir.Codec: "compress"}


@contextmanager
def at(stmt: ir.Stmt):
    """Errors of the pipeline primitives, which know no `.px` place, placed at ``stmt`` and
    named by its keyword (``DECRYPT: aes256gcm: authentication tag does not match …``)."""
    try:
        yield
    except PxError as err:
        if err.span is None:
            err.span = stmt.span
            err.message = f"{ir.keyword(stmt)}: {err.message}"
            err.args = (err.message,)
        raise


class PipelineStatements:
    """Running the pipeline statements (mixed into ``ProgramRun``)."""

    def _bytes(self, name: str, span) -> np.ndarray:
        """The contents of ``name`` (a ``u8`` array) as one row-major 1-D view."""
        return self.array(name, span).reshape(-1)

    def _pipeline_device(self, stmt: ir.Stmt, nbytes: int | None = None) -> str:
        """Where ``stmt`` runs: the pinned ``--device`` where pxos has kernels for it there;
        under ``auto``, for ``nbytes`` bytes of ENCRYPT/DECRYPT/HASH, the faster of the CPU
        library and the kernels by the cost model (``pipeline/placement``, its decision
        kept for ``--explain``); else the host's CPU libraries."""
        from pxos.host import pipeline

        op = OPERATIONS[type(stmt)]
        if isinstance(stmt, ir.Codec) and stmt.decompress:
            return HOST  # DECOMPRESS runs on the CPU libraries only
        if self.device != "auto":
            return self.device if self.device in pipeline.devices(op) else HOST
        kernels = [d for d in pipeline.devices(op)
                   if d != HOST and registry.known(d) and registry.compiles(d)]
        if nbytes is None or isinstance(stmt, ir.Codec) or getattr(stmt, "rows", False) \
                or not (kernels or self.explain):
            return HOST
        from pxos.host.pipeline.placement import place

        what = stmt.cipher if isinstance(stmt, ir.Crypt) else "sha256"
        self._decision = place(what, nbytes, kernels, stmt.span.line, stmt.span.text.strip())
        return self._decision.device

    def _measured(self, t0: float) -> None:
        """The placed statement's time, for ``--explain`` (the planner learns only RUN's)."""
        if self._decision is not None:
            self._decision.measured = time.perf_counter() - t0

    def _define_bytes(self, name: str, data, span) -> None:
        self._define_array(name, np.ascontiguousarray(data, dtype=np.uint8), span)

    def _readenv(self, s: ir.ReadEnv):
        text = os.environ.get(s.variable)
        if text is None:
            raise PxRuntimeError(f"environment variable {s.variable} is not set", s.span,
                                 f"export {s.variable}=… before running the program")
        if s.encoding == "utf8":
            data = text.encode("utf-8")
        else:
            try:
                data = bytes.fromhex("".join(text.split()))
            except ValueError:
                raise PxRuntimeError(f"environment variable {s.variable} is not hex digits "
                                     "(two per byte)", s.span) from None
        self._define_bytes(s.name, np.frombuffer(data, np.uint8), s.span)

    def _crypt(self, s: ir.Crypt) -> str:
        streamed = self._stream_step(s)  # host/pipeline_stream
        if streamed is not None:
            return streamed
        from pxos.host import pipeline

        data, key = self._bytes(s.source, s.span), self._bytes(s.key.name, s.key.span)
        nonce = self._bytes(s.nonce, s.span)
        if not s.decrypt:
            self._fresh_nonce(s, key, nonce)
        device = self._pipeline_device(s, data.nbytes)
        t0 = time.perf_counter()
        run = pipeline.decrypt if s.decrypt else pipeline.encrypt
        with at(s):
            out = run(data, s.cipher, key, nonce, device=device)
        self._define_bytes(s.result, out, s.span)
        self._measured(t0)
        return device

    def _fresh_nonce(self, s: ir.Crypt, key: np.ndarray, nonce: np.ndarray) -> None:
        used = self.nonces
        mark = (s.cipher, hashlib.sha256(key.tobytes()).digest(), nonce.tobytes())
        if mark in used:
            raise PxRuntimeError(f"ENCRYPT: nonce {s.nonce!r} was already used with this key and "
                                 f"{s.cipher} (line {used[mark]}); a reused nonce reveals "
                                 "the XOR of the two plaintexts", s.span,
                                 "use a new nonce for every ENCRYPT with one key")
        used[mark] = s.span.line

    def _hash(self, s: ir.Hash) -> str:
        streamed = self._stream_step(s)  # host/pipeline_stream
        if streamed is not None:
            return streamed
        from pxos.host import pipeline

        source = self.array(s.source, s.span)
        device = self._pipeline_device(s, source.nbytes)
        t0 = time.perf_counter()
        with at(s):
            if s.rows:
                out = pipeline.sha256_rows(source.reshape(source.shape[0], -1), device=device)
            else:
                out = pipeline.sha256(source.reshape(-1), device=device)
        self._define_bytes(s.result, out, s.span)
        self._measured(t0)
        return device

    def _codec(self, s: ir.Codec) -> str:
        if not s.decompress and self._stream_of(s) is not None:
            self._place_stream_codec(s)  # before the stream runs (host/pipeline_stream)
        streamed = self._stream_step(s)  # host/pipeline_stream
        if streamed is not None:
            return streamed
        from pxos.host import pipeline
        from pxos.host.pipeline import nvcomp_codec

        data = self._bytes(s.source, s.span)
        level = None if s.level is None else int(self.evaluate(s.level))
        device = self._pipeline_device(s)
        placed = self.device == "auto" and not s.decompress
        gpu = placed and nvcomp_codec.installed() and "cuda" in pipeline.devices("compress")
        if placed and (gpu or self.explain):  # the CPU library or nvCOMP, by cost
            from pxos.host.pipeline.codec_placement import place_codec

            self._decision = place_codec(data, s.codec, level, gpu, s.span.line,
                                         s.span.text.strip())
            device = self._decision.device
        t0 = time.perf_counter()
        with at(s):
            if s.decompress:
                out = pipeline.decompress(data, s.codec, device=device)
            else:
                out = pipeline.compress(data, s.codec, level, device=device)
        self._define_bytes(s.result, out, s.span)
        self._measured(t0)
        return device

    def _validate(self, s: ir.Validate) -> str | None:
        streamed = self._stream_step(s)  # host/pipeline_stream
        if streamed is not None:
            return streamed
        from pxos.host import pipeline

        data = self._bytes(s.source, s.span)
        with at(s):
            if s.expected is None:
                pipeline.validate(data, s.check)
                return
            got = pipeline.crc32c(data) if s.check == "crc32c" else \
                bytes(pipeline.sha256(data)).hex()
        self._compare(s, got)
        return None

    def _compare(self, s: ir.Validate, got) -> None:
        """PxRuntimeError unless ``got`` (an int for crc32c, hex for sha256) is expected."""
        want = self._expected(s)
        shown = f"{got:08x}" if s.check == "crc32c" else got
        if got != want:
            raise PxRuntimeError(f"VALIDATE failed: the {s.check} of {s.source!r} is {shown}, "
                                 f"expected {want if isinstance(want, str) else f'{want:08x}'}",
                                 s.span)

    def _expected(self, s: ir.Validate):
        """The expected checksum: an int for crc32c, lower-case hex for sha256."""
        e = s.expected
        if isinstance(e, ir.Str):
            return int(e.value, 16) if s.check == "crc32c" else e.value.lower()
        if isinstance(e, ir.Var) and isinstance(self.values.get(e.name), np.ndarray):
            raw = self._bytes(e.name, e.span).tobytes()
            return int.from_bytes(raw, "big") if s.check == "crc32c" else raw.hex()
        if s.check == "crc32c":
            return int(self.evaluate(e)) & 0xFFFFFFFF
        raise PxRuntimeError("a SHA-256 digest is 32 bytes: an array or a \"hex\" string",
                             e.span)
