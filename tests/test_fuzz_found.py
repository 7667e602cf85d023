"""Inputs that fuzzing the front end found (test_fuzz), kept as plain cases: each gives a
``PxError`` at the right place, or is accepted.
"""

from __future__ import annotations

import signal

import pytest

from pxos.errors import PxError, PxSyntaxError
from pxos.host.program import ProgramRun
from pxos.ir.check_host import check_program
from pxos.lang.px.parser import parse_file, parse_program
from tests.test_fuzz import FILE, assert_well_placed


# ---------------------------------------------------------------------------- found by fuzzing

@pytest.mark.parametrize("text", [
    "SET x = 1\nGPU_END\n",
    "GPU_KERNEL k\nGPU_PARAM a float[]\nGPU_THREAD_CODE:\n    THREAD_ID → i\n"
    "    STORE 1.0 → a[i]\nGPU_END\nGPU_END\n",
], ids=["after-host-code", "doubled-GPU_END"])
def test_stray_gpu_end_is_a_syntax_error(text):
    def alarm(_signum, _frame):
        raise TimeoutError("parse_program did not return within 1 s")

    old = signal.signal(signal.SIGALRM, alarm)
    signal.alarm(1)
    try:
        with pytest.raises(PxSyntaxError) as info:
            check_program(parse_program(text, FILE))
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)
    stray = [n for n, line in enumerate(text.splitlines(), 1) if line.strip() == "GPU_END"]
    assert info.value.span.line in stray


@pytest.mark.parametrize("expr", [
    " + ".join(["1"] * 2000),
    "-" * 2000 + "1",
    "2" + " ** 2" * 2000,
], ids=["sum-of-2000", "2000-minus-signs", "power-chain-of-2000"])
def test_long_expression_is_a_px_error_or_ok(expr):
    text = f"SET x = {expr}\n"
    try:
        check_program(parse_program(text, FILE))
    except PxError as err:
        assert_well_placed(err, text)


def test_deeply_nested_blocks_are_a_px_error_or_ok():
    depth = 250
    body = "".join("    " * (d + 1) + f"IF i > {d}:\n" for d in range(depth))
    body += "    " * (depth + 1) + "STORE 1.0 → a[i]\n"
    text = ("GPU_KERNEL k\nGPU_PARAM a float[]\nGPU_THREAD_CODE:\n    THREAD_ID → i\n"
            + body + "GPU_END\n")
    try:
        check_program(parse_program(text, FILE))
    except PxError as err:
        assert_well_placed(err, text)


@pytest.mark.parametrize("char", ["\u2028", "\u2029", "\x85", "\x0c", "\x0b", "\x1c"],
                         ids=["U+2028", "U+2029", "NEL", "FF", "VT", "FS"])
def test_only_newline_ends_a_line(char):
    # before: only checked, nothing asserted; now run, and what PRINT printed is asserted
    text = f"# a comment with {char} inside\nALLOC x float SIZE 3\nPRINT \"a{char}b\", x\n"
    program = check_program(parse_program(text, FILE))
    assert [s.span.line for s in program.statements] == [2, 3]
    printed: list[str] = []
    ProgramRun(program, device="interp", emit=printed.append).run()
    (line,) = printed
    tail = "b [0. 0. 0.]"
    assert line.startswith("a") and line.endswith(tail), repr(line)
    # the character itself, or an escape of it where PRINT shows control characters escaped
    assert line[1:-len(tail)] in (char, ascii(char)[1:-1]), repr(line)


def test_a_file_ends_lines_where_its_text_does(tmp_path):
    """Found by the bytes fuzzer: reading a file translated a lone \r into a line break."""
    data = b"SET x = 1\rSET y = )\n"
    (tmp_path / FILE).write_bytes(data)
    errors = []
    for parse in (lambda: parse_file(tmp_path / FILE), lambda: parse_program(data.decode())):
        with pytest.raises(PxSyntaxError) as info:
            parse()
        errors.append((info.value.span.line, info.value.span.col))
    assert errors == [(1, 11), (1, 11)]


@pytest.mark.parametrize("stmt", ["SYNC_THREADS", "BREAK", "CONTINUE", "RETURN",
                                  "STORE 1.0 → a[0]", "ATOMIC_ADD a[0] 1"])
def test_thread_statement_at_host_level(stmt):
    text = f"ALLOC a int SIZE 4\n{stmt}\n"
    with pytest.raises(PxSyntaxError) as info:
        check_program(parse_program(text, FILE))
    assert (info.value.span.line, info.value.span.col) == (2, 1)
    assert_well_placed(info.value, text)
