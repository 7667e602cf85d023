"""The programs ``pxos export --standalone`` is tested on (the examples and three of its own:
mixed types, tiles, random fills of every type), and finding nvcc and a GPU.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pxos.cli.main import app
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
