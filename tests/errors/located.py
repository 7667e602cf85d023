"""What the error tests share: a kernel's text, checking and running a program, and
:func:`assert_located`, the spec's rendering of an error (file:line:col, source line, caret).

spec/px-language.md, "Errors": a ``PxError`` subclass whose message names file, line and
column, shows the source line with a caret, and says what was expected; on the command line
no traceback, exit code 2.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pxos.errors import PxError
from pxos.host.program import ProgramRun
from pxos.ir.check_host import check_program
from pxos.lang.px.parser import parse_program

def assert_located(err: PxError, file: str, text: str, line: int, col: int,
                   length: int | None = None) -> None:
    """``err`` points at ``line``:``col`` of ``text`` (1-based) and renders the spec's way:
    ``file:line:col: kind: message``, then ``    N | <source line>``, then a caret line
    whose first ``^`` stands under column ``col``."""
    assert err.span is not None, f"{type(err).__name__} without a position: {err.message}"
    assert (err.span.line, err.span.col) == (line, col), err.render()
    if length is not None:
        assert err.span.length == length, err.render()
    rendered = str(err)
    assert rendered == err.render()
    out = rendered.splitlines()
    assert out[0] == f"{file}:{line}:{col}: {err.kind}: {err.message}"
    source_line = "".join(c if c.isprintable() else " " for c in text.split("\n")[line - 1])
    gutter = f"{line:>5} | "
    assert out[1] == gutter + source_line
    caret = out[2]
    assert set(caret.strip()) == {"^"}, rendered
    assert caret.index("^") == len(gutter) + col - 1, rendered
    assert caret.count("^") == max(1, err.span.length)


def col_of(text: str, line: int, needle: str, nth: int = 0) -> int:
    """1-based column of the ``nth`` occurrence of ``needle`` on ``line`` of ``text``."""
    src = text.splitlines()[line - 1]
    pos = -1
    for _ in range(nth + 1):
        pos = src.index(needle, pos + 1)
    return pos + 1


def check(text: str, file: str = "t.px"):
    return check_program(parse_program(text, file))


def check_error(text: str, cls: type, file: str = "t.px") -> PxError:
    with pytest.raises(PxError) as info:
        check(text, file)
    err = info.value
    assert type(err) is cls, f"expected {cls.__name__}, got {type(err).__name__}: {err}"
    return err


def kernel(body: str, header: str = "GPU_PARAM a float[]\n", name: str = "k") -> str:
    """A kernel: line 1 GPU_KERNEL, header lines, GPU_THREAD_CODE:, ``body``, GPU_END."""
    return f"GPU_KERNEL {name}\n{header}GPU_THREAD_CODE:\n{body}GPU_END\n"


def write_program(folder: Path, text: str, name: str = "p.px") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def run_file(path: Path, **options) -> ProgramRun:
    program = check_program(parse_program(path.read_text(encoding="utf-8"), str(path)))
    options.setdefault("device", "interp")
    return ProgramRun(program, emit=lambda _text: None, **options).run()


def run_error(path: Path, cls: type, **options) -> PxError:
    with pytest.raises(PxError) as info:
        run_file(path, **options)
    assert type(info.value) is cls, f"{type(info.value).__name__}: {info.value}"
    return info.value



SCALE = kernel("    THREAD_ID → i\n    STORE a[i] * s → a[i]\n",
               "GPU_PARAM a float[]\nGPU_PARAM s float\n", name="scale")
