"""What the planner learns from measured runs: a correction per kernel and device.

After a statement runs, the time it took beyond its predicted overheads (copies, launch,
compile) is divided by the model's uncorrected work estimate. The ratios are kept per
(kernel fingerprint, device) with the launch's size, in a JSON file next to the machine's
calibration. The correction for a new launch is the median, taken on a log scale, of the
ratios recorded within a factor of ten of its size *and one ratio of 1*, the model's own
estimate: one surprising run moves the estimate half-way (geometrically), two that agree
move it all the way. With no ratio that near, a kernel's behaviour at one size says little
about it at a size 100× larger (what fits in a cache no longer does), with one exception:
a kernel that ran slower than predicted at smaller sizes is taken to run at least that much
slower at a larger one (a working set that outgrew a cache runs no faster per byte), so
the ratios within a factor of ten of the largest smaller size recorded count, each at
least 1. (On the H200 host, a host ``REDUCE`` ran 1.5× and 1.8× slower than calibrated at
10⁶ and 10⁷ elements; at 10⁸, without this, the planner kept it on the host at 2.2× the
time of the GPU.) With no smaller size either the correction is 1.
A ratio beyond :data:`NOISE` either way is taken for a run disturbed by something else on
the machine and not kept.

A run whose predicted work is under :data:`SIGNIFICANT` of its predicted total teaches
the kernel's correction nothing (its time is mostly overhead); it teaches the overhead
instead: the time beyond the predicted work is kept as one sample of the launch overhead
of that device (per kind of statement; only from runs that made no copies, whose residue
would mix copy and launch costs), and once :data:`MIN_SAMPLES` are kept
their median replaces the calibrated launch latency. So a machine whose launches are
slower in use than in calibration (an OpenMP team that wakes slowly on a busy host, say)
is found out by running on it.

A device a kernel is not built for is charged the build in every plan, so a program whose
runs are each too short to pay it stays on the device it was built for first, however much
faster the other would run it. The time such runs take beyond the other device's
prediction is added up per kernel and device (:meth:`History.owe`); once it reaches the
build's time, plans stop charging the build there (ski rental).

The file is written at most once per :data:`SAVE_INTERVAL` seconds while a process keeps
learning (a long program learns at every statement; writing the file each time would cost
more than many kernels), and once more when the process exits (or :meth:`History.save`).
"""

from __future__ import annotations

import atexit
import json
import math
import statistics
import time
from pathlib import Path

from pxos.atomic_write import write_atomic
from pxos.backends.cache import cache_dir, cache_key
from pxos.planner import stored

KEEP = 24  # ratios kept per kernel and device (the newest)
SIGNIFICANT = 0.3  # learn only from runs whose predicted work is this share of the total
MIN_SAMPLES = 3  # launch-overhead samples needed before they replace calibration
LAUNCHES = "launch overhead"  # the key of the overhead samples in the file
NOISE = 10.0  # a ratio beyond 10× either way is taken for a disturbed run, not learned
SAVE_INTERVAL = 1.0  # seconds between writes of the file while learning
# a launch's preparation (its first run in a process, the Python way before a native
# launcher, the native launcher's build) took up to 4 ms more than its later runs (3.7 ms
# for the first native launcher's here, 0.25 ms a RUN's on the H100 machine): a warming
# run this long teaches a kernel's correction within the history's noise
WARMING_FLOOR = 20e-3
LOST = " lost"  # suffix of the key under which HYBRID splits that lost are kept
OWED = " owed"  # suffix of the key of what runs elsewhere owe a build (History.owe)


def fingerprint(what) -> str:
    """A stable name for a kernel (its name, parameters and body) or a library operation
    (a string such as ``"SORT f32"``)."""
    if isinstance(what, str):
        return what
    found = _PRINTS.get(id(what))
    if found is not None and found[0] is what:
        return found[1]
    key = cache_key(what.name, repr(what.params), repr(what.body))[:16]
    _PRINTS[id(what)] = (what, key)
    return key


_PRINTS: dict[int, tuple[object, str]] = {}


