"""``pxos export --standalone``: the exported CUDA programs build, make pxos's inputs, run.

Three levels, each on what the machine has:

* the host section (plain C: sizes, ``RANDOM``, ``FILL``, the ``.npy`` reader) is built with
  the C compiler and must make exactly the inputs pxos had at the ``RUN`` (any machine);
* every exported program is built with ``nvcc -arch=sm_90`` (skipped without nvcc, a failure
  when ``PXOS_REQUIRE_NVCC=1``);
* on a machine with a GPU (``nvidia-smi -L`` works), every program runs and prints PASS.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from pxos.cli.main import _load, app
from pxos.host.export import plan_export
from pxos.codegen.standalone_host import C_HEADERS
from pxos.host.rng import random_fill
from pxos.ir import nodes as ir
from pxos.lang.px.parser import parse_program
from tests.conftest import EXAMPLES

runner = CliRunner()

MIX = """\
GPU_KERNEL mix
    GPU_PARAM h f16[]
    GPU_PARAM d double[]
    GPU_PARAM b bool[]
    GPU_PARAM s float
    GPU_PARAM hs f16
    GPU_PARAM out f16[]
    GPU_PARAM acc float[]
    GPU_PARAM cnt int[]
    GPU_PARAM order int[]
GPU_THREAD_CODE:
    THREAD_ID → i
    IF i >= LEN(h):
        RETURN
    SET v = f32(h[i]) * s + f32(hs)
    IF b[i]:
        SET v = v + f32(d[i])
    STORE f16(v) → out[i]
    ATOMIC_ADD acc[0] v
    ATOMIC_ADD cnt[0] 1 → old
    STORE old → order[i]
    STORE sin(v) + f32(exp(d[i])) → acc[i + 1]
GPU_END

SET n = 1000
ALLOC h f16 SIZE n
ALLOC d double SIZE n
ALLOC b bool SIZE n
ALLOC out f16 SIZE n
ALLOC acc float SIZE n + 1
ALLOC cnt int SIZE 1
ALLOC order int SIZE n
RANDOM h SEED 3 RANGE -2.0 2.0
RANDOM d SEED 4
RANDOM b SEED 5
RUN mix h d b 1.5 0.25 out acc cnt order
"""

TILES = """\
GPU_KERNEL tiles
    GPU_PARAM src int[,]
    GPU_PARAM bias long[]
    GPU_PARAM dst long[,]
    GPU_PARAM flags u8[]
    GPU_SHARED_MEM tile int 16 16
    GPU_BLOCK 16, 16
GPU_THREAD_CODE:
    THREAD_ID → x, y
    LOCAL_ID → lx, ly
    SET v = 0
    IF x < COLS(src) AND y < ROWS(src):
        SET v = src[y, x]
    STORE v → tile[ly, lx]
    SYNC_THREADS
    IF x < COLS(src) AND y < ROWS(src):
        STORE i64(tile[15 - ly, 15 - lx]) * 3 + bias[x % LEN(bias)] → dst[y, x]
        STORE flags[x % LEN(flags)] → flags[x % LEN(flags)]
GPU_END

GPU_KERNEL count
    GPU_PARAM vals u16[]
    GPU_PARAM n int
    GPU_PARAM out u32[]
    GPU_THREADS n
GPU_THREAD_CODE:
    THREAD_ID → i
    STORE u32(vals[i]) * u32(7) + u32(n) → out[i]
GPU_END

