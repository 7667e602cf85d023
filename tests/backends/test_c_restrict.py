"""The C backend's ``restrict`` array parameters: the default build declares them, and a
launch in which a written array overlaps another array argument runs the build without
(backends/c). Results against NumPy."""

from __future__ import annotations

import numpy as np
import pytest

from pxos import backends
from pxos.backends.base import make_launch
from pxos.backends.c import CBackend
from pxos.host.program import ProgramRun
from pxos.ir.check_host import check_program
from pxos.lang.px.parser import parse_file, parse_program

pytestmark = pytest.mark.skipif("c" not in backends.available(), reason="no C compiler")

SRC = """GPU_KERNEL scale
GPU_PARAM src float[]
GPU_PARAM dst float[]
GPU_THREAD_CODE:
    THREAD_ID → i
    STORE src[i] * 2.0 + 1.0 → dst[i]
GPU_END
"""


def kernel():
    return check_program(parse_program(SRC, "scale.px")).kernels[0]


def test_distinct_arrays_run_the_restrict_build(tmp_path, monkeypatch):
    monkeypatch.setenv("PXOS_CACHE_DIR", str(tmp_path))
    b, k = CBackend(), kernel()
    compiled = b.compile(k)
    assert "float *restrict v_src" in compiled.source.source
    a = np.arange(1000, dtype=np.float32)
    out = np.zeros_like(a)
    b.launch(compiled, [a, out], make_launch(k, (1000,)))
    np.testing.assert_array_equal(out, a * np.float32(2) + np.float32(1))
    assert compiled.plain is None


def test_overlapping_arrays_run_the_build_without_restrict(tmp_path, monkeypatch):
    monkeypatch.setenv("PXOS_CACHE_DIR", str(tmp_path))
    b, k = CBackend(), kernel()
    compiled = b.compile(k)
    buf = np.random.default_rng(5).random(1001).astype(np.float32)
    want = buf[:1000] * np.float32(2) + np.float32(1)
    b.launch(compiled, [buf[:1000], buf[:1000]], make_launch(k, (1000,)))  # in place
    np.testing.assert_array_equal(buf[:1000], want)
    assert compiled.plain is not None and "restrict" not in compiled.plain.source.source
    plain = compiled.plain
    b.launch(compiled, [buf[1:], buf[:1000]], make_launch(k, (1000,)))  # shifted views
    assert compiled.plain is plain  # built once


def test_px_run_with_one_array_twice(tmp_path, monkeypatch):
    program = tmp_path / "twice.px"
    program.write_text(SRC + """
ALLOC a float SIZE 5000
RANDOM a SEED 3
WRITE_FILE a TO "before.npy"
FOR t IN 0..6:
    RUN scale a a
WRITE_FILE a TO "after.npy"
""")
    # later launches of the RUN are offered to the native launcher, which refuses them
    # (in this process: the program's relative paths are read from its folder)
    monkeypatch.chdir(tmp_path)
    ProgramRun(check_program(parse_file(program)), device="c", emit=lambda _: None).run()
    want = np.load(tmp_path / "before.npy")
    for _ in range(6):
        want = want * np.float32(2) + np.float32(1)
    np.testing.assert_array_equal(np.load(tmp_path / "after.npy"), want)