class History:
    """Corrections by kernel and device for one machine, stored at ``path``."""

    def __init__(self, path: Path):
        self.path = path
        self.data: dict = {}
        self._unsaved = False  # a save failed (warned once)
        self._dirty = False
        self._saved_at = float("-inf")
        self._corrections: dict[tuple, float] = {}  # until the next row is kept
        self.generation = 0  # changes when all is forgotten (forget), or a build paid (owe)
        try:
            text = path.read_text()
        except OSError:
            return  # none yet
        try:
            self.data = _checked(json.loads(text))
        except ValueError as err:  # not JSON, or of the wrong shape
            stored.warn(path, str(err), "forgetting what it learned")

    def correction(self, kernel: str, device: str, threads: int,
                   alike: tuple[str, ...] = ()) -> float:
        """The factor to multiply the model's work estimate by (1 if nothing recorded
        within a factor of ten of ``threads`` or below it; see the module docstring).
        ``alike``: devices of the same kind (the CPU backends, say), whose correction
        stands for ``device``'s until the kernel has run there: on the 2-core machine
        ``histogram`` ran 2.4x slower than predicted on ``c`` and 3.3x on PoCL, whose
        uncorrected prediction then won at 10⁷ and 10⁸ and lost by up to 25 %."""
        key = (kernel, device, threads, alike)
        found = self._corrections.get(key)
        if found is not None:
            return found
        size = math.log10(max(threads, 1))
        by_device = self.data.get(kernel, {})
        rows = by_device.get(device) or next(
            (by_device[d] for d in alike if by_device.get(d)), [])
        near = [math.log(r) for s, r in rows if abs(s - size) <= 1.0]
        below = [s for s, _ in rows if s < size]
        if not near and below:  # slower than predicted at smaller sizes: at least as slow
            top = max(below)
            near = [max(0.0, math.log(r)) for s, r in rows if top - 1.0 <= s <= top]
        found = self._corrections[key] = \
            math.exp(statistics.median(near + [0.0])) if near else 1.0
        return found

    def record(self, kernel: str, device: str, threads: int, predicted_work: float,
               measured_work: float, predicted_total: float | None = None) -> float | None:
        """Remember one run; returns the ratio recorded (None if the run was not
        significant: see the module docstring)."""
        if predicted_total is not None and not significant(predicted_work, predicted_total):
            return None
        ratio = max(measured_work, 1e-12) / max(predicted_work, 1e-12)
        if not 1 / NOISE <= ratio <= NOISE:
            return None
        self._keep(kernel, device, [round(math.log10(max(threads, 1)), 3), ratio])
        return ratio

    def _keep(self, group: str, key: str, row) -> None:
        """Append ``row`` to ``data[group][key]``, keep the newest :data:`KEEP`, save."""
        rows = self.data.setdefault(group, {}).setdefault(key, [])
        rows.append(row)
        del rows[:-KEEP]
        self._changed()

    def _changed(self) -> None:
        """Something was learned: the corrections are computed again, and the file saved
        (at most every :data:`SAVE_INTERVAL` seconds, and at exit)."""
        self._corrections.clear()
        if not self._dirty:
            atexit.register(self.save)
        self._dirty = True
        if time.monotonic() - self._saved_at >= SAVE_INTERVAL:
            self.save()

    def save(self) -> None:
        """Write what was learned and not yet written (see the module docstring)."""
        if not self._dirty:
            return
        self._dirty = False
        atexit.unregister(self.save)
        self._saved_at = time.monotonic()
        try:
            # no fsync: a cache, checked when read (a torn file is forgotten with a
            # warning); syncing cost 10-30 ms per run of a program on a virtual disk
            write_atomic(self.path, json.dumps(self.data, indent=1, sort_keys=True).encode(),
                         durable=False)
        except OSError as err:  # a full or read-only cache: learned for this process only
            if not self._unsaved:
                stored.warn(self.path, err.strerror or str(err), "not saved")
            self._unsaved = True

    def withdraw(self, kernel: str, pair: str, threads: int, ratio: float) -> None:
        """A HYBRID split ``pair`` (``c+cuda``) of ``kernel`` at ``threads`` ran ``ratio``
        (> 1) times slower than the best device alone was predicted: no split of it is
        offered again at sizes of that decade or below (:meth:`withdrawn`)."""
        self._keep(kernel, pair + LOST, [float(_decade(threads)), max(ratio, 1e-12)])

    def withdrawn(self, kernel: str, pair: str, threads: int) -> bool:
        """Whether a split ``pair`` of ``kernel`` lost at ``threads``' decade or above (a
        split that loses at a size loses at smaller ones, where its fixed costs weigh
        more)."""
        return any(row[0] >= _decade(threads)
                   for row in self.data.get(kernel, {}).get(pair + LOST, []))

    def owe(self, kernel: str, device: str, seconds: float, build_s: float) -> None:
        """Runs of ``kernel`` elsewhere took ``seconds`` more than predicted on ``device``,
        where it is not built (a build of ``build_s`` seconds): added to what they owe that
        build. Once the sum reaches ``build_s`` the build is paid for (:meth:`paid`) and
        :attr:`generation` changes, so plans are made again without charging it: the
        deterministic rule of ski rental (rent until the rent paid equals the price; at
        most twice the best offline cost: A. Karlin, M. Manasse, L. Rudolph, D. Sleator,
        "Competitive snoopy caching", Algorithmica 3, 1988). Charged the build at every
        plan, a program whose every run was too short to pay it alone stayed for good on
        the device it was first built for."""
        if seconds <= 0:
            return
        rows = self.data.setdefault(kernel, {}).setdefault(device + OWED, [])
        before = rows[0][1] if rows else 0.0
        rows[:] = [[build_s, before + seconds]]
        self._changed()
        if before < build_s <= rows[0][1]:
            self.generation += 1

    def paid(self, kernel: str, device: str) -> bool:
        """Whether runs elsewhere have paid for a build of ``kernel`` on ``device``
        (:meth:`owe`)."""
        rows = self.data.get(kernel, {}).get(device + OWED)
        return bool(rows) and rows[0][1] >= rows[0][0]

    def launch(self, kind: str, calibrated: float) -> float:
        """The launch overhead of ``kind`` (``c``, ``cuda`` …, or ``SORT cuda``) in
        seconds: the median of the samples kept, or ``calibrated`` until there are
        :data:`MIN_SAMPLES`."""
        rows = self.data.get(LAUNCHES, {}).get(kind, [])
        return statistics.median(rows) if len(rows) >= MIN_SAMPLES else calibrated

    def record_launch(self, kind: str, seconds: float) -> None:
        """Keep one sample of ``kind``'s launch overhead (clipped to 0 … 1 s)."""
        self._keep(LAUNCHES, kind, min(1.0, max(0.0, seconds)))

    def learn(self, kernel: str, kind: str, threads: int, estimate, measured: float,
              warming: bool = False) -> None:
        """Learn from one run of a statement predicted as ``estimate`` (a
        ``planner.model.Estimate``) that took ``measured`` seconds: the kernel's correction
        if its work was significant, else the launch overhead of ``kind``. A ``warming``
        run (its launch prepared in that time, or not yet in its final form) teaches the
        correction only from :data:`WARMING_FLOOR` seconds up, and no launch overhead."""
        from pxos.planner.model import raw_work

        if warming and measured < WARMING_FLOOR:
            return
        raw = raw_work(estimate)
        # the corrected work's share: with the raw work's, a correction raised by slow
        # runs made the work look insignificant, and no later run could lower it (on the
        # 2-core machine, 5.2 from two first native launches of a kernel then 4x faster)
        if significant(estimate.work_s, estimate.seconds):
            self.record(kernel, estimate.device, threads, raw, measured - estimate.overhead_s)
        elif not warming and not estimate.copies_s:  # copies: copy and launch costs mixed
            self.record_launch(kind, measured - estimate.work_s - estimate.compile_s)

    def forget(self) -> None:
        """Drop every recorded run (``pxos calibrate`` does, since the model changed)."""
        self.data = {}
        self._corrections.clear()
        self.generation += 1
        self._dirty = False
        atexit.unregister(self.save)
        self.path.unlink(missing_ok=True)


