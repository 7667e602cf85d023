"""Calibration and history files that are valid JSON of the wrong shape neither crash nor
mislead the planner: one warning line, then calibrate again or forget."""

from __future__ import annotations

import json

import pytest

from pxos.planner import calibration
from pxos.planner.calibration import Machine
from pxos.planner.history import LAUNCHES, History
from tests.planner.conftest import make_machine

GOOD = json.loads(make_machine(True).to_json())


def edited(path: tuple, value):
    d = json.loads(json.dumps(GOOD))
    inner = d
    for p in path[:-1]:
        inner = inner[p]
    inner[path[-1]] = value
    return json.dumps(d)


BAD_CALIBRATIONS = {
    "list": "[]", "null": "null", "string": '"figures"', "not-json": "{",
    "devices-a-list": edited(("devices",), []),
    "launch-a-string": edited(("devices", "c", "launch_s"), "fast"),
    "zero-bandwidth": edited(("devices", "c", "bandwidth"), 0),
    "negative-rate": edited(("devices", "cuda", "ops_rate"), -1e9),
    "zero-copy-speed": edited(("devices", "cuda", "upload"), 0.0),
    "nan-sort-rate": edited(("library", "host", "sort_rate"), float("nan")),
    "bool-cores": edited(("cores",), True),
    "missing-field": edited(("devices", "c"), {"backend": "c"}),
    "unknown-field": edited(("library", "host", "speed"), 1.0),
    "hybrid-a-string": edited(("hybrid", "c+cuda"), "fast"),
}


def test_a_good_file_loads_back():
    assert Machine.from_json(json.dumps(GOOD)) == make_machine(True)


@pytest.mark.parametrize("text", BAD_CALIBRATIONS.values(), ids=BAD_CALIBRATIONS.keys())
def test_a_calibration_of_the_wrong_shape_is_calibrated_again(text, tmp_path, monkeypatch,
                                                              capsys):
    monkeypatch.setenv("PXOS_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(calibration, "_loaded", {})
    fresh = make_machine(False)
    monkeypatch.setattr(calibration, "calibrate", lambda ident: fresh)
    key = calibration.cache_key(json.dumps(calibration.identity(), sort_keys=True))
    path = calibration.calibration_path(key)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    assert calibration.machine() is fresh
    warned = [ln for ln in capsys.readouterr().err.splitlines() if "warning" in ln]
    assert len(warned) == 1 and str(path) in warned[0] and "calibrating again" in warned[0]


BAD_HISTORIES = {
    "list": "[]", "null": "null", "string": '"runs"', "not-json": "{",
    "device-a-list": '{"k": []}',
    "rows-an-object": '{"k": {"c": {}}}',
    "zero-ratio": '{"k": {"c": [[3.0, 0]]}}',
    "negative-ratio": '{"k": {"c": [[3.0, -2.0]]}}',
    "ratio-a-string": '{"k": {"c": [[3.0, "2"]]}}',
    "short-row": '{"k": {"c": [[3.0]]}}',
    "negative-launch": json.dumps({LAUNCHES: {"c": [1e-5, -1.0, 1e-5]}}),
    "launch-a-list": json.dumps({LAUNCHES: {"c": [[1e-5], [1e-5], [1e-5]]}}),
}


@pytest.mark.parametrize("text", BAD_HISTORIES.values(), ids=BAD_HISTORIES.keys())
def test_a_history_of_the_wrong_shape_is_forgotten(text, tmp_path, capsys):
    path = tmp_path / "h.json"
    path.write_text(text)
    h = History(path)
    assert h.correction("k", "c", 1000) == 1.0 and h.launch("c", 2e-5) == 2e-5
    warned = capsys.readouterr().err.strip().splitlines()
    assert len(warned) == 1 and str(path) in warned[0] and "forgetting" in warned[0]
    h.record("k", "c", 1000, 1.0, 2.0)  # and it learns again, into a good file
    assert History(path).correction("k", "c", 1000) == pytest.approx(2 ** 0.5)


def test_a_good_history_loads_without_a_word(tmp_path, capsys):
    path = tmp_path / "h.json"
    h = History(path)
    h.record("k", "c", 1000, 1.0, 4.0)
    for _ in range(3):
        h.record_launch("c", 3e-5)
    h.save()  # (learning writes the file at most once a second)
    again = History(path)
    assert again.correction("k", "c", 1000) == pytest.approx(2.0)
    assert again.launch("c", 1e-5) == pytest.approx(3e-5)
    assert capsys.readouterr().err == ""
