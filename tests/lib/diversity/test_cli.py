"""``pxos diversity`` commands through Typer's runner, against the float64 reference."""

from __future__ import annotations

import json

import numpy as np
from typer.testing import CliRunner

from pxos.cli.diversity import app
from pxos.lib.diversity import reference_sequence

runner = CliRunner()


def _emb(tmp_path, n=30):
    a = np.random.default_rng(9).standard_normal((n, 8)).astype(np.float32)
    path = tmp_path / "emb.npy"
    np.save(path, a)
    return path, a / np.linalg.norm(a, axis=1, keepdims=True)


def test_sequence_json(tmp_path):
    path, E = _emb(tmp_path)
    r = runner.invoke(app, ["sequence", str(path), "--start", "12", "--json", "-d", "c"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout) == {"start": 12, "sequence": reference_sequence(E, 12).tolist()}
    assert r.stdout.startswith('{"start":12,"sequence":[12,')


def test_build_then_show_with_texts(tmp_path):
    path, E = _emb(tmp_path)
    texts = tmp_path / "t.txt"
    texts.write_text("".join(f"text number {i}\n" for i in range(30)))
    cache = tmp_path / "c.npy"
    r = runner.invoke(app, ["build", str(path), "-o", str(cache), "--no-progress", "-d", "c"])
    assert r.exit_code == 0, r.output
    assert np.load(cache)[7].tolist() == reference_sequence(E, 7).tolist()
    r = runner.invoke(app, ["build", str(path), "-o", str(cache), "--resume", "--no-progress"])
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["show", str(cache), "--start", "7", "--texts", str(texts),
                            "--top", "3"])
    assert r.exit_code == 0, r.output
    want = reference_sequence(E, 7)[:3].tolist()
    got = [line.split() for line in r.stdout.splitlines()]
    assert [int(g[1]) for g in got] == want
    assert [" ".join(g[2:]) for g in got] == [f"text number {i}" for i in want]


def test_user_errors_exit_2_without_traceback(tmp_path):
    path, _ = _emb(tmp_path)
    for args, message in [
        (["sequence", str(path), "--start", "30"], "start 30 is out of range"),
        (["sequence", str(tmp_path / "none.npy"), "--start", "0"], "cannot read"),
        (["show", str(tmp_path / "none.npy"), "--start", "0"], "cannot read"),
    ]:
        r = runner.invoke(app, args)
        assert r.exit_code == 2, r.output
        assert message in r.output and "Traceback" not in r.output
    np.save(tmp_path / "nan.npy", np.full((3, 2), np.nan))
    r = runner.invoke(app, ["build", str(tmp_path / "nan.npy"), "-o", str(tmp_path / "c.npy")])
    assert r.exit_code == 2 and "NaN" in r.output
