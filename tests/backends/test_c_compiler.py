"""A C compiler that cannot build a shared OpenMP library (``CC=false``, one that writes
nothing, one that writes a file that is no library) is named as the fault, with a hint,
never as a pxos bug and never as a traceback; a working compiler that rejects the
generated code still is a pxos bug to report."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from pxos.backends import c_compiler
from pxos.backends.c import CBackend
from pxos.errors import PxBackendError
from pxos.ir.check_host import check_program
from pxos.lang.px.parser import parse_program

PROGRAM = """GPU_KERNEL twice
    GPU_PARAM x float[]
GPU_THREAD_CODE:
    THREAD_ID → i
    STORE 2.0 * x[i] → x[i]
GPU_END
ALLOC x float SIZE 8
FILL x 1.5
RUN twice x
PRINT x
"""

# each a compiler driver: exits 1 silently; exits 0 writing nothing; writes a text file
FAKES = {"fails": "exit 1",
         "writes nothing": "exit 0",
         "writes no library": 'while [ $# -gt 0 ]; do [ "$1" = -o ] && echo junk > "$2"; '
                              'shift; done; exit 0'}


def _driver(tmp_path, name: str, body: str) -> str:
    path = tmp_path / name.replace(" ", "_")
    path.write_text("#!/bin/sh\n" + body + "\n")
    path.chmod(0o755)
    return str(path)


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX shell drivers")
@pytest.mark.parametrize("fake", sorted(FAKES))
def test_an_unsuited_compiler_is_named_with_a_hint(tmp_path, monkeypatch, fake):
    monkeypatch.setenv("PXOS_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("CC", _driver(tmp_path, fake, FAKES[fake]))
    kernel = check_program(parse_program(PROGRAM, "p.px")).kernels[0]
    with pytest.raises(PxBackendError) as info:
        CBackend().compile(kernel, False)
    err = info.value
    assert "cannot build a shared library with OpenMP" in err.message
    assert "pxos bug" not in err.message and "--device interp" in err.hint
    assert not any(p.suffix == ".so" for p in (tmp_path / "cache").rglob("*"))


def test_the_command_line_reports_it_without_a_traceback(tmp_path):
    prog = tmp_path / "p.px"
    prog.write_text(PROGRAM)
    env = dict(os.environ, CC=_driver(tmp_path, "fails", FAKES["fails"]),
               PXOS_CACHE_DIR=str(tmp_path / "cache"))
    done = subprocess.run([sys.executable, "-m", "pxos.cli.main", "run", str(prog),
                           "--device", "c"], capture_output=True, text=True, env=env,
                          timeout=300)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "cannot build a shared library with OpenMP" in done.stderr


@pytest.mark.skipif(shutil.which("gcc") is None, reason="needs gcc")
def test_generated_code_a_working_compiler_rejects_is_a_pxos_bug(tmp_path, monkeypatch):
    # gcc for the trial library, a rejection for anything else
    gcc = shutil.which("gcc")
    body = (f'for a in "$@"; do case "$a" in *trial.c) exec {gcc} "$@";; esac; done\n'
            'echo "k.c:1: error: something pxos wrote" >&2; exit 1')
    monkeypatch.setenv("PXOS_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("CC", _driver(tmp_path, "picky", body))
    assert c_compiler.compiler_problem(os.environ["CC"]) is None
    kernel = check_program(parse_program(PROGRAM, "p.px")).kernels[0]
    backend = CBackend()
    with pytest.raises(PxBackendError) as info:
        backend._build(backend.render(kernel, False)[0])
    assert "pxos bug" in info.value.message and "something pxos wrote" in info.value.message
