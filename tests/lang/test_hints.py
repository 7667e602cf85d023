"""The ``hint:`` line of the errors people make most (``lang/px/hints.py``, ``ir/check.py``):
each names the fix in the program's own words, under the caret of a located error."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

import pxos
from pxos.cli.main import app
from pxos.errors import PxError, PxFileError, PxSyntaxError, PxTypeError
from pxos.ir.check import check_kernel
from pxos.ir.check_host import check_program
from pxos.ir.types import F32, Array
from pxos.lang.px.hints import refuse_python
from pxos.lang.px.parser import parse_program
from pxos.lang.py.frontend import kernel_ir

runner = CliRunner()


def error_of(text: str) -> PxError:
    with pytest.raises(PxError) as info:
        check_program(parse_program(text, "t.px"))
    return info.value


def kernel(body: str) -> str:
    return ("GPU_KERNEL k\nGPU_PARAM x float[]\nGPU_PARAM out float[]\nGPU_THREAD_CODE:\n"
            f"    THREAD_ID → i\n{body}    STORE 0.0 → out[i]\nGPU_END\n")


# -- an integer accumulator that later takes a float: fix its first assignment, not a cast

def test_int_accumulator_points_at_its_first_assignment():
    # before: hint "convert explicitly: CAST x i32 → y, or i32(x)", which truncates
    text = kernel("    SET acc = 0\n    FOR k IN 0..LEN(x):\n        SET acc = acc + x[k]\n")
    err = error_of(text)
    assert type(err) is PxTypeError and (err.span.line, err.span.col) == (8, 9)
    assert err.message == "variable 'acc' is i32 but the value is f32"
    assert err.hint.startswith("'acc' is i32 because its first assignment (line 6) is the "
                               "integer 0; write `SET acc = 0.0` there to make it f32")
    assert "CAST" not in err.hint and err.render().splitlines()[-1] == f"hint: {err.hint}"


def test_int_accumulator_hint_for_f64_and_for_a_non_literal():
    err = error_of(kernel("    SET acc = 0x10\n    SET acc = acc + f64(x[i])\n"))
    assert "write `SET acc = f64(16.0)` there to make it f64" in err.hint
    err = error_of(kernel("    SET acc = i\n    SET acc = x[i]\n"))
    assert err.hint.startswith("'acc' is i32 from its first assignment (line 6); make that "
                               "value f32 there, e.g. f32(…)")


def dot(x, out):
    for i in pxos.parallel(len(out)):
        acc = 0
        for k in range(len(x)):
            acc = acc + x[k]
        out[i] = acc


def test_int_accumulator_in_a_python_kernel():
    with pytest.raises(PxTypeError) as info:
        check_kernel(kernel_ir(dot, {"x": Array(F32, 1), "out": Array(F32, 1)}))
    assert "write `acc = 0.0` there to make it f32" in info.value.hint


# -- syntax: a missing SET, a misspelt keyword, C's brackets

@pytest.mark.parametrize("line,hint", [
    # before: no hint, only "unexpected 'acc'; expected one of 'ABS', 'ADD', …"
    ("    acc = acc + 1", "did you mean `SET acc = acc + 1`?"),
    ("    acc += x[i] * 2  # scaled", "did you mean `SET acc = acc + x[i] * 2`?"),
    ("    out[i] = x[i] * 2.0", "did you mean `STORE x[i] * 2.0 → out[i]`?"),
    # before: no hint
    ("GPU_PARM y float[]", "did you mean GPU_PARAM?"),
    ("    LAOD x[i] → v", "did you mean LOAD?"),
    ("    SYNC_THRADS", "did you mean SYNC_THREADS?"),
    ("    FOR j IN 0..4 STPE 2:", "did you mean STEP?"),
    ("    gpu_param y float[]", "keywords are written in upper case: GPU_PARAM"),
    # before: "unexpected '['; expected '<END-OF-FILE>'", no hint
    ("GPU_PARAM y float[][]", "write float[,]:"),
    ("GPU_PARAM y u8[][][]", "write u8[,,]:"),
    ("    LOAD x[i][0] → v", "write x[i, 0]:"),
    ("    SET v = out[i][i + 1] * 2.0", "write out[i, i + 1]:"),
])
def test_syntax_hints_in_kernels(line, hint):
    if line.lstrip().upper().startswith("GPU_"):  # a header line
        text = kernel("").replace("GPU_THREAD_CODE:", line + "\nGPU_THREAD_CODE:")
    else:
        text = kernel(line + "\n")
    err = error_of(text)
    assert type(err) is PxSyntaxError and err.hint is not None, err.render()
    assert err.hint.startswith(hint), err.render()


@pytest.mark.parametrize("line,hint", [
    ("RNU k a", "did you mean RUN?"),
    ("READ_FIEL \"a.npy\" INTO a", "did you mean READ_FILE?"),
    ("n = LEN(a) * 2", "did you mean `SET n = LEN(a) * 2`?"),
    ("print a", "keywords are written in upper case: PRINT"),
])
def test_syntax_hints_in_host_code(line, hint):
    err = error_of(f"ALLOC a float SIZE 4\n{line}\n")
    assert type(err) is PxSyntaxError and (err.span.line, err.span.col) == (2, 1)
    assert err.hint.startswith(hint), err.render()


def test_no_hint_when_nothing_is_close():
    err = error_of("ALLOC a float SIZE 4\nFROBNICATE a\n")
    assert err.hint is None


# -- a Python program given to a .px command

PY = "import numpy as np\nprint(np.arange(3))\n"


@pytest.mark.parametrize("command", [["run"], ["check"], ["compile"], ["explain"], ["lint"],
                                     ["export", "--kernel", "k"]])
def test_python_file_is_refused_with_run_it_with_python(tmp_path, command):
    # before: "foo.py:1:1: syntax error: unexpected 'import'; expected one of 'ABS', …"
    path = tmp_path / "foo.py"
    path.write_text(PY)
    result = runner.invoke(app, [command[0], str(path), *command[1:]])
    assert result.exit_code == 2, result.output
    assert result.output.splitlines()[0] == (
        f"file error: {path} is a Python program, not a .px program; run it with python: "
        f"python3 {path}")
    assert "Traceback" not in result.output


def test_python_without_py_suffix(tmp_path):
    script = tmp_path / "tool"
    script.write_text("#!/usr/bin/env python3\nprint('hi')\n")
    with pytest.raises(PxFileError, match="python3 "):
        refuse_python(script)
    other = tmp_path / "notes.txt"
    other.write_text(PY)  # not .px and parses as Python with an import
    with pytest.raises(PxFileError):
        refuse_python(other)
    px = tmp_path / "prog.px"
    px.write_text(PY)  # a .px file is always read as .px (its errors are syntax errors)
    refuse_python(px)
    text = tmp_path / "data.txt"
    text.write_text("ALLOC a float SIZE 4\n")
    refuse_python(text)
    refuse_python(tmp_path / "missing.py")  # its reader reports that it is missing


def test_a_px_program_still_runs(tmp_path):
    path = tmp_path / "p.px"
    path.write_text("ALLOC a float SIZE 3\nFILL a 1.5\nREDUCE SUM a → s\nPRINT s\n")
    result = runner.invoke(app, ["run", str(path), "--device", "interp"])
    assert result.exit_code == 0, result.output
    assert result.output.split() == ["4.5"]


@pytest.mark.parametrize("line,word,hint", [
    # before: RUNN read as RUN N: "name error: no kernel named 'N'"
    ("RUNN k a", "RUNN", "did you mean RUN?"),
    # before: SETn read as SET n: accepted without a word
    ("SETn = 2", "SETn", "did you mean SET?"),
    ("REDUCESUM a → s", "REDUCESUM", "did you mean REDUCE?"),
])
def test_a_keyword_glued_to_a_name_is_refused(line, word, hint):
    err = error_of(f"ALLOC a float SIZE 4\n{line}\n")
    assert type(err) is PxSyntaxError and err.message == f"unknown word {word!r}"
    assert (err.span.line, err.span.col, err.span.length) == (2, 1, len(word))
    assert err.hint == hint


def test_the_language_reference_example(tmp_path, monkeypatch):
    """docs/language.md, "Errors and hints": the program and what `pxos check` prints."""
    from tests.conftest import ROOT

    text = (ROOT / "docs" / "language.md").read_text(encoding="utf-8")
    section = text.split("## Errors and hints", 1)[1]
    program = section.split("```px\n", 1)[1].split("```", 1)[0]
    shown = section.split("```text\n", 1)[1].split("```", 1)[0].splitlines()
    assert shown[0] == "$ pxos check rowsum.px"
    (tmp_path / "rowsum.px").write_text(program, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["check", "rowsum.px"])
    assert result.exit_code == 2
    assert result.output.splitlines() == shown[1:]
