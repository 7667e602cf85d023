"""The one registry of backends and targets (pxos/registry.py): every entry names a class or
renderer that exists, and every layer's question is answered from it."""

from __future__ import annotations

from importlib import import_module

import pytest

from pxos import backends, extras, registry
from pxos.backends.base import Backend
from pxos.codegen.targets import render_unit_for
from pxos.errors import PxBackendError, PxSyntaxError
from pxos.ir.check_host import check_program
from pxos.lang.px.parser import parse_program

SRC = """\
GPU_KERNEL scale
    GPU_TARGET {target}
    GPU_PARAM a float
    GPU_PARAM x float[]
GPU_THREAD_CODE:
    THREAD_ID → i
    STORE a * x[i] → x[i]
GPU_END
"""


@pytest.mark.parametrize("entry", registry.BACKENDS, ids=lambda e: e.name)
def test_every_backend_entry_names_a_backend_class(entry):
    cls = getattr(import_module(entry.module), entry.cls)
    assert issubclass(cls, Backend) and cls.name == entry.name
    assert entry.kind in ("cpu", "gpu", "device")
    assert entry.target is None or entry.target in registry.target_names()


@pytest.mark.parametrize("name", registry.target_names())
def test_every_target_renders_a_kernel(name):
    kernel = check_program(parse_program(SRC.format(target="auto"), "t.px")).kernels[0]
    assert "scale" in render_unit_for(name, [kernel])


def test_the_queries():
    assert registry.interpreter() not in registry.compiling(registry.names())
    assert registry.compiling([registry.interpreter()]) == [registry.interpreter()]
    assert registry.compiling(["nonesuch"]) == []
    assert registry.cpu_backends()[-1] == registry.interpreter()  # the last resort
    for name in registry.names():
        entry = registry.entry(name)
        assert registry.memory_of(name) == ("host" if entry.kind == "cpu" else name)
        assert registry.has_device_memory(name) == (name in registry.device_backends())
        assert registry.library_side(name) in registry.library_sides()
    assert registry.memory_of_library("numpy") == "host"
    for name in registry.names():  # a CPU backend runs synchronously: its clock times it
        assert registry.timer(name) in ("clock", "queue", "cuda-events")
        assert (registry.timer(name) == "clock") == (registry.entry(name).kind == "cpu")
    assert registry.timer("nonesuch") == "clock"  # the host's library operations
    # the libraries whose arrays live on a device are the device backends' own
    assert "numpy" not in registry.device_libraries()
    assert all(registry.memory_of_library(k) in registry.device_backends()
               for k in registry.device_libraries())
    assert not registry.is_gpu("nonesuch") and not registry.known("nonesuch")
    with pytest.raises(KeyError):
        registry.target("nonesuch")


def test_auto_falls_back_to_the_best_cpu_backend_present():
    present = backends.available()
    assert backends.choose("auto") == next(n for n in registry.cpu_backends() if n in present)
    with pytest.raises(PxBackendError, match="unknown device 'nonesuch'"):
        backends.get("nonesuch")


def test_gpu_target_names_come_from_the_registry():
    for target in ("auto", "cpu", *registry.device_backends()):
        check_program(parse_program(SRC.format(target=target), "t.px"))
    with pytest.raises(PxSyntaxError) as err:
        parse_program(SRC.format(target="nonesuch"), "t.px")
    assert all(name in str(err.value) for name in registry.device_backends())


_BLOCKED = """
import sys
sys.modules["cupy"] = None  # as if CuPy were not installed
from pxos import backends
from pxos.errors import PxBackendError
try:
    backends.get("cuda")
except PxBackendError as e:
    print("refused:", "needs CuPy" in str(e), "pxos[cuda]" in str(e))
print("imported:", "pxos.backends.cuda" in sys.modules)
"""


def test_a_backend_whose_package_is_missing_is_refused_before_its_module_loads():
    # issue 14: `pxos calibrate` on a machine without CuPy imported the CUDA code generator
    import os
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", _BLOCKED], capture_output=True, text=True,
                          env=dict(os.environ), check=True)
    assert done.stdout.split() == ["refused:", "True", "True", "imported:", "False"], \
        done.stdout + done.stderr


def test_a_missing_package_is_searched_for_once_per_import_path(monkeypatch, tmp_path):
    """The planner asks whether each backend's package is installed at every call it
    places; a package found missing is not searched for again until ``sys.path`` changes."""
    import importlib

    searched = []
    real = extras.find_spec
    monkeypatch.setattr(extras, "find_spec", lambda m: searched.append(m) or real(m))
    name = f"pxos_test_missing_{tmp_path.name}"
    assert not extras.installed(name) and not extras.installed(name)
    assert searched == [name]
    (tmp_path / f"{name}.py").write_text("")
    monkeypatch.syspath_prepend(str(tmp_path))
    importlib.invalidate_caches()
    assert extras.installed(name)  # another import path: searched again, and found
    assert searched == [name, name]
    assert extras.installed("numpy") and extras.installed("numpy")
