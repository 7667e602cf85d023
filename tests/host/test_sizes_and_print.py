"""ALLOC sizes whose integer arithmetic wraps are an error (never a silently smaller array);
PRINT escapes control characters of its strings as Python's repr does."""

from __future__ import annotations

import subprocess
import sys

import pytest

from pxos.errors import PxRuntimeError
from tests.host.test_program import run


@pytest.mark.parametrize("size,exact,wrapped", [
    ("65536 * 65537", 4295032832, 65536),
    ("65536 * 65536 / 65536", 65536, 0),
    ("2147483647 + 1", 2147483648, -2147483648),
], ids=["product", "intermediate", "sum"])
def test_a_size_that_wraps_is_an_error(tmp_path, size, exact, wrapped):
    text = f"ALLOC a f32 SIZE {size}\nPRINT LEN(a)\n"
    with pytest.raises(PxRuntimeError) as info:
        run(text, tmp_path)
    assert f"overflows i32 ({exact} wraps to {wrapped})" in info.value.message
    assert "i64" in info.value.hint and info.value.span.col == 18


def test_sizes_that_fit_are_computed_as_written(tmp_path):
    text = ("SET n = 10\nALLOC b u8 SIZE n * 3\nALLOC a f32 SIZE LEN(b) * 2 - 1, -7 / -2\n"
            "ALLOC c u8 SIZE i64(65536) * 65536 / 65536 / 1024\nPRINT LEN(a), ROWS(a), LEN(c)\n")
    assert run(text, tmp_path).printed == [f"{59 * 3} 59 64"]


def test_three_sizes_whose_product_passes_64_bits(tmp_path):
    text = "ALLOC a u8 SIZE 2147483647, 2147483647, 2147483647\n"
    with pytest.raises(PxRuntimeError) as info:
        run(text, tmp_path)
    assert f"{2147483647 ** 3} elements" in info.value.message


def test_print_escapes_control_characters(tmp_path):
    label = "a\x1b[31mred\x00z\tq\u2028é"
    text = f'ALLOC x u8 SIZE 2\nPRINT "{label}", x\n'
    printed = run(text, tmp_path).printed
    assert printed == [repr(label)[1:-1] + " [0 0]"]
    assert "\x1b" not in printed[0] and "\x00" not in printed[0]
    # through the command line too: the terminal never receives ESC or NUL
    path = tmp_path / "p.px"
    path.write_text(text, encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "pxos.cli.main", "run", str(path),
                           "--device", "interp"], capture_output=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert b"\x1b" not in done.stdout and b"\x00" not in done.stdout
    assert b"a\\x1b[31mred\\x00z\\tq\\u2028" in done.stdout
