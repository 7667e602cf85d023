"""Placement decided again: the cases of a ``benchmarks/placement.py`` run, placed by the
planner as it is now on a stored calibration, scored against the times that run measured.

    python3 benchmarks/placement_replay.py RUN.json [--calibration FILE]
                                           [--set device.cuda.up_s=2.8e-5 ...]

``RUN.json`` is what ``placement.py --out`` wrote on some machine; ``--calibration`` a
calibration file of that machine (default: the one stored in ``RUN.json``, else the H200
machine's, stored for the tests in ``tests/planner/data/h200_calibration.json``), whose
figures ``--set`` overrides
(``device.<backend>.<figure>``, ``library.<side>.<figure>``, ``hybrid.<pair>``,
``hybrid_error.<pair>``). Each case is decided cold and online as ``placement.py`` decides
it (the online round learns the chosen device's measured time, sizes in increasing
order), with arrays that take no memory; nothing is run or timed. It tells, without the
machine, how a change of the model moves the decisions on times measured there. The
calibration is not the one the run had (unless it is stored with it), so close cases may
go either way. Output: the wrong decisions and the scores, as text.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "benchmarks"))

import placement  # noqa: E402
from pxos.ir.analysis.features import launch_threads  # noqa: E402
from pxos.planner import history as history_module  # noqa: E402
from pxos.planner.calibration import VERSION, Machine  # noqa: E402
from pxos.planner.call import place_call, place_library  # noqa: E402
from pxos.planner.dryrun import stand_in  # noqa: E402
from pxos.planner.history import History  # noqa: E402

H200 = ROOT / "tests" / "planner" / "data" / "h200_calibration.json"


class ShapesOnly:
    """A stand-in for ``numpy.random.Generator`` whose arrays take no memory (the
    builders of ``placement.KERNELS`` call ``uniform`` and ``integers``)."""

    class _Floats:
        def __init__(self, shape):
            self.shape = shape

        def astype(self, dtype):
            return stand_in(np.atleast_1d(self.shape), dtype)

    def uniform(self, lo, hi, shape):
        return self._Floats(shape)

    def integers(self, lo, hi, shape, dtype):
        return stand_in(np.atleast_1d(shape), dtype)


def calibration(stored: dict, overrides: list[str]) -> Machine:
    """The machine ``stored`` (a calibration file's JSON) with ``overrides``
    (``where.name=value``) set."""
    stored["version"] = VERSION  # the figures, whatever version wrote the file
    machine = Machine.from_json(json.dumps(stored))
    for item in overrides:
        name, value = item.split("=")
        kind, *where = name.split(".")
        if kind in ("hybrid", "hybrid_error", "hybrid_overhead"):
            getattr(machine, kind)[where[0]] = float(value)
        else:
            table = machine.devices if kind == "device" else machine.library
            setattr(table[where[0]], where[1], float(value))
    return machine


def decide(machine: Machine, case: dict, kernels: dict) -> object:
    """The planner's decision for ``case`` (its kernel or operation, size and data)."""
    name, n, where = case["case"], case["size"], case["data"]
    if name in placement.LIBRARY:
        return place_library(name, stand_in((n,), np.float32), where, machine)
    kernel = kernels[name]
    values = placement.KERNELS[name][1](n, ShapesOnly())
    args = [values[p.name] for p in kernel.params]
    memories = [where if isinstance(a, np.ndarray) else None for a in args]
    devices = [d for d in ("c", "cuda", "opencl") if d in machine.devices]
    return place_call(kernel, args, launch_threads(kernel, values), memories, machine,
                      devices, amortized=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("run", type=Path)
    ap.add_argument("--calibration", type=Path,
                    help="a calibration file (default: the run's own, else the H200's)")
    ap.add_argument("--set", nargs="*", default=[], help="figures: where.name=value")
    opts = ap.parse_args()
    run = json.loads(opts.run.read_text())
    stored = json.loads(opts.calibration.read_text()) if opts.calibration else \
        run.get("calibration") or json.loads(H200.read_text())
    machine = calibration(stored, opts.set)
    kernels = placement.load_kernels()
    tmp = Path(tempfile.mkdtemp(prefix="pxos-replay-"))
    histories = {"cold": History(tmp / "cold.json"), "online": History(tmp / "online.json")}
    cases = run["cases"]
    for case in cases:
        measured = case["measured"]
        decisions = {}
        for label, history in histories.items():
            history_module._OPEN[machine.key] = history
            decisions[label] = d = decide(machine, case, kernels)
            case[f"chosen_{label}"], case[f"predicted_{label}"] = d.device, d.predicted
            if d.device != case["fastest"]:
                print(f"{label:6} {case['case']:<13} {case['size']:.0e} {case['data']:<5}"
                      f" chose {d.device:<7} measured " + "  ".join(
                          f"{k} {v * 1e3:.3f}" for k, v in measured.items())
                      + " ms; predicted " + "  ".join(
                          f"{k} {v * 1e3:.3f}" for k, v in d.predicted.items()) + " ms")
        if decisions["online"].device in measured:  # as a run would: what ran teaches
            decisions["online"].learn(histories["online"],
                                      measured[decisions["online"].device])
    for label in histories:
        s = placement.score(cases, label)
        print(f"{label:>6}: {s['right']}/{s['decisions']} = {s['right_share']:.1%} right, "
              f"regret {s['regret']:.1%}")


if __name__ == "__main__":
    main()
