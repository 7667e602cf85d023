"""examples/pipeline/secure_pipeline.px and its twin secure_open.px, end to end through
`pxos run`: a tarball of Python standard-library modules is sealed in 1 MiB segments and
opened again, the bytes and the SHA-256 checked against `hashlib`, `zstandard` and `AESGCM`;
a wrong key or digest writes nothing."""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import subprocess
import sys
import sysconfig
import tarfile
from pathlib import Path

import pytest

from pxos.errors import PxRuntimeError
from pxos.host.program import ProgramRun
from pxos.ir.check_host import check_program
from pxos.lang.px.parser import parse_program
from tests.conftest import EXAMPLES, ROOT

pytest.importorskip("cryptography")
zstandard = pytest.importorskip("zstandard")
from cryptography.hazmat.primitives.ciphers.aead import AESGCM  # noqa: E402

KEY = bytes(range(100, 132))
NONCE = bytes(range(12))


def stdlib_tarball(limit: int = 33 << 20) -> bytes:
    """A tarball of the standard library's .py files (not the packages installed beside
    it, in ``site-packages``), the largest first (fewer files: the tarfile module's cost is
    per file), up to ``limit`` bytes of them (more than two 16 MiB chunks), taken again
    under new names where the library is smaller."""
    sized = []
    for folder, subfolders, files in os.walk(sysconfig.get_paths()["stdlib"]):
        subfolders[:] = [d for d in subfolders if d not in ("site-packages", "dist-packages")]
        sized += [(os.path.getsize(os.path.join(folder, f)), Path(folder, f))
                  for f in files if f.endswith(".py")]
    paths = [p for _, p in sorted(sized, key=lambda sp: (-sp[0], str(sp[1])))]
    chosen, total = [], 0
    while total <= limit:
        for path in paths:
            chosen.append((path, f"{len(chosen)}-{path.name}"))
            total += path.stat().st_size
            if total > limit:
                break
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for path, name in chosen:
            tar.add(path, arcname=name, recursive=False)
    return buf.getvalue()


def pxos_run(program: Path, key: bytes) -> subprocess.CompletedProcess:
    env = dict(os.environ, PIPELINE_KEY=key.hex(), PYTHONPATH=os.pathsep.join(
        [str(ROOT / "src"), os.environ.get("PYTHONPATH", "")]))
    return subprocess.run([sys.executable, "-m", "pxos.cli.main", "run", str(program)],
                          cwd=program.parent, env=env, capture_output=True, text=True,
                          timeout=600)


def test_seal_and_open_a_stdlib_tarball(tmp_path, monkeypatch):
    for name in ("secure_pipeline.px", "secure_open.px"):
        shutil.copy(EXAMPLES / "pipeline" / name, tmp_path / name)
    tarball = stdlib_tarball()
    assert len(tarball) > 2 * 16 << 20
    (tmp_path / "input.tar").write_bytes(tarball)
    (tmp_path / "input.sha256").write_bytes(hashlib.sha256(tarball).digest())
    (tmp_path / "nonce.bin").write_bytes(NONCE)

    done = pxos_run(tmp_path / "secure_pipeline.px", KEY)
    assert done.returncode == 0, done.stderr
    sealed = (tmp_path / "sealed/input.tar.zst.gcm").read_bytes()
    # the framing of docs/pipelines.md, opened here with AESGCM and zstandard alone
    head, size = sealed[:12], int.from_bytes(sealed[8:12], "big")
    assert head[:8] == b"PXGCMS1\0" and size == 1 << 20
    body, packed, i = sealed[12:], b"", 0
    while body:
        seg, body = body[:size + 16], body[size + 16:]
        iv = (int.from_bytes(NONCE, "big") + i).to_bytes(12, "big")
        packed += AESGCM(KEY).decrypt(iv, seg, head + i.to_bytes(8, "big") + bytes([not body]))
        i += 1
    # frames back to back where COMPRESS ran on nvCOMP (docs/pipelines.md): read them all
    assert zstandard.ZstdDecompressor().decompressobj(read_across_frames=True).decompress(
        packed) == tarball
    assert len(packed) < len(tarball) // 2  # Python source compresses well

    done = pxos_run(tmp_path / "secure_open.px", KEY)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "opened/input.tar").read_bytes() == tarball

    # the failures in this process (no start-up cost), on a 3 MiB file sealed here
    shutil.rmtree(tmp_path / "opened")
    small = tarball[:3 << 20]
    (tmp_path / "input.tar").write_bytes(small)
    (tmp_path / "input.sha256").write_bytes(hashlib.sha256(small).digest())
    (tmp_path / "nonce.bin").write_bytes(bytes(11) + b"\x07")  # a fresh nonce
    run_here(tmp_path / "secure_pipeline.px", KEY, monkeypatch)
    with pytest.raises(PxRuntimeError, match="aes256gcm: authentication tag") as err:
        run_here(tmp_path / "secure_open.px", bytes(32), monkeypatch)  # the wrong key
    assert "DECRYPT" in err.value.span.text
    assert not (tmp_path / "opened/input.tar").exists()
    (tmp_path / "input.sha256").write_bytes(bytes(32))  # the wrong digest
    with pytest.raises(PxRuntimeError, match="VALIDATE failed"):
        run_here(tmp_path / "secure_open.px", KEY, monkeypatch)
    assert not (tmp_path / "opened/input.tar").exists()


def run_here(program: Path, key: bytes, monkeypatch) -> None:
    """``program`` run in this process, as `pxos run` runs it, with ``key``."""
    monkeypatch.setenv("PIPELINE_KEY", key.hex())
    text = program.read_text()
    ProgramRun(check_program(parse_program(text, str(program))), device="host",
               emit=lambda _: None).run()