SET n = 5000
SET rows = 40
ALLOC src int SIZE rows, 70
ALLOC bias long SIZE 7
ALLOC dst long SIZE rows, 70
ALLOC flags u8 SIZE 3
RANDOM src SEED -5 RANGE -1000 1000
RANDOM bias SEED 9 RANGE -10000000000 10000000000
FILL flags 7
RUN tiles src bias dst flags
ALLOC vals u16 SIZE n
ALLOC out u32 SIZE n
RANDOM vals SEED 11
RUN count vals n out
"""

# RANDOM of every type: the port of host/rng.py must give the same values
TYPES = ("bool", "i8", "u8", "i16", "u16", "i32", "u32", "i64", "u64", "f16", "f32", "f64")
EXTREMES = {"x": ("i64", "-9000000000000000000 9000000000000000000"), "y": ("f32", "-1e30 1e30"),
            "z": ("f16", "-3.5 60000.0"), "w": ("u64", "5 18000000000000000000")}
RANDOMS = "GPU_KERNEL touch\n" + "".join(
    f"    GPU_PARAM a_{n} {t}[]\n" for n, t in [(t, t) for t in TYPES] +
    [(n, t) for n, (t, _) in EXTREMES.items()]) + \
    "GPU_THREAD_CODE:\n    THREAD_ID → i\n    STORE a_i32[i] + 1 → a_i32[i]\nGPU_END\n\n" + \
    "".join(f"ALLOC a_{t} {t} SIZE 3001\nRANDOM a_{t} SEED {17 + n}\n"
            for n, t in enumerate(TYPES)) + \
    "".join(f"ALLOC a_{n} {t} SIZE 500\nRANDOM a_{n} SEED {ord(n)} RANGE {r}\n"
            for n, (t, r) in EXTREMES.items()) + \
    "RUN touch " + " ".join(f"a_{t}" for t in TYPES) + " a_x a_y a_z a_w\n"

EXTRA = {"mix.px": MIX, "tiles.px": TILES, "randoms.px": RANDOMS}


def _cases() -> list[tuple[str, str]]:
    """Every example program and extra program, with every kernel it RUNs."""
    texts = {f.name: f.read_text() for f in sorted(EXAMPLES.glob("*.px"))} | EXTRA
    return [(name, kernel) for name, text in texts.items()
            for kernel in dict.fromkeys(s.kernel for s in parse_program(text).statements
                                        if isinstance(s, ir.Run))]


def source(folder: Path, name: str) -> Path:
    """The .px file ``name``: an example, or an extra program written into ``folder``."""
    if name not in EXTRA:
        return EXAMPLES / name
    (folder / name).write_text(EXTRA[name])
    return folder / name


CASES = _cases()
IDS = [f"{name[:-3]}-{kernel}" for name, kernel in CASES]


def find_nvcc() -> str | None:
    """nvcc from $NVCC, PATH, /usr/local/cuda, or the PyPI wheel ``nvidia-cuda-nvcc``."""
    for cand in (os.environ.get("NVCC"), shutil.which("nvcc"), "/usr/local/cuda/bin/nvcc"):
        if cand and Path(cand).is_file():
            return cand
    spec = importlib.util.find_spec("nvidia")
    for base in (spec.submodule_search_locations or []) if spec else []:
        for sub in ("cu13", "cu12", "cuda_nvcc"):
            if (Path(base) / sub / "bin" / "nvcc").is_file():
                return str(Path(base) / sub / "bin" / "nvcc")
    return None


def has_gpu() -> bool:
    if not shutil.which("nvidia-smi"):
        return False
    return subprocess.run(["nvidia-smi", "-L"], capture_output=True).returncode == 0


def _need_nvcc() -> str:
    nvcc = find_nvcc()
    if nvcc is None:
        if os.environ.get("PXOS_REQUIRE_NVCC") == "1":
            pytest.fail("PXOS_REQUIRE_NVCC=1 but no nvcc was found")
        pytest.skip("no nvcc here (PXOS_REQUIRE_NVCC=1 makes this a failure)")
    return nvcc


def export(folder: Path, name: str, kernel: str) -> Path:
    """Export ``kernel`` of program ``name`` into ``folder`` through the command line."""
    out = folder / f"{kernel}.cu"
    result = runner.invoke(app, ["export", str(source(folder, name)), "--kernel", kernel,
                                 "--standalone", "-o", str(out)])
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """Every case exported and built with nvcc (two at a time): (.cu, exe, build log)."""
    nvcc = _need_nvcc()
    folder = tmp_path_factory.mktemp("built")
    sources = [export(folder, name, k) for name, k in CASES]

    def build(cu: Path):
        exe = cu.with_suffix("")
        proc = subprocess.run([nvcc, "-O3", "-arch=sm_90", "-fmad=false", "-Xcompiler",
                               "-ffp-contract=off", str(cu), "-o", str(exe)],
                              capture_output=True, text=True, timeout=600)
        return cu, exe, proc.returncode, proc.stdout + proc.stderr

    with ThreadPoolExecutor(max_workers=2) as pool:
        return dict(zip(IDS, pool.map(build, sources)))


@pytest.mark.parametrize("case", IDS)
def test_export_builds_with_nvcc(built, case):
    cu, exe, rc, log = built[case]
    assert rc == 0, log
    assert "warning" not in log, log


def test_built_program_takes_its_options_without_a_gpu(built):
    """--plan stops before the first CUDA call, so the options can be tried anywhere."""
    def run(case, *args):
        cu, exe, rc, log = built[case]
        assert rc == 0, log
        return subprocess.run([str(exe), *args], capture_output=True, text=True,
                              cwd=cu.parent, timeout=60)

    assert "size N = 1000000" in run("saxpy-saxpy", "--plan").stdout
    assert "float32[1234]" in run("saxpy-saxpy", "--plan", "--size=1234").stdout
    np.save(built["saxpy-saxpy"][0].parent / "x77.npy", np.arange(77, dtype=np.float32))
    out = run("saxpy-saxpy", "77", "--plan", "--input", "x=x77.npy").stdout
    assert "x    r   float32[77]  x77.npy" in out and "threads 77 x 1 x 1" in out
    assert "partial  w   float32[4]" in run("reduce-block_sum", "1000", "--plan").stdout
    fixed = run("mandelbrot-mandelbrot", "100", "--plan")
    assert "refused" in fixed.stderr and "uint8[512, 768]" in fixed.stdout
    help_ = run("saxpy-saxpy", "--help")
    assert help_.returncode == 0 and "--input NAME=FILE.npy" in help_.stdout
    for args, message in [(["--bogus"], "unknown option --bogus"),
                          (["--input", "q=a.npy"], "NAME one of the kernel's arrays"),
                          (["--repeat", "0"], "at least 1"), (["ten"], "whole number"),
                          (["--rtol"], "--rtol needs a value")]:
        proc = run("saxpy-saxpy", *args)
        assert proc.returncode == 2 and message in proc.stderr, (args, proc.stderr)


@pytest.mark.skipif(not has_gpu(), reason="no GPU here (nvidia-smi -L fails)")
@pytest.mark.parametrize("case", IDS)
def test_exported_program_passes_on_the_gpu(built, case):
    cu, exe, rc, log = built[case]
    assert rc == 0, log
    proc = subprocess.run([str(exe), "--repeat", "3"], capture_output=True, text=True,
                          cwd=cu.parent, timeout=600)
    assert proc.returncode == 0 and proc.stdout.rstrip().endswith("PASS"), \
        proc.stdout + proc.stderr
    assert "kernel:" in proc.stdout and "GB/s" in proc.stdout
    if "size N =" in proc.stdout:  # a size that can change: a smaller one passes too
        proc = subprocess.run([str(exe), "777"], capture_output=True, text=True,
                              cwd=cu.parent, timeout=600)
        assert proc.returncode == 0 and "size N = 777" in proc.stdout, proc.stdout


@pytest.mark.skipif(not has_gpu(), reason="no GPU here (nvidia-smi -L fails)")
def test_a_wrong_result_fails_with_the_first_mismatch(built):
    cu, exe, rc, log = built["saxpy-saxpy"]
    gpu, cpu = cu.read_text().split("namespace pxos_cpu {")
    bad = cu.with_name("bad.cu")  # the CPU reference subtracts y instead of adding it
    bad.write_text(gpu + "namespace pxos_cpu {" + cpu.replace("+ v_y[v_i]", "- v_y[v_i]", 1))
    subprocess.run([_need_nvcc(), "-arch=sm_90", str(bad), "-o", str(exe.with_name("bad"))],
                   check=True, capture_output=True)
    proc = subprocess.run([str(exe.with_name("bad")), "1000"], capture_output=True,
                          text=True, cwd=cu.parent, timeout=600)
    assert proc.returncode == 1 and proc.stdout.rstrip().endswith("FAIL"), proc.stdout
    assert "values differ; first at out[0]: gpu" in proc.stdout


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


# ---------------------------------------------------------------------- the plan and the text
def test_sizes_that_cannot_change_say_why(tmp_path):
    mandel = plan_export(_load(EXAMPLES / "mandelbrot.px"), "mandelbrot")
    assert mandel.size is None and "2 places" in mandel.fixed_why
    hist = plan_export(_load(EXAMPLES / "histogram.px"), "histogram")
    assert hist.size is None and "file" in hist.fixed_why
    assert plan_export(_load(EXAMPLES / "reduce.px"), "block_sum").size.value == 1000000
    mix = plan_export(_load(source(tmp_path, "mix.px")), "mix")
    assert mix.size.label.startswith("SET n = 1000") and mix.order_dependent


def test_program_text_is_readable_and_line_directives_are_right(tmp_path):
    cu = export(tmp_path, "saxpy.px", "saxpy")
    text = cu.read_text()
    lines = text.split("\n")
    assert f'#line 9 "{EXAMPLES / "saxpy.px"}"' in text  # the kernel points at the .px
    assert "namespace pxos_cpu {" in text and "nvcc -O3 -arch=native -fmad=false" in text
    resets = [i for i, x in enumerate(lines) if x.startswith("#line") and "saxpy.cu" in x]
    assert len(resets) == 2
    for i in resets:  # each points the next line back at its own number in the .cu
        assert lines[i] == f'#line {i + 2} "saxpy.cu"'
    assert "CHECK(cudaMalloc" in text and "cudaEventElapsedTime" in text


def test_cli_errors(tmp_path):
    saxpy = str(EXAMPLES / "saxpy.px")
    cases = [
        (["export", saxpy, "-k", "nope", "--standalone"], "no kernel named 'nope'"),
        (["export", str(EXAMPLES / "histogram.px"), "-k", "histogram", "--standalone"],
         "pass -o FILE.cu"),
    ]
    never = tmp_path / "never.px"
    never.write_text((EXAMPLES / "saxpy.px").read_text().split("ALLOC x")[0])
    cases.append((["export", str(never), "-k", "saxpy", "--standalone"], "never RUN"))
    for args, message in cases:
        result = runner.invoke(app, args)
        assert result.exit_code == 2 and message in result.output, result.output
    result = runner.invoke(app, ["export", saxpy, "-k", "saxpy", "--standalone"])
    assert result.exit_code == 0 and "int main(int argc, char **argv)" in result.output


def test_export_needs_no_standalone_flag(tmp_path):
    # before: without --standalone, "error: pxos export needs --standalone", exit 2
    saxpy = str(EXAMPLES / "saxpy.px")
    written = []
    for folder, flag in (("plain", []), ("flagged", ["--standalone"])):
        (tmp_path / folder).mkdir()
        out = tmp_path / folder / "saxpy.cu"
        result = runner.invoke(app, ["export", saxpy, "-k", "saxpy", *flag, "-o", str(out)])
        assert result.exit_code == 0, result.output
        written.append(out.read_text())
    assert "int main(int argc, char **argv)" in written[0]
    assert written[0] == written[1]  # the flag is accepted and changes nothing
