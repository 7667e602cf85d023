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


def test_native_launches_are_logged_with_their_lines():
    """Launches that take the native path (``host/native_call``) skip the listener; the
    profile's log still gives each one an event on the line that called it."""
    from pxos.lib.profile import Profile

    x = np.arange(4096, dtype=np.float32)
    out = np.empty_like(x)
    for _ in range(4):  # the native launcher is built after the first calls
        saxpy(np.float32(1.0), x, x, out, device="c")
    with Profile(out=None) as p:
        assert events.LAUNCHES is p.recorder.log
        first = inspect.currentframe().f_lineno + 2
        for _ in range(30):
            saxpy(np.float32(2.0), x, x, out, device="c")
            saxpy(np.float32(3.0), x, x, out, device="c")
    assert events.LAUNCHES is None
    np.testing.assert_allclose(out, 4.0 * x)
    launches = [e for e in p.recorder.events if e.kind == "launch"]
    assert len(launches) == 60
    assert [e.line for e in launches] == [first, first + 1] * 30
    assert all(e.file == __file__ and e.threads == (4096,) and e.end >= e.start
               for e in launches)
    assert len(p.recorder.log) == 60  # they went the native way
    (k,) = p.kernels
    assert k.launches == 60 and k.bytes == 3 * x.nbytes  # cost features of the shape


def test_a_second_listener_turns_the_log_off():
    from pxos.lib.profile import Profile

    seen = Seen()
    with Profile(out=None):
        events.subscribe(seen)
        assert events.LAUNCHES is None  # every launch calls both listeners
        events.unsubscribe(seen)
        assert events.LAUNCHES is not None


def test_a_profile_in_a_profile_keeps_the_outer_launches():
    """The launches recorded in C go to the log that was recording: the outer profile's
    before and after the inner one (during it both listen: the general path)."""
    from pxos.lib.profile import Profile

    x = np.arange(4096, dtype=np.float32)
    out = np.empty_like(x)
    for _ in range(4):
        saxpy(np.float32(1.0), x, x, out, device="c")
    with Profile(out=None) as outer:
        for _ in range(5):
            saxpy(np.float32(1.0), x, x, out, device="c")
        with Profile(out=None) as inner:
            for _ in range(3):
                saxpy(np.float32(1.0), x, x, out, device="c")
        for _ in range(7):
            saxpy(np.float32(2.0), x, x, out, device="c")
    np.testing.assert_allclose(out, 3.0 * x)
    assert [k.launches for k in inner.kernels] == [3]
    assert [k.launches for k in outer.kernels] == [15]
    assert len(outer.recorder.log) == 12  # 5 + 7 native, the 3 inner ones through begin/end
