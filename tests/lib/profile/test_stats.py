"""``pxos.stats()``: live counters, and the Prometheus text parsed by prometheus_client."""

from __future__ import annotations

import numpy as np
import pytest

import pxos
from pxos import backends as pxos_backends
from pxos import events
from tests.lib.profile.kernels import saxpy


def test_counts_launches_and_copies(backend):
    from pxos.lib.profile.stats import COUNTERS

    fresh = pxos.kernel(saxpy.fn)  # no call plan yet: its first call compiles
    pxos.stats(reset=True)
    try:
        x = np.ones(1000, np.float32)
        out = np.empty_like(x)
        for _ in range(5):
            fresh(np.float32(1.0), x, x, out, device=backend)
        snap = pxos.stats()
    finally:
        events.unsubscribe(COUNTERS)
    assert snap["launches"] == {backend: 5}
    assert sum(snap["compiles"][backend].values()) == 1
    if pxos_backends.get(backend).memory != "host":  # a device backend: copies each call
        assert snap["copies"] == {"to_device": {backend: 15}, "to_host": {backend: 5}}
        assert snap["copy_bytes"]["to_device"][backend] == 15 * x.nbytes
    else:
        assert snap["copies"] == {}
    assert snap["seconds"][backend] > 0


def test_prometheus_text_parses():
    parser = pytest.importorskip("prometheus_client.parser")
    from pxos.lib.profile.stats import COUNTERS

    pxos.stats(reset=True)
    try:
        x = np.ones(100, np.float32)
        for _ in range(3):
            saxpy(np.float32(1.0), x, x, x, device="c")
        text = pxos.stats(format="prometheus")
    finally:
        events.unsubscribe(COUNTERS)
    found = {(s.name, tuple(sorted(s.labels.items()))): s.value
             for family in parser.text_string_to_metric_families(text)
             for s in family.samples}
    assert found[("pxos_launches_total", (("device", "c"),))] == 3


def test_unknown_format_is_a_clear_error():
    from pxos.errors import PxError

    with pytest.raises(PxError, match="unknown stats format"):
        pxos.stats(format="xml")
    from pxos.lib.profile.stats import COUNTERS

    events.unsubscribe(COUNTERS)
