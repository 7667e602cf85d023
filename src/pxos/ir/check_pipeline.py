"""Checks of the secure-pipeline statements (version 2): ``READ_ENV``, ``ENCRYPT``,
``DECRYPT``, ``HASH``, ``COMPRESS``, ``DECOMPRESS`` and ``VALIDATE``.

A mixin of the host checker (``ir/check_host``): it uses the checker's names and
``_need``/``_define``/``_expr``. Besides names and types it follows where each array's
contents come from (:attr:`origin`): a key must come from a file (``READ_FILE``) or the
environment (``READ_ENV``), never from the program itself (a string, ``FILL``,
``RANDOM``, a kernel's output), so no key is ever written in a program.
"""

from __future__ import annotations

from pxos.errors import PxArgumentError, PxSyntaxError, PxTypeError
from pxos.ir import nodes as ir
from pxos.ir.types import U8

CIPHERS = ("aes256ctr", "aes256gcm", "chacha20")
HASHES = ("sha256",)
CODECS = ("zstd", "lz4", "deflate")
SUMS = ("crc32c", "sha256")
FORMATS = ("npy", "png", "utf8")
ENCODINGS = ("hex", "utf8")
OUTSIDE = ("file", "env")  # where a key may come from


def _one_of(word: str, allowed: tuple[str, ...], what: str, span) -> None:
    if word not in allowed:
        raise PxSyntaxError(f"unknown {what} {word!r}; expected {', '.join(allowed)}",
                            span.find(word, result=False))


class PipelineChecks:
    """The pipeline statements' checks (mixed into the host checker)."""

    def _origin_of(self, name: str) -> str:
        return self.origin.get(name, "program")

    def _bytes(self, name: str, span, what: str):
        """``name`` must be an array of bytes (``u8``, any rank; read in row-major order)."""
        where = span.find(name, result=False)
        info = self._need(name, where, array=True)
        if info.elem is not None and info.elem != U8:
            raise PxTypeError(f"{what} {name!r} is an array of {info.elem}; it must hold bytes "
                              "(u8)", where,
                              "READ_FILE \"path\" INTO x AS u8 reads any file's bytes")
        return info

    def _chunk_size(self, e: ir.Expr) -> None:
        """``READ_FILE … CHUNK bytes``: an integer expression (checked ≥ 1 when it runs)."""
        t = self._expr(e, e.span)
        if t is not None and not t.is_int:
            raise PxTypeError(f"CHUNK is a number of bytes, an integer; got {t}", e.span)

    def _check_streams(self, body: ir.Body) -> None:
        """The streams' rules (``ir/check_stream``), once the names are known."""
        from pxos.ir.check_stream import stream_plans

        stream_plans(body)

    def _readenv(self, s: ir.ReadEnv) -> None:
        _one_of(s.encoding, ENCODINGS, "encoding", s.span)
        if not s.variable or "=" in s.variable or "\0" in s.variable:
            raise PxSyntaxError(f"{s.variable!r} is not an environment variable's name",
                                s.span)
        self._define(s.name, self._bytes_info(), s.span)
        self.origin[s.name] = "env"

    def _bytes_info(self):
        from pxos.ir.check_host import ArrayInfo

        return ArrayInfo(U8, 1)

    def _crypt(self, s: ir.Crypt) -> None:
        _one_of(s.cipher, CIPHERS, "cipher", s.span)
        self._bytes(s.source, s.span, "the data")
        if isinstance(s.key, ir.Str):
            raise PxArgumentError("a key written in the program is refused: anyone who reads "
                                  "the program (or its history) has it", s.key.span,
                                  "read the key from a file (READ_FILE \"key.bin\" INTO k) or "
                                  "from the environment (READ_ENV \"MY_KEY\" INTO k AS hex)")
        self._bytes(s.key.name, s.span, "the key")
        if self._origin_of(s.key.name) not in OUTSIDE:
            raise PxArgumentError(f"key {s.key.name!r} is made by the program itself; a key "
                                  "must come from a file or the environment", s.key.span,
                                  f"READ_ENV \"MY_KEY\" INTO {s.key.name} AS hex, or READ_FILE")
        self._bytes(s.nonce, s.span, "the nonce")
        self._define(s.result, self._bytes_info(), s.span)
        self.origin[s.result] = "program"

    def _hash(self, s: ir.Hash) -> None:
        from pxos.ir.check_host import ArrayInfo

        _one_of(s.algorithm, HASHES, "hash", s.span)
        info = self._bytes(s.source, s.span, "the data")
        if s.rows and info.ndim not in (None, 2):
            raise PxTypeError(f"HASH ROWS OF needs a 2-D array (one message per row); "
                              f"{s.source!r} is {info.ndim}-D", s.span.find(s.source, result=False))
        self._define(s.result, ArrayInfo(U8, 2 if s.rows else 1), s.span)
        self.origin[s.result] = "program"

    def _codec(self, s: ir.Codec) -> None:
        _one_of(s.codec, CODECS, "codec", s.span)
        self._bytes(s.source, s.span, "the data")
        if s.level is not None:
            if s.decompress:
                raise PxSyntaxError("LEVEL belongs to COMPRESS; DECOMPRESS reads the level "
                                    "from the data", s.level.span)
            t = self._expr(s.level, s.level.span)
            if t is not None and not t.is_int:
                raise PxTypeError(f"LEVEL must be an integer, got {t}", s.level.span)
        self._define(s.result, self._bytes_info(), s.span)
        self.origin[s.result] = "program"

    def _validate(self, s: ir.Validate) -> None:
        self._bytes(s.source, s.span, "the data")
        if s.expected is None:
            _one_of(s.check, FORMATS, "format", s.span)
            return
        _one_of(s.check, SUMS, "checksum", s.span)
        e = s.expected
        if isinstance(e, ir.Var):
            self._need(e.name, e.span)
        elif isinstance(e, ir.Const) and s.check == "sha256":
            raise PxTypeError("a SHA-256 digest is 32 bytes: give it as an array or as a "
                              "\"hex\" string", e.span)
        elif isinstance(e, ir.Str) and not _is_hex(e.value, 8 if s.check == "crc32c" else 64):
            raise PxTypeError(f"expected {8 if s.check == 'crc32c' else 64} hex digits for "
                              f"{s.check}, got {e.value!r}", e.span)


def _is_hex(text: str, digits: int) -> bool:
    return len(text) == digits and all(c in "0123456789abcdefABCDEF" for c in text)
