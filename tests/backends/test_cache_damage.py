"""A damaged kernel cache is rebuilt, never loaded: each entry carries the SHA-256 of its
bytes in its name, checked before a backend loads it. Each damage is tested in a new
process (as a user would meet it: a `.so` truncated to half once killed the process with
SIGBUS, a truncated OpenCL binary crashed PoCL)."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys

import pytest

from pxos.testing import backends_present

PROGRAM = """GPU_KERNEL twice
GPU_PARAM a int[]
GPU_THREAD_CODE:
    THREAD_ID → i
    STORE a[i] * 2 + 1 → a[i]
GPU_END
ALLOC a int SIZE 6
FILL a 20
RUN twice a
REDUCE SUM a → s
PRINT "sum", s
"""
EXPECTED = "sum 246"  # 6 × (20 · 2 + 1)
SUFFIX = {"c": ".so", "opencl": ".bin"}
COMPILING = [b for b in backends_present() if b in SUFFIX]  # backends with an on-disk cache


def damage(data: bytes, how: str) -> bytes:
    if how == "half":
        return data[:len(data) // 2]
    if how == "empty":
        return b""
    if how == "flipped":
        middle = len(data) // 2
        return data[:middle] + bytes(b ^ 0xFF for b in data[middle:middle + 64]) \
            + data[middle + 64:]
    return os.urandom(len(data))


def run(prog, cache, backend):
    env = dict(os.environ, PXOS_CACHE_DIR=str(cache))
    return subprocess.run([sys.executable, "-m", "pxos.cli.main", "run", str(prog), "--device",
                           backend], capture_output=True, text=True, env=env, timeout=300)


@pytest.fixture(scope="module")
def warm(tmp_path_factory):
    """A program and, per compiling backend, a cache folder holding its kernel."""
    root = tmp_path_factory.mktemp("damage")
    prog = root / "twice.px"
    prog.write_text(PROGRAM)
    caches = {}
    for backend in COMPILING:
        cache = root / f"cache-{backend}"
        done = run(prog, cache, backend)
        assert done.returncode == 0 and EXPECTED in done.stdout, done.stderr
        caches[backend] = cache
    return prog, caches


def entries(cache, backend):
    """The kernel entries (not the c backend's memory-fault guard library)."""
    folder = cache / ("c" if backend == "c" else "opencl")
    return sorted(p for p in folder.glob(f"*{SUFFIX[backend]}") if ".guard." not in p.name)


@pytest.mark.parametrize("how", ["half", "empty", "flipped", "garbage"])
@pytest.mark.parametrize("backend", COMPILING)
def test_a_damaged_entry_is_rebuilt(warm, tmp_path, backend, how):
    prog, caches = warm
    cache = tmp_path / "cache"
    shutil.copytree(caches[backend], cache)
    [entry] = entries(cache, backend)
    good = entry.read_bytes()
    entry.write_bytes(damage(good, how))
    done = run(prog, cache, backend)
    assert done.returncode == 0, done.stderr
    assert EXPECTED in done.stdout and "Traceback" not in done.stderr
    [rebuilt] = entries(cache, backend)
    data = rebuilt.read_bytes()
    assert hashlib.sha256(data).hexdigest()[:32] in rebuilt.name and len(data) > 100


@pytest.mark.parametrize("backend", COMPILING)
def test_an_entry_without_its_sum_is_never_loaded(warm, tmp_path, backend):
    """A file of the old naming, or another process's temporary file, is not an entry."""
    prog, caches = warm
    cache = tmp_path / "cache"
    shutil.copytree(caches[backend], cache)
    [entry] = entries(cache, backend)
    key = entry.name.split(".")[0]
    folder = entry.parent
    entry.unlink()
    (folder / f"{key}{SUFFIX[backend]}").write_bytes(b"\x7fELF" + os.urandom(100))
    (folder / f".pxos-{os.getpid()}-0-abc.tmp").write_bytes(b"half written")
    done = run(prog, cache, backend)
    assert done.returncode == 0 and EXPECTED in done.stdout, done.stderr


@pytest.mark.parametrize("how", ["half", "empty", "flipped", "garbage"])
def test_a_damaged_cubin_is_compiled_again(tmp_path, monkeypatch, how):
    """NVRTC's cubins (no GPU needed to compile them) are verified the same way."""
    from pxos.codegen.cuda import render_cuda
    from pxos.ir.check_host import check_program
    from pxos.lang.px.parser import parse_program
    from tests.codegen.test_cuda_codegen import nvrtc

    compile_cubin = nvrtc()
    monkeypatch.setenv("PXOS_CACHE_DIR", str(tmp_path))
    src = render_cuda(check_program(parse_program(PROGRAM, "twice.px")).kernels[0])
    path, hit = compile_cubin(src, "90")
    good = path.read_bytes()
    assert not hit and good[:4] == b"\x7fELF"
    path.write_bytes(damage(good, how))
    again, hit = compile_cubin(src, "90")
    assert not hit and again.read_bytes()[:4] == b"\x7fELF"
    assert hashlib.sha256(again.read_bytes()).hexdigest()[:32] in again.name
    assert compile_cubin(src, "90") == (again, True)
