"""Errors found as a program runs (VERIFY, bounds) and on the command line: exit code 2,
position and caret, no traceback.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from pxos.cli.main import app
from pxos.errors import PxBoundsError, PxError, PxRuntimeError
from tests.errors.located import (
    assert_located, check, col_of, kernel, run_error, write_program, SCALE,
)

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "examples").glob("*.px"))


# ---------------------------------------------------------------------------- run time

IOTA = kernel("    THREAD_ID → i\n    STORE i → a[i]\n", "GPU_PARAM a int[]\n", name="iota")
POKE = kernel("    THREAD_ID → i\n    IF i == 3:\n        STORE 99 → a[i]\n    ELSE:\n"
              "        STORE i → a[i]\n", "GPU_PARAM a int[]\n", name="poke")


def test_verify_failure_names_first_differing_index(tmp_path):
    text = IOTA + POKE + ("ALLOC x int SIZE 6\nALLOC y LIKE x\nRUN iota x\nRUN poke y\n"
                          "VERIFY x == y\n")
    path = write_program(tmp_path, text)
    line = text.splitlines().index("VERIFY x == y") + 1
    err = run_error(path, PxRuntimeError)
    assert "VERIFY" in err.message
    assert "index [3]" in err.message
    assert "1 of 6" in err.message
    assert "3" in err.message and "99" in err.message
    assert_located(err, str(path), text, line, 1, length=len("VERIFY x == y"))


def test_verify_failure_2d_index(tmp_path):
    poke2 = kernel("    THREAD_ID → x, y\n    IF x == 2 AND y == 1:\n        STORE 7 → m[y, x]\n",
                   "GPU_PARAM m int[,]\n", name="poke2")
    text = poke2 + ("ALLOC m int SIZE 3, 4\nALLOC z LIKE m\nRUN poke2 m\nVERIFY z == m\n")
    path = write_program(tmp_path, text)
    err = run_error(path, PxRuntimeError)
    assert "index [1, 2]" in err.message
    assert err.span.line == len(text.splitlines())


def test_verify_with_tolerance_passes_and_fails(tmp_path):
    text = ("ALLOC x float SIZE 4\nALLOC y LIKE x\nFILL x 1.0\nFILL y 1.05\n"
            "VERIFY x == y TOL 0.1\nVERIFY x == y TOL 0.01\n")
    err = run_error(write_program(tmp_path, text), PxRuntimeError)
    assert err.span.line == 6 and "index [0]" in err.message


def test_verify_failure_shows_plain_values(tmp_path):
    text = IOTA + POKE + ("ALLOC x int SIZE 6\nALLOC y LIKE x\nRUN iota x\nRUN poke y\n"
                          "VERIFY x == y\n")
    err = run_error(write_program(tmp_path, text), PxRuntimeError)
    assert "np." not in err.message
    assert "3 != 99" in err.message


@pytest.mark.parametrize("body, line, needle", [
    ("    THREAD_ID → i\n    STORE 1.0 → a[i + 1]\n", 5, "STORE"),
    ("    THREAD_ID → i\n    SET v = a[i - 1]\n    STORE v → a[i]\n", 5, "a[i - 1]"),
    ("    THREAD_ID → i\n    LOAD a[2 * i] → v\n    STORE v → a[i]\n", 5, "a[2 * i]"),
])
def test_out_of_bounds_on_interp(tmp_path, body, line, needle):
    text = kernel(body) + "ALLOC x float SIZE 5\nRUN k x\n"
    path = write_program(tmp_path, text)
    err = run_error(path, PxBoundsError, device="interp")
    assert isinstance(err, PxRuntimeError)
    assert "out of bounds" in err.message and "'a'" in err.message
    assert_located(err, str(path), text, line, col_of(text, line, needle))


def test_out_of_bounds_2d_names_the_axis(tmp_path):
    body = "    THREAD_ID → x, y\n    STORE 1.0 → m[y, x + 1]\n"
    text = kernel(body, "GPU_PARAM m float[,]\n") + "ALLOC z float SIZE 3, 4\nRUN k z\n"
    path = write_program(tmp_path, text)
    err = run_error(path, PxBoundsError, device="interp")
    assert "axis 1" in err.message and "4" in err.message
    assert_located(err, str(path), text, 5, 5)


def test_out_of_bounds_in_host_expression(tmp_path):
    text = "ALLOC x float SIZE 3\nSET v = x[3]\n"
    err = run_error(write_program(tmp_path, text), PxBoundsError)
    assert_located(err, str(tmp_path / "p.px"), text, 2, col_of(text, 2, "x[3]"))


# ---------------------------------------------------------------------------- command line

runner = CliRunner()

BAD_PROGRAMS = {
    "syntax": ("SET x = = 1\n", 1, 9),
    "name": ("ALLOC x float SIZE n\n", 1, 20),
    "type": (kernel("    THREAD_ID → i\n    STORE 2.5 → a[i]\n", "GPU_PARAM a u8[]\n"), 5, 5),
    "argument": (SCALE + "ALLOC x float SIZE 4\nRUN scale x\n", 9, 1),
    "barrier": (kernel("    THREAD_ID → i\n    IF i < 3:\n        SYNC_THREADS\n",
                       "GPU_PARAM a float[]\nGPU_BLOCK 64\n"), 7, 9),
    "verify": ("ALLOC x float SIZE 4\nALLOC y LIKE x\nFILL y 1.0\nVERIFY x == y\n", 4, 1),
    "file": ('READ_FILE "missing.npy" INTO x\n', 1, 1),
    "bounds": (kernel("    THREAD_ID → i\n    STORE 1.0 → a[i + 1]\n")
               + "ALLOC x float SIZE 5\nRUN k x\n", 5, 5),
}


def _cli_output(result) -> str:
    return result.output + (result.stderr if result.stderr not in result.output else "")


@pytest.mark.parametrize("kind", sorted(BAD_PROGRAMS))
def test_cli_program_error_exits_2_with_position_and_caret(tmp_path, monkeypatch, kind):
    text, line, col = BAD_PROGRAMS[kind]
    write_program(tmp_path, text, "bad.px")
    monkeypatch.chdir(tmp_path)  # a short relative path: see test_cli_long_lines_are_not_wrapped
    path = "bad.px"
    result = runner.invoke(app, ["run", path, "--device", "interp"])
    assert result.exit_code == 2, result.output
    out = _cli_output(result)
    assert f"{path}:{line}:{col}:" in out
    assert "Traceback" not in out
    gutter = f"{line:>5} | "
    lines = out.splitlines()
    k = lines.index(gutter + text.splitlines()[line - 1])
    assert lines[k + 1].index("^") == len(gutter) + col - 1
    # The error goes to stderr, not stdout.
    assert f"{path}:{line}:{col}:" in result.stderr


def test_cli_check_reports_errors_too(tmp_path, monkeypatch):
    text, line, col = BAD_PROGRAMS["name"]
    write_program(tmp_path, text, "bad.px")
    monkeypatch.chdir(tmp_path)
    path = "bad.px"
    result = runner.invoke(app, ["check", path])
    assert result.exit_code == 2
    assert f"{path}:{line}:{col}:" in result.stderr and "^" in result.stderr


def test_cli_missing_program_file(tmp_path):
    result = runner.invoke(app, ["run", str(tmp_path / "absent.px")])
    assert result.exit_code == 2
    assert "no such file" in result.stderr
    assert "Traceback" not in _cli_output(result)


def test_cli_good_program_exits_0(tmp_path, monkeypatch):
    text = IOTA + "ALLOC x int SIZE 5\nRUN iota x\nPRINT \"x =\", x\nWRITE_FILE x TO \"x.npy\"\n"
    path = write_program(tmp_path, text, "good.px")
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["run", str(path), "--device", "interp"])
    assert result.exit_code == 0, _cli_output(result)
    assert "x = [0 1 2 3 4]" in result.stdout
    np.testing.assert_array_equal(np.load(tmp_path / "x.npy"), np.arange(5, dtype=np.int32))


def test_cli_allow_path(tmp_path, monkeypatch):
    (tmp_path / "data").mkdir()
    np.save(tmp_path / "data" / "x.npy", np.arange(4, dtype=np.float32))
    write_program(tmp_path / "prog", 'READ_FILE "../data/x.npy" INTO x\nPRINT LEN(x)\n')
    monkeypatch.chdir(tmp_path / "prog")
    path = "p.px"
    refused = runner.invoke(app, ["run", path, "-d", "interp"])
    assert refused.exit_code == 2 and "outside" in refused.stderr
    assert "p.px:1:1: file error:" in refused.stderr
    allowed = runner.invoke(app, ["run", path, "-d", "interp",
                                  "--allow-path", str(tmp_path / "data")])
    assert allowed.exit_code == 0, _cli_output(allowed)
    assert "4" in allowed.stdout


@pytest.mark.parametrize("example", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_cli_check_examples(example):
    result = runner.invoke(app, ["check", str(example)])
    assert result.exit_code == 0, _cli_output(result)
    assert "OK" in result.stdout


def test_examples_exist():
    assert len(EXAMPLES) >= 5


@pytest.mark.parametrize("kind", ["name", "argument"])
def test_cli_error_text_is_exactly_render(tmp_path, monkeypatch, kind):
    """With a short path and short lines, stderr is exactly ``PxError.render()``."""
    text = BAD_PROGRAMS[kind][0]
    write_program(tmp_path, text, "bad.px")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("COLUMNS", raising=False)
    with pytest.raises(PxError) as info:
        check(text, "bad.px")
    assert max(map(len, info.value.render().splitlines())) <= 80
    result = runner.invoke(app, ["check", "bad.px"])
    assert result.exit_code == 2
    assert result.stderr.rstrip("\n") == info.value.render()
    assert result.stdout == ""


@pytest.mark.parametrize("long_part", ["source", "path", "message"])
def test_cli_long_lines_are_not_wrapped(tmp_path, monkeypatch, long_part):
    expr = "undefined_thing"
    folder = tmp_path / ("a_rather_long_folder_name_" * 3)
    text = kernel(f"    THREAD_ID → i\n    SET r = {expr}\n    STORE r → a[i]\n")
    if long_part == "source":
        expr = " + ".join(f"{k}.0" for k in range(1, 16)) + " + undefined_thing"
        text = kernel(f"    THREAD_ID → i\n    SET r = {expr}\n    STORE r → a[i]\n")
    elif long_part == "message":
        text = BAD_PROGRAMS["barrier"][0]
    path = write_program(tmp_path if long_part != "path" else folder, text, "long.px")
    monkeypatch.chdir(tmp_path)
    if long_part != "path":
        path = path.relative_to(tmp_path)
    monkeypatch.delenv("COLUMNS", raising=False)
    with pytest.raises(PxError) as info:
        check(text, str(path))
    assert max(map(len, info.value.render().splitlines())) > 80
    result = runner.invoke(app, ["check", str(path)])
    assert result.exit_code == 2
    assert result.stderr.rstrip("\n") == info.value.render()


def test_cli_subprocess_real_run(tmp_path):
    """The real console entry: a program error exits 2 with a position and no traceback."""
    text, line, col = BAD_PROGRAMS["name"]
    write_program(tmp_path, text, "bad.px")
    good = write_program(tmp_path, "ALLOC x float SIZE 3\nPRINT LEN(x)\n", "good.px")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [str(ROOT / "src"), os.environ.get("PYTHONPATH", "")]))
    env.pop("COLUMNS", None)
    proc = subprocess.run([sys.executable, "-m", "pxos.cli.main", "run", "bad.px"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert f"bad.px:{line}:{col}:" in proc.stderr
    assert f"{line:>5} | {text.splitlines()[line - 1]}" in proc.stderr
    assert "^" in proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    proc = subprocess.run([sys.executable, "-m", "pxos.cli.main", "run", str(good),
                           "--device", "interp"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.strip() == "3"


@pytest.mark.skipif(sys.platform != "linux", reason="RLIMIT_AS")
def test_out_of_memory_names_the_statement(tmp_path):
    # a process allowed 3 GB of address space, an ALLOC of 4 GB: NumPy's MemoryError
    import resource

    prog = tmp_path / "big.px"
    prog.write_text("ALLOC small float SIZE 8\nALLOC a float SIZE 1000000000\nPRINT a\n")
    limit = 3 << 30

    def cap():
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    done = subprocess.run([sys.executable, "-m", "pxos.cli.main", "run", str(prog),
                           "--device", "interp"], capture_output=True, text=True,
                          timeout=300, preexec_fn=cap)
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    assert f"{prog}:2:1: runtime error: ALLOC: out of memory" in done.stderr
