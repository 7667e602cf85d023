"""The host section of an exported program (plain C: sizes, ``RANDOM``, ``FILL``, the ``.npy``
reader), built with the C compiler, makes exactly the inputs pxos had at the ``RUN``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from pxos.cli.main import _load
from pxos.host.export import plan_export
from pxos.codegen.standalone_host import C_HEADERS
from pxos.host.rng import random_fill
from tests.codegen.standalone_cases import CASES, IDS, export, source


# ---------------------------------------------------------------------- the host section
HARNESS = r"""
int main(int argc, char **argv)   /* ./host N [NAME=FILE.npy]...: writes NAME.bin */
{
    pxos_problem p;
    const char *input[PXOS_ARRAYS] = {0};
    const int64_t n = atoll(argv[1]);
    for (int i = 2; i < argc; ++i)
        for (int k = 0; k < PXOS_ARRAYS; ++k)
            if (!strncmp(argv[i], pxos_array_names[k], strlen(pxos_array_names[k])) &&
                argv[i][strlen(pxos_array_names[k])] == '=')
                input[k] = argv[i] + strlen(pxos_array_names[k]) + 1;
    pxos_problem_init(&p, n >= 0 ? n : PXOS_SIZE_DEFAULT);
    pxos_problem_inputs(&p, input, ".");
    for (int i = 0; i < PXOS_ARRAYS; ++i) {
        char name[300];
        snprintf(name, sizeof name, "%s.bin", p.arr[i].name);
        FILE *f = fopen(name, "wb");
        fwrite(p.arr[i].data, 1, pxos_bytes(&p.arr[i]), f);
        fclose(f);
    }
    printf("%lld %lld %lld\n", (long long)p.nx, (long long)p.ny, (long long)p.nz);
    return 0;
}
"""


def host_program(cu: Path) -> Path:
    """Build sections 4 and 5 of an exported program with the C compiler and a test main."""
    cc = shutil.which(os.environ.get("CC", "cc")) or shutil.which("gcc")
    if cc is None:
        pytest.skip("no C compiler")
    text = cu.read_text()
    lines = text.split("\n")
    start = next(i for i, x in enumerate(lines) if x.startswith(" * 4. "))
    end = next(i for i, x in enumerate(lines) if x.startswith(" * 6. "))
    c = cu.with_name(cu.stem + "_host.c")
    c.write_text(C_HEADERS + "\n".join(lines[start - 1:end - 1]) + HARNESS)
    exe = c.with_suffix("")
    proc = subprocess.run([cc, "-std=c11", "-O2", "-ffp-contract=off", "-Wall", "-Werror",
                           "-Wno-unused-function", str(c), "-o", str(exe), "-lm"],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return exe


def run_host(exe: Path, n: int = -1, *inputs: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(exe), str(n), *inputs], capture_output=True, text=True,
                          cwd=exe.parent, timeout=120)


@pytest.mark.parametrize("case", IDS)
def test_host_section_makes_the_inputs_pxos_had(tmp_path, case):
    name, kernel = CASES[IDS.index(case)]
    cu = export(tmp_path, name, kernel)
    plan = plan_export(_load(source(tmp_path, name)), kernel, stem=kernel)
    proc = run_host(host_program(cu))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == [str(t) for t in plan.threads] + ["1"] * (
        3 - len(plan.threads))
    for a in plan.arrays:
        got = np.fromfile(tmp_path / f"{a.name}.bin", dtype=a.data.dtype)
        assert got.tobytes() == a.data.tobytes(), a.name


def test_a_new_size_rescales_arrays_and_regenerates_random_inputs(tmp_path):
    exe = host_program(export(tmp_path, "saxpy.px", "saxpy"))
    assert run_host(exe, 1000).stdout.split() == ["1000", "1", "1"]
    want = np.empty(1000, np.float32)
    random_fill(want, 1, -1.0, 1.0)
    assert np.array_equal(np.fromfile(tmp_path / "x.bin", np.float32), want)
    exe = host_program(export(tmp_path, "reduce.px", "block_sum"))
    assert run_host(exe, 1000).returncode == 0
    assert np.fromfile(tmp_path / "partial.bin", np.float32).size == 4  # (1000 + 255) / 256


def test_float16_conversions_match_numpy(tmp_path):
    """The port's f16 rounding (NumPy's: to nearest, ties to even) over many floats."""
    exe = host_program(export(tmp_path, "randoms.px", "touch"))
    c = exe.with_name("half.c")
    host = exe.with_name("touch_host.c").read_text().split("int main(")[0]
    c.write_text(host + r"""
int main(void) {
    for (uint64_t b = 0; b < (UINT64_C(1) << 32); b += 4099) {
        float f; uint32_t x = (uint32_t)b; memcpy(&f, &x, 4);
        uint16_t h = pxos_float_to_half(f);
        float back = pxos_half_to_float(h);
        fwrite(&h, 2, 1, stdout); fwrite(&back, 4, 1, stdout);
    }
    return 0;
}""")
    cc = shutil.which(os.environ.get("CC", "cc")) or shutil.which("gcc")
    subprocess.run([cc, "-O2", str(c), "-o", str(c.with_suffix("")), "-lm"], check=True)
    out = subprocess.run([str(c.with_suffix(""))], capture_output=True, check=True).stdout
    rec = np.frombuffer(out, dtype=[("h", "<u2"), ("f", "<f4")])
    floats = np.arange(0, 2**32, 4099, dtype=np.uint64).astype(np.uint32).view(np.float32)
    with np.errstate(over="ignore"):
        want = floats.astype(np.float16)
    ok = ~np.isnan(floats)
    assert np.array_equal(rec["h"][ok], want.view(np.uint16)[ok])
    assert np.array_equal(rec["f"][ok], want.astype(np.float32)[ok])
    assert np.isnan(rec["f"][~ok]).all()


def test_inputs_from_files_are_checked(tmp_path):
    exe = host_program(export(tmp_path, "histogram.px", "histogram"))
    photo = np.load(tmp_path / "histogram.photo.npy")
    np.save(tmp_path / "small.npy", photo[:10])
    np.save(tmp_path / "wide.npy", photo.astype(np.uint16))
    np.save(tmp_path / "fortran.npy", np.asfortranarray(photo))
    (tmp_path / "junk.npy").write_bytes(b"not numpy")
    for name, message in [("small.npy", "must be uint8[512, 512, 3]"),
                          ("wide.npy", "holds <u2 data; input 'photo' is uint8"),
                          ("fortran.npy", "Fortran order"), ("junk.npy", "not a .npy file"),
                          ("none.npy", "cannot open none.npy")]:
        proc = run_host(exe, -1, f"photo={name}")
        assert proc.returncode == 2 and message in proc.stderr, (name, proc.stderr)
    np.save(tmp_path / "other.npy", photo[::-1].copy())
    assert run_host(exe, -1, "photo=other.npy").returncode == 0
    assert np.array_equal(np.fromfile(tmp_path / "photo.bin", np.uint8),
                          photo[::-1].reshape(-1))
    (tmp_path / "histogram.photo.npy").unlink()
    proc = run_host(exe)
    assert proc.returncode == 2 and "pass --input photo=FILE.npy" in proc.stderr
