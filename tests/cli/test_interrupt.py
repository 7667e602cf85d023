"""Ctrl-C during a kernel with an endless WHILE: `pxos run` prints where it was, exits 130
at once and leaves no output file. A real kernel in a subprocess, on each compiling
backend here (the CUDA path is the same watcher, waiting in the stream's synchronize).
The loop stores: CUDA C++ lets the compiler remove an endless loop without side effects
(C++'s forward-progress rule; docs/language.md)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from pxos.testing import for_each_backend
from tests.conftest import ROOT

SPIN = """\
GPU_KERNEL spin
    GPU_PARAM a float[]
GPU_THREAD_CODE:
    THREAD_ID → i
    SET x = 0
    WHILE x >= 0:
        SET x = (x + 1) % 1000
        STORE f32(x) → a[i]
GPU_END

ALLOC a float SIZE 1000
PRINT "started"
RUN spin a
WRITE_FILE a TO "spin.npy"
"""


@for_each_backend(require=("compiled",), argname="device")
def test_ctrl_c_stops_an_endless_kernel(tmp_path, tmp_path_factory, device):
    from pxos import backends

    if getattr(backends.get(device), "loop_limit", None):
        pytest.skip(f"{device} ends every loop after a fixed count (Mesa lavapipe): "
                    "no kernel is endless there (docs/backends.md)")
    prog = tmp_path / "spin.px"
    prog.write_text(SPIN)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
                   [str(ROOT / "src"), os.environ.get("PYTHONPATH", "")]),
               PYTHONUNBUFFERED="1",
               PXOS_CACHE_DIR=str(tmp_path_factory.getbasetemp() / "pxos-cache"))
    proc = subprocess.Popen([sys.executable, "-m", "pxos.cli.main", "run", "--device", device,
                             str(prog)], cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "started"
        time.sleep(1.0)  # the kernel is built and spinning (or still being built)
        sent = time.monotonic()
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=2.0)
        took = time.monotonic() - sent
    finally:
        proc.kill()
    assert proc.returncode == 130, err
    assert took < 2.0
    assert err.strip().endswith(f"interrupted: RUN spin at {prog}:13"), err
    assert not (tmp_path / "spin.npy").exists()
    assert not [p for p in tmp_path.iterdir() if p.name != "spin.px"]  # no temporary file
