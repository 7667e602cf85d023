"""What gcc vectorised in a kernel, and why not, from its own report (``pxos compile
--target c --explain``).

The C backend's code is compiled once more with its flags and ``-fopt-info-vec-optimized
-fopt-info-vec-missed``; gcc names each loop by the source position its ``#line``
directives give, so every loop is reported at the line of the `.px` or Python kernel
whose statement begins it (the thread loop at the kernel's first statement). A loop is
*vectorised* when gcc says "loop vectorized using N byte vectors" for it, else the first
reason gcc gives ("not vectorized: control flow in loop", …) is kept.
"""

from __future__ import annotations

import re
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from pxos.backends.c_compiler import FLAGS, build_error
from pxos.codegen.c import render_c
from pxos.ir import nodes as ir

_MESSAGE = re.compile(r"^(?P<file>.+?):(?P<line>\d+):(?P<col>\d+): "
                      r"(?P<kind>optimized|missed): (?P<text>.*)$")
_VECTORS = re.compile(r"loop vectorized using (\d+) byte vectors")


@dataclass(frozen=True)
class LoopReport:
    """One loop of a kernel: ``line`` of its source file; ``vector_bytes`` the widest
    vectors gcc used (0: not vectorised) and ``reason`` why not (empty when it was)."""

    line: int
    vector_bytes: int
    reason: str = ""

    def render(self) -> str:
        if self.vector_bytes:
            return f"line {self.line}: vectorized ({self.vector_bytes}-byte vectors)"
        return f"line {self.line}: not vectorized: {self.reason}"


def vector_report(kernel: ir.Kernel, cc: str) -> list[LoopReport]:
    """The loops gcc found in ``kernel``'s C code, in line order.

    Args:
        kernel: a checked kernel; cc: the C compiler (gcc: others give no report).

    Raises:
        PxBackendError: the compiler failed.
    """
    src = render_c(kernel, guard=True, restrict=True)  # what the backend builds
    with tempfile.TemporaryDirectory(prefix="pxos-explain-") as tmp:
        c_file = Path(tmp) / f"{src.entry}.c"
        c_file.write_text(src.source)
        flags = [f for f in FLAGS if f != "-shared"]
        proc = subprocess.run([cc, *flags, "-c", str(c_file), "-o", str(Path(tmp) / "k.o"),
                               "-fopt-info-vec-optimized", "-fopt-info-vec-missed"],
                              capture_output=True, text=True)
    if proc.returncode != 0:
        raise build_error(cc, f"kernel {kernel.name!r}", proc.stderr, kernel.span)
    return parse_report(proc.stderr, str(kernel.span.file))


def parse_report(text: str, source: str) -> list[LoopReport]:
    """The loops of ``source`` (the kernel's file) in gcc's ``-fopt-info`` ``text``."""
    vectors: dict[int, int] = {}
    reasons: dict[int, str] = {}
    pending = None  # the line of the last "couldn't vectorize loop"
    for raw in text.splitlines():
        m = _MESSAGE.match(raw.strip())
        if not m or m["file"] != source:
            continue
        line, msg = int(m["line"]), m["text"]
        width = _VECTORS.search(msg)
        if width:
            vectors[line] = max(vectors.get(line, 0), int(width.group(1)))
        elif msg.startswith("couldn't vectorize loop"):
            pending = line
        elif msg.startswith("not vectorized:"):
            at = pending if pending is not None else line
            reasons.setdefault(at, msg[len("not vectorized:"):].strip())
            pending = None
    lines = sorted(set(vectors) | set(reasons))
    return [LoopReport(n, vectors.get(n, 0), "" if n in vectors else reasons[n])
            for n in lines]
