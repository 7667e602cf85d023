"""Every host statement of spec v1, on every backend present, against NumPy, Pillow and a
pure-Python SplitMix64."""

from __future__ import annotations

import os

import numpy as np
import pytest
from PIL import Image

from pxos.errors import PxError, PxFileError, PxRuntimeError
from pxos.host.program import ProgramRun
from pxos.ir.check_host import check_program
from pxos.lang.px.parser import parse_program

COPY = """GPU_KERNEL scale
GPU_PARAM src float[]
GPU_PARAM dst float[]
GPU_PARAM k float
GPU_THREAD_CODE:
    THREAD_ID → i
    STORE src[i] * k → dst[i]
GPU_END
"""


def run(text: str, folder, backend: str = "interp", **options) -> ProgramRun:
    path = folder / "prog.px"
    path.write_text(text)
    printed: list[str] = []
    program = check_program(parse_program(text, str(path)))
    result = ProgramRun(program, device=backend, emit=printed.append, **options).run()
    result.printed = printed
    return result


def splitmix64(seed: int, i: int) -> int:
    """Steele, Lea and Flood (2014), in Python integers: the independent reference."""
    m = 2**64 - 1
    z = (seed * 0x9E3779B97F4A7C15 + i) & m
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & m
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & m
    return z ^ (z >> 31)


def test_alloc_fill_set_run_reduce(backend, tmp_path):
    r = run(COPY + """ALLOC a float SIZE 10
ALLOC m int SIZE 3, 4
ALLOC cube u8 SIZE 2, 3, 4
ALLOC b LIKE a
FILL a 1.5
FILL m 7
SET n = LEN(a) * 2 + ROWS(m) - COLS(m)
SET quarter = n / 4
RUN scale a b 2
REDUCE SUM b → s
REDUCE PROD m → p
REDUCE MIN m → lo
REDUCE MAX b → hi
PRINT "n", n, quarter, s, p, lo, hi
""", tmp_path, backend)
    v = r.values
    assert v["a"].shape == (10,) and v["m"].shape == (3, 4) and v["cube"].shape == (2, 3, 4)
    assert v["cube"].dtype == np.uint8 and v["m"].dtype == np.int32
    np.testing.assert_array_equal(r.array("b", None), np.full(10, 3.0, np.float32))
    assert v["n"] == 19 and v["n"].dtype == np.int32 and v["quarter"] == 4
    assert v["s"] == 30.0 and v["s"].dtype == np.float64
    assert v["p"] == 7**12 and v["p"].dtype == np.int64
    assert v["lo"] == 7 and v["hi"] == np.float32(3.0)
    assert r.printed == [f"n 19 4 30.0 {7**12} 7 3.0"]


def test_random_is_splitmix64(tmp_path):
    r = run("""ALLOC f float SIZE 100
ALLOC d double SIZE 50
ALLOC i int SIZE 64
ALLOC b u8 SIZE 64
RANDOM f SEED 5
RANDOM d SEED 6 RANGE -2.0 2.0
RANDOM i SEED 7 RANGE -10 10
RANDOM b SEED 8
""", tmp_path)
    v = r.values
    want_f = [np.float32((splitmix64(5, k) >> 40) * 2.0**-24) for k in range(100)]
    np.testing.assert_array_equal(v["f"], np.array(want_f, np.float32))
    want_d = [-2.0 + ((splitmix64(6, k) >> 11) * 2.0**-53) * 4.0 for k in range(50)]
    np.testing.assert_allclose(v["d"], want_d, rtol=0, atol=1e-15)
    want_i = [-10 + ((splitmix64(7, k) >> 32) * 20 >> 32) for k in range(64)]
    np.testing.assert_array_equal(v["i"], want_i)
    want_b = [(splitmix64(8, k) >> 32) * 256 >> 32 for k in range(64)]
    np.testing.assert_array_equal(v["b"], want_b)
    assert len(set(v["i"].tolist())) > 10 and v["i"].min() >= -10 and v["i"].max() < 10


def test_random_same_on_every_backend(backend, tmp_path):
    text = COPY + "ALLOC a float SIZE 1000\nALLOC b LIKE a\nRANDOM a SEED 3\nRUN scale a b 1\n"
    here = run(text, tmp_path, backend).array("b", None)
    (tmp_path / "ref").mkdir()
    ref = run(text, tmp_path / "ref", "interp").array("b", None)
    np.testing.assert_array_equal(here, ref)


