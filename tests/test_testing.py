"""pxos.testing's own behaviour: which backends a decorated test runs on, and that the NumPy
comparison fails on a wrong value, dtype, shape or structure."""

from __future__ import annotations

import numpy as np
import pytest

from pxos import backends
from pxos.testing import (NUMPY, assert_close, backends_present, for_each_backend,
                          numpy_allclose)

SEEN: list[str] = []


@for_each_backend()
def test_runs_once_per_backend(backend):
    SEEN.append(backend)
    assert backend in backends.available()


def test_every_backend_was_run(request):
    # the decorated test is parametrized over every backend present; its cases ran in this
    # process unless pytest-xdist spread them over workers
    (mark,) = [m for m in test_runs_once_per_backend.pytestmark if m.name == "parametrize"]
    assert sorted(p.values[0] for p in mark.args[1]) == sorted(backends.available())
    if not hasattr(request.config, "workerinput"):
        assert sorted(set(SEEN)) == sorted(backends.available())  # ran before this test


def test_exclude_and_require_filter_the_backends():
    assert "interp" not in backends_present(exclude=("interp",))
    assert backends_present(require=("compiled",)) == [
        b for b in backends.available() if b != "interp"]
    for b in backends_present(require=("device_memory",)):
        assert backends.get(b).memory != "host"
    with pytest.raises(ValueError, match="unknown capabilities"):
        backends_present(require=("teleport",))


def test_nothing_left_is_a_skip():
    mark = for_each_backend(exclude=tuple(backends.available()))
    (param,) = mark.args[1]
    assert param.marks[0].name == "skip"


@for_each_backend(argname="device", extra=("host",))
def test_extra_names_come_first(device):
    assert device == "host" or device in backends.available()


@pytest.mark.parametrize("actual, expected, match", [
    (np.float32([1, 2]), np.float32([1, 2.1]), "Not equal to tolerance"),
    (np.float64([1, 2]), np.float32([1, 2]), "dtype float64, expected float32"),
    (np.float32([1, 2]), np.float32([[1, 2]]), "shape"),
    (np.int32([1, 2]), np.int32([1, 3]), "not equal"),
    ((np.int32([1]),), (np.int32([1]), np.int32([2])), "parts"),
    ({"a": np.int32([1])}, {"b": np.int32([1])}, "keys"),
])
def test_assert_close_fails_on_a_difference(actual, expected, match):
    with pytest.raises(AssertionError, match=match):
        assert_close(actual, expected, rtol=1e-6)


def test_assert_close_accepts_agreement_within_tolerance_and_nans():
    assert_close(np.float32([1, np.nan]), np.float32([1 + 1e-7, np.nan]), rtol=1e-6)
    assert_close({"x": (np.int64(3), [np.uint8(4)])}, {"x": (np.int64(3), [np.uint8(4)])})


@numpy_allclose(rtol=1e-6)
def _doubles(backend):
    x = np.arange(5, dtype=np.float32)
    return x * 2 if backend == NUMPY else x + x + (backend == "wrong")


def test_numpy_allclose_runs_the_body_twice_and_compares():
    _doubles(backend="interp")  # both runs give 2x
    with pytest.raises(AssertionError):
        _doubles(backend="wrong")
