"""The C backend's memory-fault guard: a kernel that crashes with SIGSEGV ends its launch
with a PxFaultError (exit 2 from the CLI, with the kernel's name and place), and the
process keeps running. Each case runs a real kernel in a subprocess, so a guard that fails
kills only the child."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

from pxos.codegen.guard import guarded_function
from tests.conftest import BACKENDS, ROOT

pytestmark = pytest.mark.skipif("c" not in BACKENDS, reason="no C compiler here")

# idx[i] + k depends on loaded data, so no launch check refuses it: the kernel runs and its
# first store lands ~8 GB past the array's end, where nothing is mapped (a store that
# landed in another object's memory would corrupt it unseen)
SMASH = """\
GPU_KERNEL smash
    GPU_PARAM a float[]
    GPU_PARAM idx int[]
    GPU_PARAM k int
GPU_THREAD_CODE:
    THREAD_ID → i
    STORE 1.0 → a[idx[i] + k]
GPU_END

ALLOC a float SIZE 1000
ALLOC idx int SIZE 1000
RUN smash a idx 2000000000
WRITE_FILE a TO "a.npy"
"""


def _run(args, cwd, cache):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
                   [str(ROOT / "src"), os.environ.get("PYTHONPATH", "")]),
               PXOS_CACHE_DIR=str(cache))
    return subprocess.run([sys.executable, *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=300)


def test_cli_fault_is_an_error_with_the_kernel_and_exit_2(tmp_path, tmp_path_factory):
    prog = tmp_path / "fault.px"
    prog.write_text(SMASH)
    r = _run(["-m", "pxos.cli.main", "run", "--device", "c", str(prog)], tmp_path,
             tmp_path_factory.getbasetemp() / "pxos-cache")
    assert r.returncode == 2, r.stderr
    assert (f"kernel 'smash' ({prog}:1) crashed with a memory fault on the c backend; "
            "rerun with --checked") in r.stderr
    assert "Traceback" not in r.stderr and not (tmp_path / "a.npy").exists()


def test_python_fault_raises_and_the_process_goes_on(tmp_path, tmp_path_factory):
    script = tmp_path / "fault.py"
    script.write_text(textwrap.dedent("""\
        import numpy as np
        import pxos

        @pxos.kernel
        def smash(a: pxos.Array[pxos.f32, 1], idx: pxos.Array[pxos.i32, 1], k: pxos.i32):
            for i in pxos.parallel(len(idx)):
                a[idx[i] + k] = 1.0

        a = np.zeros(1000, np.float32)
        idx = np.arange(1000, dtype=np.int32)
        try:
            smash(a, idx, 2_000_000_000, device="c")
        except pxos.PxError as e:
            print(type(e).__name__, e.message)
        b = np.zeros(1000, np.float32)
        smash(b, idx, 0, device="c")  # the same kernel, in bounds, after the fault
        print("after", b.sum(), b[999])
        """))
    r = _run([str(script)], tmp_path, tmp_path_factory.getbasetemp() / "pxos-cache")
    assert r.returncode == 0, r.stderr
    assert (f"PxFaultError kernel 'smash' ({script}:5) crashed with a memory fault on the c "
            "backend; rerun with checked=True") in r.stdout
    assert "after 1000.0 1.0" in r.stdout


def test_guard_arms_a_jump_buffer_around_each_piece_of_blocks():
    body = ["const int32_t pxos_gx = 4;",
            "#pragma omp parallel for schedule(static) num_threads(PXOS_TEAM(pxos_gx))",
            "for (int32_t pxos_bx = 0; pxos_bx < pxos_gx; ++pxos_bx) {", "    f(v_a);", "}"]
    text = guarded_function("/* k */", "k_k", ["int64_t pxos_nx", "float *v_a"], body)
    blocks, rest = text.split("struct k_k_args {")
    piece, entry = rest.split("void k_k(")
    # the loop, in a function of its own over blocks [lo, hi) (compiled as without the guard)
    assert ("static void __attribute__((noinline)) k_k_blocks(int64_t pxos_nx, float *v_a, "
            "int64_t pxos_lo, int64_t pxos_hi)") in blocks
    assert "    for (int32_t pxos_bx = (int32_t)pxos_lo; pxos_bx < (int32_t)pxos_hi; " \
           "++pxos_bx) {\n        f(v_a);" in blocks
    assert "sigsetjmp" not in blocks and "#pragma" not in blocks
    # each piece: a buffer of its own, armed around its blocks, the parameters from a struct
    assert "    int64_t pxos_nx;\n    float *v_a;\n};" in piece
    assert "    sigjmp_buf pxos_jb;\n    if (sigsetjmp(pxos_jb, 0) == 0) {\n" \
           "        pxos_guard_arm(&pxos_jb);\n" \
           "        k_k_blocks(pxos_a->pxos_nx, pxos_a->v_a, pxos_lo, pxos_hi);\n" \
           "    }\n    pxos_guard_disarm();" in piece
    # a team of one: every block in one piece on the calling thread; else the block pool,
    # and the OpenMP loop over the team's shares where the pool declines
    assert "const int pxos_team = PXOS_TEAM(pxos_gx);" in entry
    assert "if (pxos_team <= 1)\n        k_k_piece(&pxos_args, 0, pxos_nblk);" in entry
    assert "else if (!pxos_run_blocks(k_k_piece, &pxos_args, pxos_nblk, pxos_team)) {\n" \
           "#pragma omp parallel for schedule(static) num_threads(pxos_team)" in entry