def test_read_and_write_files(tmp_path):
    arr = np.arange(12, dtype=np.int16).reshape(3, 4)
    np.save(tmp_path / "in.npy", arr)
    (tmp_path / "raw.bin").write_bytes(np.arange(5, dtype=np.float32).tobytes())
    rgb = np.random.default_rng(1).integers(0, 256, (6, 5, 3), dtype=np.uint8)
    Image.fromarray(rgb).save(tmp_path / "img.png")
    Image.fromarray(rgb[..., 0]).save(tmp_path / "grey.bmp")
    r = run("""READ_FILE "in.npy" INTO a
READ_FILE "raw.bin" INTO f AS float
READ_FILE "raw.bin" INTO bytes
READ_FILE "img.png" INTO img
READ_FILE "grey.bmp" INTO grey
SORT f → sorted
WRITE_FILE a TO "out/a.npy"
WRITE_FILE img TO "out/copy.png"
WRITE_FILE grey TO "out/grey.bmp"
WRITE_FILE f TO "out/raw.bin"
""", tmp_path)
    v = r.values
    np.testing.assert_array_equal(v["a"], arr)
    assert v["a"].dtype == np.int16
    np.testing.assert_array_equal(v["f"], np.arange(5, dtype=np.float32))
    assert v["bytes"].dtype == np.uint8 and v["bytes"].size == 20
    np.testing.assert_array_equal(v["img"], rgb)
    assert v["grey"].shape == (6, 5, 1)
    np.testing.assert_array_equal(np.load(tmp_path / "out/a.npy"), arr)
    np.testing.assert_array_equal(np.asarray(Image.open(tmp_path / "out/copy.png")), rgb)
    np.testing.assert_array_equal(np.asarray(Image.open(tmp_path / "out/grey.bmp")), rgb[..., 0])
    assert (tmp_path / "out/raw.bin").read_bytes() == (tmp_path / "raw.bin").read_bytes()
    assert [p.name for p in r.written] == ["a.npy", "copy.png", "grey.bmp", "raw.bin"]
    assert not [p for p in (tmp_path / "out").iterdir() if p.name.startswith(".")]


def test_sort_matches_numpy(tmp_path):
    r = run("ALLOC a int SIZE 500\nRANDOM a SEED 9 RANGE -50 50\nSORT a → s\n", tmp_path)
    np.testing.assert_array_equal(r.values["s"], np.sort(r.values["a"]))


def test_failed_write_keeps_the_old_file(tmp_path):
    (tmp_path / "out.png").write_bytes(b"old contents")
    with pytest.raises(PxFileError, match="must be u8"):
        run('ALLOC a float SIZE 4, 4\nWRITE_FILE a TO "out.png"\n', tmp_path)
    assert (tmp_path / "out.png").read_bytes() == b"old contents"
    assert sorted(os.listdir(tmp_path)) == ["out.png", "prog.px"]


def test_paths_are_confined(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    inside = tmp_path / "prog"
    outside = tmp_path.parent / f"{tmp_path.name}-elsewhere"
    inside.mkdir()
    outside.mkdir()
    np.save(outside / "x.npy", np.ones(3))
    text = f'READ_FILE "{outside}/x.npy" INTO x\n'
    with pytest.raises(PxFileError, match="outside the folders"):
        run(text, inside)
    assert run(text, inside, allow=[outside]).values["x"].sum() == 3
    (inside / "link.npy").symlink_to(outside / "x.npy")
    with pytest.raises(PxFileError, match="outside the folders"):
        run('READ_FILE "link.npy" INTO x\n', inside)


def test_verify(tmp_path):
    ok = "ALLOC a float SIZE 5\nALLOC b LIKE a\nFILL a 1.0\nFILL b 1.00001\n"
    run(ok + "VERIFY a == b TOL 1e-4\nVERIFY LEN(a) == 5\n", tmp_path)
    with pytest.raises(PxRuntimeError, match=r"VERIFY failed: 5 of 5 values differ; first at "
                                             r"index \[0\]"):
        run(ok + "VERIFY a == b\n", tmp_path)


def test_run_errors_name_the_statement(tmp_path):
    with pytest.raises(PxError) as err:
        run(COPY + "ALLOC a float SIZE 4\nALLOC b int SIZE 4\nRUN scale a b 2\n", tmp_path)
    assert ":11:13:" in str(err.value) and "dst" in str(err.value)
