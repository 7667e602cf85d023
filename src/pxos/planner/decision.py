"""A placement decision as data: where a statement runs, what each device was predicted
to take, why, and (after the run) what it took."""

from __future__ import annotations

from dataclasses import dataclass, field

from pxos.planner.model import Copies, Estimate
from pxos.planner.reason import seconds

TAUGHT = 3  # executions a decision teaches (the history takes their median) before settled


@dataclass(repr=False)
class Decision:
    """Where one statement runs and why.

    Attributes:
        line: the statement's line in its file; statement: its text.
        device: the chosen backend (``c``, ``cuda``, ``opencl``, ``interp``) or ``host``
            (NumPy, for library operations and host statements).
        predicted: predicted seconds per candidate device, fastest first.
        estimates: the :class:`Estimate` behind each prediction.
        reason: the decision in words.
        pinned: ``--device``, ``device=`` or ``GPU_TARGET`` chose, not the model.
        features: the cost features the model read (threads, bytes, operations …).
        copies: the copies the chosen placement makes.
        measured: seconds the statement took, once it has run.
        teaches: its measured time teaches the history (``planner/history``); False for
            the copies of a decision shared by many statements alike beyond the first few
            (``planner/ahead.PlanFollower.alike``), which only record it.
        taught: how many of its executions taught the history (those whose launch was in
            its final form: ``Planner.learn``).
        settled: its measured times have taught what they will: set once :data:`TAUGHT`
            executions taught, or by any of a decision that does not teach. A decision
            kept for the program's next runs teaches there until then: each ``RUN`` of a
            straight program runs once a run, and its first runs in a process are warming
            (``host/run_launch.RunLaunch.warming``); on the 2-core machine the first
            native launch of each still took 2-3x the later ones, so one taught time is
            not enough.
        forgoes: for a ``RUN``, each device predicted faster than the chosen one once the
            kernel is built there, but not built yet: (device, its predicted seconds
            without the build, the build's seconds); what runs on the chosen device owe
            that build (``History.owe``).
    """

    line: int
    statement: str
    device: str
    predicted: dict[str, float] = field(default_factory=dict)
    estimates: dict[str, Estimate] = field(default_factory=dict)
    reason: str = ""
    pinned: bool = False
    features: dict = field(default_factory=dict)
    copies: Copies = field(default_factory=Copies)
    measured: float | None = None
    fingerprint: str = ""  # the kernel or operation, for planner/history
    size: int = 0  # threads (a launch) or elements (a library operation)
    launch_key: str = ""  # whose launch overhead the run teaches (planner/history)
    teaches: bool = True
    taught: int = 0
    settled: bool = False
    forgoes: tuple = ()

    def for_statement(self, line: int, statement: str, teaches: bool = True) -> "Decision":
        """This decision as that of another statement alike (``planner/alike``), at
        ``line`` with text ``statement``, not yet measured (its predictions, estimates and
        features are shared, read only)."""
        mine = object.__new__(Decision)  # copy.copy's own path costs 5x more
        mine.__dict__.update(self.__dict__)
        mine.line, mine.statement, mine.measured, mine.teaches = line, statement, None, \
            teaches
        mine.settled, mine.taught = False, 0
        return mine

    def taught_once(self) -> None:
        """One more execution taught the history: settled after :data:`TAUGHT`."""
        self.taught += 1
        self.settled = self.taught >= TAUGHT

    def explain_lines(self) -> list[str]:
        """The lines ``pxos explain`` prints under the statement: predicted time per device
        (fastest first), ``→ reason``, and once run the measured time and the error."""
        lines = []
        if self.predicted:
            lines.append("predicted: " + " · ".join(
                f"{dev} {seconds(t)}" for dev, t in self.predicted.items()))
        lines.append(f"→ {self.reason}")
        if self.measured is not None:
            err = self.error
            lines.append(f"measured: {seconds(self.measured)} on {self.device}"
                         + (f" (prediction error {err:+.0%})" if err is not None else ""))
        return lines

    def __repr__(self) -> str:
        where = f"line {self.line} " if self.line else ""
        head = f"<Decision {where}`{self.statement}` on {self.device}"
        return "\n  ".join([head, *self.explain_lines()]) + ">"

    def learn(self, history, measured: float, warming: bool = False) -> None:
        """Record that the statement took ``measured`` seconds on :attr:`device` and
        teach ``history`` (a ``planner.history.History``) from it (``warming``: its
        launch not yet in its final form, ``History.learn``)."""
        self.measured = measured
        est = self.estimates.get(self.device)
        if est is not None and self.fingerprint:
            history.learn(self.fingerprint, self.launch_key or self.device, self.size, est,
                          measured, warming)
        alone = [t for d, t in self.predicted.items() if "+" not in d]
        if "+" in self.device and self.fingerprint and alone and measured > min(alone):
            # a HYBRID split that lost to a device alone: one loss withdraws it
            history.withdraw(self.fingerprint, self.device, self.size,
                             measured / min(alone))

    @property
    def error(self) -> float | None:
        """(predicted − measured) ÷ measured for the chosen device, once measured."""
        if self.measured is None or self.device not in self.predicted:
            return None
        return (self.predicted[self.device] - self.measured) / max(self.measured, 1e-12)

    def as_dict(self) -> dict:
        """The decision as JSON-ready data (``pxos explain --json``)."""
        return {
            "line": self.line, "statement": self.statement, "device": self.device,
            "reason": self.reason, "pinned": self.pinned,
            "predicted_s": dict(self.predicted),
            "estimates": {d: e.as_dict() for d, e in self.estimates.items()},
            "features": self.features,
            "copies": {"to_device": self.copies.up, "to_device_bytes": self.copies.up_bytes,
                       "to_host": self.copies.down, "to_host_bytes": self.copies.down_bytes},
            "measured_s": self.measured, "error": self.error,
        }
