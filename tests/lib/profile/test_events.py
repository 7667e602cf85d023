"""The engine's observer point (``pxos.events``): what a listener sees, on every backend."""

from __future__ import annotations

import inspect

import numpy as np

import pxos
from pxos import events
from tests.lib.profile.kernels import saxpy


class Seen:
    def __init__(self):
        self.begun, self.ended = [], []

    def begin(self, kind, name, device, where, info):
        self.begun.append((kind, name, device, where, info))
        return len(self.begun) - 1

    def end(self, token, result=None):
        self.ended.append((token, result))


def test_no_listener_by_default():
    assert events.LISTENERS == []


def test_a_listener_sees_compile_copies_and_launch(backend):
    x = np.arange(1000, dtype=np.float32)
    out = np.empty_like(x)
    fresh = pxos.kernel(saxpy.fn)  # no call plan yet: its first call compiles
    seen = Seen()
    events.subscribe(seen)
    try:
        fresh(np.float32(2.0), x, x, out, device=backend)
        fresh(np.float32(2.0), x, x, out, device=backend)
    finally:
        events.unsubscribe(seen)
    np.testing.assert_allclose(out, 3.0 * x)
    kinds = [b[0] for b in seen.begun]
    assert len(seen.ended) == len(seen.begun)  # every begin has its end
    launches = [b for b in seen.begun if b[0] == "launch"]
    assert len(launches) == 2 and all(b[1] == "saxpy" and b[2] == backend for b in launches)
    assert launches[0][4]["threads"] == (1000,)
    assert kinds.count("compile") == 1  # the call plan is made once per signature
    copies = [b for b in seen.begun if b[0] == "copy"]
    if backend in ("c", "interp"):
        assert copies == []
    else:  # x, y up and out back, twice
        assert sorted(c[1] for c in copies) == ["to_device"] * 6 + ["to_host"] * 2
        assert all(c[4]["bytes"] == x.nbytes for c in copies)
    assert events.LISTENERS == []


def test_unsubscribe_twice_is_harmless():
    seen = Seen()
    events.subscribe(seen)
    events.subscribe(seen)
    assert events.LISTENERS.count(seen) == 1
    events.unsubscribe(seen)
    events.unsubscribe(seen)
    assert events.LISTENERS == []


def test_recorder_finds_the_calling_python_line():
    from pxos.lib.profile import Profile

    x = np.ones(64, np.float32)
    out = np.empty_like(x)
    with Profile(out=None) as p:
        line = inspect.currentframe().f_lineno + 1
        saxpy(np.float32(1.0), x, x, out, device="c")
    (k,) = p.kernels
    assert (k.name, k.device, k.launches) == ("saxpy", "c", 1)
    assert k.file == __file__ and k.line == line
