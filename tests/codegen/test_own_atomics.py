"""Owned copies of atomically updated arrays in C kernels (``codegen/own_atomics``): which
arrays qualify, and the results of every combining atomic, every integer type, arrays
below and above the copy's size limit, on teams of several threads (the block pool and
the OpenMP loop), against NumPy's ``ufunc.at``."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

from pxos import backends
from pxos.codegen.c import render_c
from pxos.codegen.own_atomics import OWN_BYTES, owned_arrays
from pxos.host.launch import run_kernel
from pxos.ir.check_host import check_program
from pxos.lang.px.parser import parse_program
from tests.conftest import ROOT

HISTOGRAM = """GPU_KERNEL k
GPU_PARAM v {t}[]
GPU_PARAM bins {t}[]
GPU_PARAM n int
GPU_THREAD_CODE:
    THREAD_ID → i
    ATOMIC_{op} bins[(i * 97) % n] v[i]
GPU_END
"""
UFUNCS = {"ADD": np.add, "MIN": np.minimum, "MAX": np.maximum, "AND": np.bitwise_and,
          "OR": np.bitwise_or, "XOR": np.bitwise_xor}
TYPES = {"int": np.int32, "u32": np.uint32, "i64": np.int64, "u64": np.uint64}


def kernel_of(src: str):
    return check_program(parse_program(src, "t.px")).kernels[0]


@pytest.mark.parametrize("body, owned", [
    ("ATOMIC_ADD h[i % 4] 1", {"h": "add"}),
    ("ATOMIC_MAX h[i % 4] i", {"h": "max"}),
    ("ATOMIC_ADD h[i % 4] 1 → old", {}),                        # the old value is used
    ("ATOMIC_ADD h[i % 4] 1\n    ATOMIC_MAX h[0] i", {}),        # two operations
    ("ATOMIC_ADD h[i % 4] 1\n    LOAD h[0] → x\n    STORE x → o[i]", {}),  # read too
    ("ATOMIC_ADD h[i % 4] 1\n    STORE 0 → h[0]", {}),           # written too
    ("ATOMIC_EXCH h[0] i", {}),                                 # not a combining one
    ("ATOMIC_ADD f[i % 4] 1.0", {}),                            # floats round by order
])
def test_which_arrays_are_owned(body, owned):
    src = f"""GPU_KERNEL k
GPU_PARAM h int[]
GPU_PARAM f float[]
GPU_PARAM o int[]
GPU_THREAD_CODE:
    THREAD_ID → i
    {body}
GPU_END
"""
    kernel = kernel_of(src)
    assert owned_arrays(kernel) == owned
    text = render_c(kernel, guard=True).function
    assert ("pxos_own_h" in text) == bool(owned)


c_only = pytest.mark.skipif("c" not in backends.available(), reason="no C compiler")


def _expected(op: str, dtype, values: np.ndarray, bins: int, start: np.ndarray):
    want = start.copy()
    UFUNCS[op].at(want, (np.arange(values.size) * 97) % bins, values)
    return want


@c_only
@pytest.mark.parametrize("op", list(UFUNCS))
@pytest.mark.parametrize("type_name", list(TYPES))
def test_every_combining_atomic_and_type_on_c(op, type_name):
    dtype = TYPES[type_name]
    rng = np.random.default_rng(3)
    info = np.iinfo(dtype)
    n = 1 << 20  # pieces of thousands of threads: copies made up to the limit (2 cores)
    for bins in (7, 256, OWN_BYTES // np.dtype(dtype).itemsize,
                 OWN_BYTES // np.dtype(dtype).itemsize + 1, 40_000):  # last two: no copy
        lo = max(info.min, -1000) if op == "ADD" else info.min
        hi = 1000 if op == "ADD" else info.max
        values = rng.integers(lo, hi, n, dtype=dtype, endpoint=True)
        start = rng.integers(lo, hi, bins, dtype=dtype, endpoint=True)
        got = start.copy()
        run_kernel("c", kernel_of(HISTOGRAM.format(t=type_name, op=op)),
                   [values, got, np.int32(bins)], (n,))
        np.testing.assert_array_equal(got, _expected(op, dtype, values, bins, start),
                                      err_msg=f"{op} {type_name} over {bins} bins")


SCRIPT = """
import numpy as np
from pxos.host.launch import run_kernel
from pxos.ir.check_host import check_program
from pxos.lang.px.parser import parse_program
src = '''{src}'''
k = check_program(parse_program(src, "t.px")).kernels[0]
img = np.random.default_rng(5).integers(0, 256, (300, 700), dtype=np.uint8)
hist = np.zeros(256, np.uint32)
for _ in range(3):
    run_kernel("c", k, [img, hist], (700, 300))
print(",".join(map(str, hist)))
"""
IMAGE_HISTOGRAM = """GPU_KERNEL k
GPU_PARAM img u8[,]
GPU_PARAM hist u32[]
GPU_THREAD_CODE:
    THREAD_ID → x, y
    ATOMIC_ADD hist[img[y, x]] 1
GPU_END
"""


@c_only
@pytest.mark.parametrize("env", [{"OMP_NUM_THREADS": "5"},
                                 {"OMP_NUM_THREADS": "3", "PXOS_C_POOL": "0"},
                                 {"OMP_NUM_THREADS": "1"}])
def test_an_image_histogram_on_teams_of_threads(env, tmp_path):
    """The block pool with more members than cores, the OpenMP loop, one thread."""
    run = subprocess.run([sys.executable, "-c", SCRIPT.format(src=IMAGE_HISTOGRAM)],
                         capture_output=True, text=True, timeout=120, cwd=ROOT,
                         env={**os.environ, **env, "PXOS_CACHE_DIR": str(tmp_path)})
    assert run.returncode == 0, run.stderr
    img = np.random.default_rng(5).integers(0, 256, (300, 700), dtype=np.uint8)
    want = 3 * np.bincount(img.ravel(), minlength=256)
    np.testing.assert_array_equal(np.array(run.stdout.strip().split(","), np.int64), want)
