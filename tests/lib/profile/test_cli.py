"""``pxos profile``: a `.px` program and a Python script, and ``--compare``'s exit code."""

from __future__ import annotations

import json
import re

from typer.testing import CliRunner

from pxos.cli.main import app
from tests.conftest import EXAMPLES

runner = CliRunner()


def test_px_program_events_at_their_run_lines(tmp_path, backend):
    prog = tmp_path / "heat.px"
    source = (EXAMPLES / "heat.px").read_text()
    prog.write_text(source)
    result = runner.invoke(app, ["profile", str(prog), "-o", str(tmp_path / "p"),
                                 "--device", backend])
    assert result.exit_code == 0, result.output
    summary = json.loads((tmp_path / "p" / "profile.json").read_text())
    lines = source.splitlines()
    runs = {}  # kernel -> its RUN lines, read from the source here
    for n, text in enumerate(lines, 1):
        m = re.match(r"\s*RUN (\w+)", text)
        if m:
            runs.setdefault(m.group(1), []).append(n)
    steps = int(re.search(r"CONST STEPS = (\d+)", source).group(1))
    by_name = {k["name"]: k for k in summary["kernels"] if k["kind"] == "launch"}
    assert set(by_name) == set(runs)
    for name, k in by_name.items():
        assert k["device"] == backend and k["file"] == str(prog) and k["line"] in runs[name]
    assert by_name["diffuse"]["launches"] == steps * len(runs["diffuse"])
    reduces = [k for k in summary["kernels"] if k["kind"] == "reduce"]
    assert len(reduces) == len(re.findall(r"^\s*REDUCE", source, re.M))
    assert "diffuse" in result.output and "wrote" in result.output


def test_python_script_with_arguments(tmp_path):
    script = tmp_path / "script.py"
    script.write_text(
        "import sys\nimport numpy as np\nimport pxos\n\n"
        "@pxos.kernel\n"
        "def twice(x: pxos.Array[pxos.f32, 1], out: pxos.Array[pxos.f32, 1]):\n"
        "    for i in pxos.parallel(len(x)):\n"
        "        out[i] = 2 * x[i]\n\n"
        "x = np.ones(int(sys.argv[1]), np.float32)\nout = np.empty_like(x)\n"
        "for _ in range(int(sys.argv[2])):\n"
        "    twice(x, out, device='c')\n"
        "assert (out == 2).all()\n")
    result = runner.invoke(app, ["profile", str(script), "1000", "7", "-o",
                                 str(tmp_path / "p")])
    assert result.exit_code == 0, result.output
    summary = json.loads((tmp_path / "p" / "profile.json").read_text())
    (k,) = summary["kernels"]
    assert (k["name"], k["launches"], k["file"], k["line"]) == ("twice", 7, str(script), 13)


def test_script_exit_status_is_kept(tmp_path):
    script = tmp_path / "fails.py"
    script.write_text("import sys\nsys.exit(3)\n")
    result = runner.invoke(app, ["profile", str(script), "-o", str(tmp_path / "p")])
    assert result.exit_code == 3
    assert (tmp_path / "p" / "profile.json").exists()


def test_compare_exits_1_on_a_regression(tmp_path):
    script = tmp_path / "s.py"
    script.write_text(
        "import numpy as np\nimport pxos\n\n@pxos.kernel\n"
        "def inc(x: pxos.Array[pxos.f32, 1]):\n"
        "    for i in pxos.parallel(len(x)):\n"
        "        x[i] = x[i] + 1\n\n"
        "x = np.zeros(100_000, np.float32)\nfor _ in range(30):\n    inc(x, device='c')\n")
    first = runner.invoke(app, ["profile", str(script), "-o", str(tmp_path / "a")])
    assert first.exit_code == 0, first.output
    base = json.loads((tmp_path / "a" / "profile.json").read_text())
    fast = dict(base, kernels=[dict(k, times_s=[t / 1000 for t in k["times_s"]])
                               for k in base["kernels"]])
    (tmp_path / "fast.json").write_text(json.dumps(fast))
    result = runner.invoke(app, ["profile", str(script), "-o", str(tmp_path / "b"),
                                 "--compare", str(tmp_path / "fast.json")])
    assert result.exit_code == 1, result.output
    assert "regression  inc on c" in result.output and "1 regression " in result.output


def test_compare_with_a_missing_base_is_a_clear_error(tmp_path):
    result = runner.invoke(app, ["profile", str(EXAMPLES / "saxpy.px"), "-o",
                                 str(tmp_path / "p"), "--compare", str(tmp_path / "no.json")])
    assert result.exit_code == 2
    assert "cannot read the profile" in result.output and "Traceback" not in result.output
