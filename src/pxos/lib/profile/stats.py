"""``pxos.stats()``: live counters of this process, as a dict or in Prometheus's text format.

Counting starts at the first call of :func:`stats` (it subscribes a small listener to
``pxos.events``; until then the engine does no work for it), so call ``pxos.stats()`` once
at start-up to count everything. Counted: kernel launches and ``REDUCE``/``SORT`` by
device; the seconds the host spent in them by device (a ``.px`` program's launch includes
its wait for the device; a Python call on ``cuda`` only queues); compiles by device and
tier (``memory``: the backend's in-process memo, ``disk``: its on-disk cache, ``build``:
compiled now); copies and bytes by direction and device.

The Prometheus text exposition is written by ``prometheus_client`` (a custom collector on
a registry of its own), so scrapers get the format they parse.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict

from pxos import events
from pxos.errors import PxError
from pxos.extras import require


class Counters:
    """The listener behind :func:`stats` (thread-safe)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        self.launches = defaultdict(int)
        self.seconds = defaultdict(float)
        self.compiles = defaultdict(int)  # (device, tier)
        self.copies = defaultdict(int)  # (direction, device)
        self.copy_bytes = defaultdict(int)
        self.since = time.time()
        self._seen: set[int] = set()

    def begin(self, kind, name, device, where, info):
        return kind, name, device, (info or {}).get("bytes", 0), time.perf_counter()

    def end(self, token, result=None) -> None:
        kind, name, device, nbytes, t0 = token
        seconds = time.perf_counter() - t0
        with self.lock:
            if kind == "compile":
                self.compiles[(device, self._tier(result))] += 1
            elif kind == "copy":
                self.copies[(name, device)] += 1
                self.copy_bytes[(name, device)] += int(nbytes)
                self.seconds[device] += seconds
            else:
                self.launches[device] += 1
                self.seconds[device] += seconds

    def _tier(self, compiled) -> str:
        if id(compiled) in self._seen:
            return "memory"
        self._seen.add(id(compiled))
        hit = getattr(compiled, "cache_hit", getattr(compiled, "hit", None))
        return "disk" if hit else "build" if hit is not None else "memory"

    def snapshot(self) -> dict:
        with self.lock:
            return {
                "since": self.since,
                "launches": dict(self.launches),
                "seconds": dict(self.seconds),
                "compiles": _nested(self.compiles),
                "copies": _nested(self.copies),
                "copy_bytes": _nested(self.copy_bytes),
            }


def _nested(flat: dict) -> dict:
    out: dict = {}
    for (a, b), v in flat.items():
        out.setdefault(a, {})[b] = v
    return out


COUNTERS = Counters()


def stats(format: str = "dict", reset: bool = False):  # noqa: A002  (the issue's name)
    """The live counters (see the module docstring).

    Args:
        format: ``dict`` (a dict: ``launches`` and ``seconds`` by device, ``compiles`` by
            device then tier, ``copies`` and ``copy_bytes`` by direction then device,
            ``since``: when counting started, Unix time) or ``prometheus`` (the text
            exposition format, version 0.0.4, as a str).
        reset: start counting again from zero after reading.

    Raises:
        PxError: an unknown ``format``, or ``prometheus`` without ``prometheus_client``.
    """
    events.subscribe(COUNTERS)
    if format not in ("dict", "prometheus"):
        raise PxError(f"unknown stats format {format!r}; expected 'dict' or 'prometheus'")
    snap = COUNTERS.snapshot()
    if reset:
        with COUNTERS.lock:
            COUNTERS.reset()
    return snap if format == "dict" else prometheus_text(snap)


def prometheus_text(snap: dict) -> str:
    """``snap`` (from :func:`stats`) in Prometheus's text exposition format."""
    use = "pxos.stats(format='prometheus')"
    client = require("prometheus_client", "profile", use)
    CollectorRegistry, generate_latest = client.CollectorRegistry, client.generate_latest
    CounterMetricFamily = require("prometheus_client.core", "profile",
                                  use).CounterMetricFamily

    def families():
        m = CounterMetricFamily("pxos_launches", "Kernel launches and REDUCE/SORT",
                                labels=["device"])
        for d, v in snap["launches"].items():
            m.add_metric([d], v)
        yield m
        m = CounterMetricFamily("pxos_device_seconds", "Host seconds in launches and "
                                "copies", labels=["device"])
        for d, v in snap["seconds"].items():
            m.add_metric([d], v)
        yield m
        m = CounterMetricFamily("pxos_compiles", "Kernel compiles by cache tier",
                                labels=["device", "tier"])
        for d, tiers in snap["compiles"].items():
            for t, v in tiers.items():
                m.add_metric([d, t], v)
        yield m
        for key, what in (("copies", "Host-device copies"), ("copy_bytes", "Bytes copied")):
            m = CounterMetricFamily(f"pxos_{key}", what, labels=["direction", "device"])
            for direction, by in snap[key].items():
                for d, v in by.items():
                    m.add_metric([direction, d], v)
            yield m

    class _Collector:
        def collect(self):
            return families()

    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Collector())
    return generate_latest(registry).decode()
