"""The C backend's kernel cache: in memory, on disk under PXOS_CACHE_DIR, keyed by content."""

from __future__ import annotations

import numpy as np
import pytest

from pxos import backends
from pxos.backends.base import make_launch
from pxos.backends.c import CBackend
from pxos.ir.check_host import check_program
from pxos.lang.px.parser import parse_program

pytestmark = pytest.mark.skipif("c" not in backends.available(), reason="no C compiler")

SRC = """GPU_KERNEL inc
GPU_PARAM a int[]
GPU_THREAD_CODE:
    THREAD_ID → i
    STORE a[i] + {k} → a[i]
GPU_END
"""


def kernel(k: int = 1):
    return check_program(parse_program(SRC.format(k=k), "inc.px")).kernels[0]


def test_disk_cache_is_keyed_by_source(tmp_path, monkeypatch):
    monkeypatch.setenv("PXOS_CACHE_DIR", str(tmp_path))
    first = CBackend().compile(kernel(1))
    assert not first.cache_hit and first.library.parent == tmp_path / "c"
    again = CBackend().compile(kernel(1))  # a new backend: as in a new process
    assert again.cache_hit and again.library == first.library
    other = CBackend().compile(kernel(2))
    assert not other.cache_hit and other.library != first.library
    names = sorted(p.name for p in (tmp_path / "c").iterdir()
                   if not p.name.endswith(".guard.so"))  # the fault guard (backends/guard)
    assert len(names) == 2 and all(n.endswith(".so") for n in names)  # no temporary files


def test_memory_cache_returns_the_same_kernel(tmp_path, monkeypatch):
    monkeypatch.setenv("PXOS_CACHE_DIR", str(tmp_path))
    b, k = CBackend(), kernel(3)
    assert b.compile(k) is b.compile(k)
    assert b.compile(kernel(3)) is b.compile(k)  # equal source: one library, loaded once
    a = np.arange(10, dtype=np.int32)
    b.launch(b.compile(k), [a], make_launch(k, (10,)))
    np.testing.assert_array_equal(a, np.arange(10) + 3)


def test_generated_code_maps_back_to_the_source():
    src = CBackend().compile(kernel(1)).source.source
    # an i32 sum that may overflow wraps: computed in uint32_t (codegen/ranges)
    assert '#line 5 "inc.px"' in src \
        and "v_a[v_i] = ((int32_t)((uint32_t)v_a[v_i] + (uint32_t)1));" in src


def named(name: str, k: int):
    return check_program(parse_program(SRC.replace("inc", name).format(k=k),
                                       f"{name}.px")).kernels[0]


def test_kernels_built_together_load_from_the_cache_and_run(tmp_path, monkeypatch):
    # calibration's probes: one compiler run for several kernels (issue 14)
    monkeypatch.setenv("PXOS_CACHE_DIR", str(tmp_path))
    ks = [named("add_two", 2), named("add_five", 5), named("add_two", 7)]
    built = CBackend().build_together(ks)
    assert [k.name for k in built] == ["add_two", "add_five"]  # one per entry point
    assert CBackend().build_together(ks[:2]) == []  # both cached now
    b = CBackend()
    for k, add in zip(ks, (2, 5, 7)):
        compiled = b.compile(k)
        assert compiled.cache_hit == (add != 7)  # the third was left to build alone
        a = np.arange(100, dtype=np.int32)
        b.launch(compiled, [a], make_launch(k, (100,)))
        np.testing.assert_array_equal(a, np.arange(100) + add)


HELPED = """GPU_KERNEL {name}
GPU_PARAM a int[]
GPU_THREAD_CODE:
    THREAD_ID → i
    STORE a[i] {op} 3 → a[i]
GPU_END
"""


def test_kernels_sharing_helpers_build_in_one_unit(tmp_path, monkeypatch):
    # one translation unit (backends/c.one_unit): each helper defined once
    monkeypatch.setenv("PXOS_CACHE_DIR", str(tmp_path))
    ks = [check_program(parse_program(HELPED.format(name=n, op=op), f"{n}.px")).kernels[0]
          for n, op in (("quot", "/"), ("rem", "%"), ("both", "/ 2 %"))]
    assert len(CBackend().build_together(ks)) == 3
    b = CBackend()
    for k, ref in zip(ks, (lambda a: a // 3, lambda a: a % 3, lambda a: a // 2 % 3)):
        compiled = b.compile(k)
        assert compiled.cache_hit
        a = np.arange(1000, dtype=np.int32)
        b.launch(compiled, [a], make_launch(k, (1000,)))
        np.testing.assert_array_equal(a, ref(np.arange(1000)))
