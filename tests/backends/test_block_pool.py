"""The C backend's block pool (backends/block_pool): every block of a launch runs exactly
once, whatever the team (more members than cores: late members, shares taken by others),
from several calling threads at once (a pool each), in a forked child, and as the OpenMP
loop does with the pool switched off (PXOS_C_POOL=0). Results against NumPy."""

from __future__ import annotations

import os
import subprocess
import sys
import threading

import numpy as np
import pytest

from pxos import backends
from pxos.backends.base import make_launch
from pxos.backends.c import CBackend
from pxos.ir.check_host import check_program
from pxos.lang.px.parser import parse_program
from tests.conftest import ROOT

pytestmark = pytest.mark.skipif("c" not in backends.available(), reason="no C compiler")

# a block that ran twice (or not at all) leaves its elements off by one
BUMP = """GPU_KERNEL bump
GPU_PARAM a int[]
GPU_BLOCK 64
GPU_THREAD_CODE:
    THREAD_ID → i
    IF i < LEN(a):
        STORE a[i] + 1 → a[i]
GPU_END
"""

SCRIPT = """
import numpy as np
from pxos.backends.base import make_launch
from pxos.backends.c import CBackend
from pxos.ir.check_host import check_program
from pxos.lang.px.parser import parse_program
k = check_program(parse_program({src!r}, "bump.px")).kernels[0]
b = CBackend()
compiled = b.compile(k)
for n in (1, 63, 64, 10_007, 100_000):
    a = np.zeros(n, np.int32)
    for _ in range(40):
        b.launch(compiled, [a], make_launch(k, (n,)))
    assert (a == 40).all(), (n, np.unique(a))
print("ok")
"""


def _bump_kernel():
    return check_program(parse_program(BUMP, "bump.px")).kernels[0]


@pytest.mark.parametrize("env", [{"OMP_NUM_THREADS": "7"}, {"OMP_NUM_THREADS": "3",
                                                            "OMP_WAIT_POLICY": "passive"},
                                 {"OMP_NUM_THREADS": "5", "PXOS_C_POOL": "0"}],
                         ids=["team of 7", "passive", "openmp"])
def test_every_block_runs_once_whatever_the_team(env, tmp_path_factory):
    cache = tmp_path_factory.getbasetemp() / "pool-cache"
    run_env = dict(os.environ, PXOS_CACHE_DIR=str(cache), **env, PYTHONPATH=os.pathsep.join(
        [str(ROOT / "src"), os.environ.get("PYTHONPATH", "")]))
    r = subprocess.run([sys.executable, "-c", SCRIPT.format(src=BUMP)], env=run_env,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and r.stdout.strip() == "ok", r.stderr[-2000:]


def test_launches_from_several_threads_at_once():
    b, k = CBackend(), _bump_kernel()
    compiled = b.compile(k)
    arrays = [np.zeros(50_000 + t, np.int32) for t in range(4)]
    failures = []

    def work(a):
        try:
            for _ in range(30):
                b.launch(compiled, [a], make_launch(k, (a.size,)))
        except Exception as e:  # reported below: the thread's error is the test's
            failures.append(e)
    threads = [threading.Thread(target=work, args=(a,)) for a in arrays]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not failures
    for a in arrays:
        np.testing.assert_array_equal(a, np.full(a.size, 30, np.int32))


FORKED = SCRIPT.replace('print("ok")', '''import os, signal
pid = os.fork()
if pid == 0:  # the child: the pool's workers did not come along
    signal.alarm(20)
    a = np.zeros(10_007, np.int32)
    for _ in range(5):
        b.launch(compiled, [a], make_launch(k, (a.size,)))
    os._exit(0 if (a == 5).all() else 1)
_, status = os.waitpid(pid, 0)
assert status == 0, status
print("ok")''')


def test_a_forked_child_still_runs_every_block_once(tmp_path_factory):
    cache = tmp_path_factory.getbasetemp() / "pool-cache"
    env = dict(os.environ, PXOS_CACHE_DIR=str(cache), OMP_NUM_THREADS="4",
               PYTHONPATH=os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")]))
    r = subprocess.run([sys.executable, "-W", "ignore::DeprecationWarning", "-c",
                        FORKED.format(src=BUMP)], env=env, capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0 and r.stdout.strip() == "ok", r.stderr[-2000:]
