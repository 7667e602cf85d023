"""Streams: ``READ_FILE "f" INTO x AS u8 CHUNK bytes`` and the statements that take ``x``.

A file read with ``CHUNK`` is never held whole: its bytes flow, chunk by chunk, through the
statements of the same block that take it or a value made from it (its *members*):
``ENCRYPT``/``DECRYPT`` and ``COMPRESS``/``DECOMPRESS`` (whose results are streamed in
turn), ``HASH`` (one digest, known when the stream ends), ``VALIDATE … WITH crc32c|sha256``
and ``VALIDATE … AS utf8`` (checked when the stream ends), and ``WRITE_FILE`` (appended to a
temporary file, renamed into place only when the whole stream, every check included, has
succeeded). The whole stream runs at its last member; the statements between that are not
members run before it. :func:`stream_plans` finds the streams of a program and refuses the
uses a stream cannot serve, each with the place and the reason.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from pxos.errors import PxTypeError
from pxos.ir import nodes as ir
from pxos.ir.types import U8

MEMBERS = (ir.Crypt, ir.Codec, ir.Hash, ir.Validate, ir.WriteFile)
STREAMED_CHECKS = ("crc32c", "sha256", "utf8")  # VALIDATE checks that read bytes in order
_TAKES = ("ENCRYPT, DECRYPT, COMPRESS, DECOMPRESS, HASH, VALIDATE (crc32c, sha256, utf8) "
          "and WRITE_FILE")


@dataclass(frozen=True)
class Stream:
    """One streamed file: its ``READ_FILE``, its members in program order, the streamed
    names (the file's and every streamed result) and the digests known when it ends."""

    read: ir.ReadFile
    members: tuple[ir.Stmt, ...]
    streamed: frozenset[str]
    digests: frozenset[str]

    @property
    def last(self) -> ir.Stmt:
        """The statement at which the whole stream runs."""
        return self.members[-1] if self.members else self.read


def source_of(stmt: ir.Stmt) -> str:
    """The streamed name a member statement takes."""
    return stmt.name if isinstance(stmt, ir.WriteFile) else stmt.source


def stream_plans(body: ir.Body) -> list[Stream]:
    """The streams of ``body`` and of every block inside it.

    Raises:
        PxTypeError: a streamed file that is not read as bytes, a streamed value taken by a
            statement that needs it whole (or in another block), ``VALIDATE AS npy|png``
            of a stream, a stream's key, nonce or expected value, or
            a stream's digest used before the stream ends.
    """
    found = []
    for i, stmt in enumerate(body):
        for inner in _blocks(stmt):
            found += stream_plans(inner)
        if isinstance(stmt, ir.ReadFile) and stmt.chunk is not None:
            found.append(_plan(stmt, body[i + 1:]))
    return found


def _blocks(stmt: ir.Stmt) -> list[ir.Body]:
    if isinstance(stmt, ir.If):
        return [b for _, b in stmt.arms] + [stmt.orelse]
    if isinstance(stmt, (ir.For, ir.While)):
        return [stmt.body]
    return []


def _plan(read: ir.ReadFile, rest: ir.Body) -> Stream:
    _check_read(read)
    streamed, digests, members = {read.name}, set(), []
    for stmt in rest:
        if isinstance(stmt, MEMBERS) and source_of(stmt) in streamed:
            _check_member(stmt, read, streamed)
            members.append(stmt)
            if isinstance(stmt, (ir.Crypt, ir.Codec)):
                streamed.add(stmt.result)
            elif isinstance(stmt, ir.Hash):
                digests.add(stmt.result)
            continue
        used = _names_read(stmt) & streamed
        if used:
            name = sorted(used)[0]
            raise PxTypeError(f"{name!r} is streamed in chunks (READ_FILE … CHUNK, line "
                              f"{read.span.line}); {ir.keyword(stmt)} needs it whole",
                              stmt.span.find(name, result=False),
                              f"only {_TAKES} take a stream; drop CHUNK to read the file whole")
        streamed -= _names_defined(stmt)  # a name defined anew is no longer streamed
    stream = Stream(read, tuple(members), frozenset(streamed), frozenset(digests))
    _check_digests(stream, rest)
    return stream


_FORMATTED = ("npy", "png", "jpg", "jpeg", "bmp")  # files READ_FILE/WRITE_FILE encode


def _extension(path: str) -> str:
    name = path.rsplit("/", 1)[-1]
    return name.rsplit(".", 1)[-1].lower() if "." in name else ""


def _check_read(read: ir.ReadFile) -> None:
    if _extension(read.path) in _FORMATTED or read.as_type not in (None, U8):
        raise PxTypeError("READ_FILE … CHUNK streams a file's raw bytes: it must be read "
                          f"AS u8 and not be an .npy file or an image ({read.path!r})",
                          read.span, "read it whole (drop CHUNK), or stream it AS u8")


def _check_member(stmt: ir.Stmt, read: ir.ReadFile, streamed: set[str]) -> None:
    where = f"(streamed from line {read.span.line})"
    if isinstance(stmt, ir.WriteFile) and _extension(stmt.path) in _FORMATTED:
        raise PxTypeError(f"a stream is written as raw bytes; {stmt.path!r} names an "
                          f".{_extension(stmt.path)} file, which needs the whole array "
                          f"{where}", stmt.span, "write it to a .bin (or any other) file")
    if isinstance(stmt, ir.Validate):
        if stmt.check not in STREAMED_CHECKS:
            raise PxTypeError(f"VALIDATE AS {stmt.check} needs the whole file; "
                              f"{stmt.source!r} is streamed in chunks {where}", stmt.span,
                              "a stream can be checked WITH crc32c, WITH sha256 or AS utf8")
        e = stmt.expected
        if isinstance(e, ir.Var) and e.name in streamed:
            raise PxTypeError(f"the expected value {e.name!r} is itself streamed {where}",
                              e.span)
    if isinstance(stmt, ir.Crypt):
        key = stmt.key.name if isinstance(stmt.key, ir.Var) else None
        for name in (key, stmt.nonce):
            if name in streamed:
                raise PxTypeError(f"{name!r} is streamed in chunks {where}; a key or nonce "
                                  "must be read whole", stmt.span.find(name, result=False))


def _check_digests(stream: Stream, rest: ir.Body) -> None:
    """A stream's digest exists only once the stream has run, at its last member."""
    if not stream.digests:
        return
    for stmt in rest:
        if stmt is stream.last:
            return
        used = _names_read(stmt) & stream.digests
        if used:
            name = sorted(used)[0]
            raise PxTypeError(f"{name!r} is the digest of a stream, known only when the "
                              f"stream ends (line {stream.last.span.line})",
                              stmt.span.find(name, result=False),
                              "use it after the stream's last statement")


def _names_read(stmt) -> set[str]:
    """Every name ``stmt`` (or a block inside it) may read: a conservative over-estimate
    (all names and string fields that hold names, minus file paths and string literals)."""
    names: set[str] = set()
    _collect(stmt, names)
    if isinstance(stmt, _DEFINING):
        names.discard(stmt.name)
    return names


_DEFINING = (ir.ReadFile, ir.ReadEnv, ir.Alloc, ir.AllocLike, ir.Assign)


def _collect(node, names: set[str]) -> None:
    if isinstance(node, ir.Str):
        return
    if isinstance(node, ir.Var):
        names.add(node.name)
        return
    if isinstance(node, (tuple, list)):
        for x in node:
            _collect(x, names)
        return
    if not dataclasses.is_dataclass(node):
        return
    for f in dataclasses.fields(node):
        value = getattr(node, f.name)
        if f.name in ("span", "path", "result", "variable", "cipher", "codec", "check",
                      "algorithm", "encoding", "kernel", "op"):
            continue
        if isinstance(value, str):
            names.add(value)
        else:
            _collect(value, names)


def _names_defined(stmt) -> set[str]:
    if isinstance(stmt, _DEFINING):
        return {stmt.name}
    result = getattr(stmt, "result", None)
    return {result} if isinstance(result, str) else set()
