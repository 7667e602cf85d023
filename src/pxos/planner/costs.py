"""What one step of a program costs on a device (``planner/program``'s estimates): the
copies its reads cause from a residency state, the predicted time of a ``RUN``, ``REDUCE``
or ``SORT`` there (``planner/model``, corrected by ``planner/history``), of a HYBRID split
(``planner/hybrid``), and whether its kernel is built yet."""

from __future__ import annotations

import numpy as np

from pxos import backends
from pxos.backends.base import HOST
from pxos.errors import PxBackendError
from pxos.ir import nodes as ir
from pxos.ir.analysis.features import kernel_features, launch_work, trip_names
from pxos.planner.dryrun import Step
from pxos.planner.history import alike_devices, fingerprint
from pxos.planner.hybrid import estimate_split, memory_of
from pxos.planner.model import (
    Copies, Estimate, copies_seconds, predict_launch, predict_library,
)

ZEROS = "zeros"  # a place marker: the array is all zeros, made anywhere without a copy


class StepCosts:
    """The cost methods of ``planner/program.Planner``, which supplies ``machine``,
    ``history``, ``device``, ``checked``, ``_nbytes``, ``_built``, ``_unbuilt``,
    ``_works`` and ``_estimates``."""

    def _copies(self, where: dict, step: Step, memory: str) -> Copies:
        c = Copies()
        for name in dict.fromkeys(step.reads):
            places = where.get(name, frozenset({HOST}))
            if memory in places or ZEROS in places:
                continue
            nbytes = int(self._nbytes.get(name, 0))
            if HOST not in places:
                c.down += 1
                c.down_bytes += nbytes
                c.memory = c.memory or next(iter(places - {HOST, ZEROS}), None)
            if memory != HOST:
                c.up += 1
                c.up_bytes += nbytes
                c.memory = memory
        return c

    def estimate(self, step: Step, device: str, copies: Copies) -> Estimate:
        """The predicted time of ``step`` on ``device`` with ``copies``."""
        if step.kind == "run" and "+" in device:
            return self._estimate_split(step, device, copies)
        if step.kind == "run":
            work = self._work(step)
            compiled = self._compiled(device, step.kernel)
            fp = fingerprint(step.kernel)
            corr = self.history.correction(fp, device, work.threads,
                                           alike_devices(self.machine, device))
            launch = self.history.launch(statement_key("run", device), None)
            contended = any(a.kind == "atomic" and a.pattern == "uniform"
                            for a in features_of(step.kernel).accesses)
            return predict_launch(self.machine, device, work, copies, compiled, corr,
                                  contended, launch)
        if step.kind in ("reduce", "sort"):
            arr = step.array
            fp = f"{step.kind.upper()} {arr.dtype}"  # as _decide names it
            corr = self.history.correction(fp, device, arr.size)
            launch = self.history.launch(statement_key(step.kind, device), None)
            return predict_library(self.machine, device, step.kind, arr.size, arr.nbytes,
                                   copies, corr, launch)
        secs = copies_seconds(self.machine, copies)
        return Estimate(HOST, secs, copies_s=secs, bound="copies" if secs else "launch")

    def _estimate_split(self, step: Step, device: str, copies: Copies) -> Estimate:
        pair = tuple(device.split("+"))
        alone = [self._alone(step, d) for d in pair]
        est = estimate_split(self.machine, step.kernel, step.args, self._work(step), pair,
                             self.history, alone, pinned=self.device == device)
        if est is None:
            return Estimate(device, float("inf"), bound="split")  # not close: not offered
        est.copies_s = copies_seconds(self.machine, copies)  # to the host first, if needed
        est.seconds += est.copies_s
        return est

    def _alone(self, step: Step, device: str) -> float:
        """The predicted time of ``step`` on ``device`` alone with its data on the host
        and its results brought back there, as a split leaves them."""
        memory = memory_of(self.machine, device)
        copies = self._copies({}, step, memory)
        if memory != HOST:
            for name in dict.fromkeys(step.writes):
                copies.down += 1
                copies.down_bytes += int(self._nbytes.get(name, 0))
        return self.estimate(step, device, copies).seconds

    def _work(self, step: Step):
        """The launch's :class:`Work`, computed once per kernel, array shapes, thread
        counts and values of the scalars its loop trips read (a program of many RUNs of
        one kernel, as a Floyd–Warshall ``RUN fw d k`` per ``k``, analyses it once)."""
        if step.work is None:
            kernel = step.kernel
            key = (id(kernel), tuple(step.threads), tuple(
                (n, v.shape, v.dtype.str) if isinstance(v, np.ndarray) else
                (n, np.asarray(v).item() if n in trip_names(kernel) else None)
                for n, v in step.args.items()))
            found = self._works.get(key)
            if found is None or found[0] is not kernel:
                found = self._works[key] = (kernel, launch_work(kernel, step.args,
                                                                step.threads))
            step.work = found[1]
        return step.work

    def _compiled(self, device: str, kernel: ir.Kernel) -> bool:
        key = (device, id(kernel))
        if self._built.get(key, (None, False))[0] is kernel:
            return True
        if key in self._unbuilt:  # asked during this plan already (the backend is not)
            return False
        found = is_cached(device, kernel, self.checked) \
            or self.history.paid(fingerprint(kernel), device)  # (History.owe)
        if found:  # once built, a kernel stays built
            self._built[key] = (kernel, True)
        else:
            self._unbuilt.add(key)
        return found

    def _estimate_once(self, step: Step, device: str, copies: Copies) -> Estimate:
        """:meth:`estimate`, computed once per plan for each step, device and copies (the
        search asks for the same one from many residency states); a RUN's once per kernel
        and launch work (``_work``: many RUNs of one kernel at one size share it)."""
        what = (("run", id(step.kernel), id(self._work(step)))
                if step.kind == "run" and "+" not in device else step.index)
        key = (what, device, copies.up, copies.up_bytes, copies.down,
               copies.down_bytes, copies.memory)
        found = self._estimates.get(key)
        if found is None:
            found = self._estimates[key] = self.estimate(step, device, copies)
        return found


def statement_key(kind: str, device: str) -> str:
    """The name the overhead of a statement of ``kind`` (``run``, ``reduce``, ``sort``) on
    ``device`` is learned under (``planner/history``): ``RUN cuda``, ``SORT host``. A
    ``RUN`` of ``pxos run`` (its residency bookkeeping and first uses included) is kept
    apart from a Python kernel call, which keys its launch by the device alone."""
    return f"{kind.upper()} {device}"


def is_cached(device: str, kernel: ir.Kernel, checked: bool = False) -> bool:
    """Whether ``device`` has ``kernel`` built (``Backend.is_cached``; True for one that
    cannot be loaded here, whose estimate is moot)."""
    try:
        backend = backends.get(device)
    except PxBackendError:  # calibrated, but not loadable now: assume nothing to build
        return True
    return backend.is_cached(kernel, checked)


def features_of(kernel: ir.Kernel):
    """``ir.analysis.features.kernel_features`` of ``kernel``."""
    return kernel_features(kernel)
