"""The LALR tables of ``grammar.lark``, built once and shipped with pxos (``grammar.tables``).

Lark builds the tables of our grammar in about half a second; a process loads built ones in
about 10 ms. The per-user cache (``lang/px/lines``) saves that only from the second process
on a machine; the shipped file saves it in the first, so neither the first `.px` file nor
``pxos calibrate`` on a fresh machine waits for Lark's grammar analysis.

The file is one header line, then :meth:`lark.Lark.save`'s pickle of the basic-lexer parser.
The header holds the SHA-256 of what the tables depend on (the grammar text, Lark's version,
the options) and the SHA-256 of the pickle; :func:`load` uses the file only where both
match, so an edited grammar or another Lark release falls back to building (and the per-user
cache). The pickle is our own package data, written by :func:`write`, never a user's file.

Regenerate after editing ``grammar.lark`` (a test fails until then)::

    python3 -m pxos.lang.px.tables
"""

from __future__ import annotations

import hashlib
import io
from importlib import resources
from pathlib import Path

import lark

from pxos.atomic_write import write_atomic

FILE = "grammar.tables"
OPTIONS = {"parser": "lalr", "lexer": "basic", "propagate_positions": True,
           "maybe_placeholders": True}


def grammar() -> str:
    """The text of ``grammar.lark``."""
    return resources.files(__package__).joinpath("grammar.lark").read_text("utf-8")


def fingerprint(text: str) -> str:
    """The SHA-256 (hex) of what the tables of grammar ``text`` depend on: the text, Lark's
    version and :data:`OPTIONS`."""
    return hashlib.sha256("\n".join([text, lark.__version__, repr(sorted(OPTIONS.items()))])
                          .encode()).hexdigest()


def load(text: str, path: Path | None = None) -> lark.Lark | None:
    """The basic-lexer parser of grammar ``text`` from the tables at ``path`` (default: the
    shipped ones); None where they are missing or were built from another grammar, Lark
    version or options, or their pickle does not match its checksum."""
    try:
        data = (Path(path) if path else resources.files(__package__).joinpath(FILE)).read_bytes()
    except OSError:
        return None
    head, _, body = data.partition(b"\n")
    if head.decode("ascii", "replace") != _header(text, body):
        return None
    return lark.Lark.load(io.BytesIO(body))


def _header(text: str, body: bytes) -> str:
    return fingerprint(text) + " " + hashlib.sha256(body).hexdigest()


def write(path: Path | None = None) -> Path:
    """Build the tables of ``grammar.lark`` and write them (atomically) to ``path``
    (default: ``grammar.tables`` beside this module); returns the path."""
    text = grammar()
    out = io.BytesIO()
    lark.Lark(text, **OPTIONS).save(out)
    body = out.getvalue()
    path = path or Path(__file__).with_name(FILE)
    write_atomic(path, _header(text, body).encode("ascii") + b"\n" + body)
    return path


if __name__ == "__main__":
    print(f"wrote {write()}")