def _decade(threads: int) -> int:
    """A launch's size class: ``floor(log10(threads))``."""
    return int(math.floor(math.log10(max(threads, 1))))


def _checked(data) -> dict:
    """``data`` if it has the shape :class:`History` writes: ``{kernel: {device:
    [[log10 size, ratio > 0], …]}}``, and ``{LAUNCHES: {kind: [seconds ≥ 0, …]}}``.

    Raises:
        stored.StoredError: it has not.
    """
    for group, by_key in stored.mapping(data, "the file").items():
        for key, rows in stored.mapping(by_key, group).items():
            where = f"{group}.{key}"
            if not isinstance(rows, list):
                raise stored.StoredError(f"{where} is {type(rows).__name__}, not a list")
            for row in rows:
                if group == LAUNCHES:
                    stored.number(row, where)
                elif not (isinstance(row, list) and len(row) == 2):
                    raise stored.StoredError(f"{where} holds {row!r}, not [size, ratio]")
                else:
                    stored.number(row[0], where)
                    stored.number(row[1], where, positive=True)
    return data


def significant(predicted_work: float, predicted_total: float) -> bool:
    """Whether a run's time says something about its kernel: the predicted work is at
    least :data:`SIGNIFICANT` of the predicted total."""
    return predicted_work >= SIGNIFICANT * predicted_total


def history_for(machine_key: str) -> History:
    """The :class:`History` of the machine with calibration key ``machine_key`` (one
    object per process)."""
    found = _OPEN.get(machine_key)
    if found is None:
        found = _OPEN[machine_key] = History(cache_dir() / "history" / f"{machine_key[:16]}.json")
    return found


_OPEN: dict[str, History] = {}


def alike_devices(machine, device: str) -> tuple[str, ...]:
    """The other calibrated backends of ``device``'s kind (GPU or not): whose learned
    correction of a kernel stands for ``device``'s until it runs there
    (``History.correction``)."""
    gpu = machine.is_gpu(device)
    return tuple(d for d in machine.devices if d != device and machine.is_gpu(d) == gpu)
