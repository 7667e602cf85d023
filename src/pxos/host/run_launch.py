"""One `.px` ``RUN`` statement's launch on one backend, prepared once and repeated.

A ``RUN`` in a host loop launches the same kernel with the same argument names many
times. :class:`RunLaunch` holds what does not change between those launches (the backend,
the compiled kernel, which arguments are arrays and which of them the kernel writes, the
launch check) and, on the ``c`` backend from its :data:`AFTER_CALLS <host.native_call>`-th
launch, a native launcher (``host/native_call``) that checks, packs and launches in C.
Where the native launcher does not take a launch (an argument it does not pack, a launch
too large), the Python path runs it and raises what it finds.
"""

from __future__ import annotations

from typing import Sequence

from pxos import backends, events, registry
from pxos.backends.base import HOST, make_launch
from pxos.host.native_call import AFTER_CALLS, FAULTED, LAUNCHED
from pxos.host.residency import NO_TRANSFERS, Transfers
from pxos.host.native_call import launcher as native_launcher
from pxos.ir import nodes as ir
from pxos.ir.analysis.bounds import launch_checker
from pxos.ir.types import Array


class RunLaunch:
    """The launches of ``RUN`` statement ``stmt`` of checked ``kernel`` on backend ``name``.

    Args:
        checked: bounds-check every access (``--checked``): no launch check before, no
            native launcher.
    """

    def __init__(self, stmt: ir.Run, kernel: ir.Kernel, name: str, checked: bool):
        self.kernel, self.name = kernel, name
        self.backend = backends.get(name)
        self.compiled = self.backend.compile(kernel, checked)
        access = dict(kernel.access)
        self.arrays = [(i, a.name) for i, (a, p) in enumerate(zip(stmt.args, kernel.params))
                       if isinstance(p.type, Array)]
        self.written = [a.name for a, p in zip(stmt.args, kernel.params)
                        if isinstance(p.type, Array) and "w" in access.get(p.name, "")]
        # checked builds and an always-checked backend check each access as it runs
        self.check = None if checked or registry.always_checked(name) \
            else launch_checker(kernel)
        # per argument: (its expression, None for an array or its parameter's NumPy type)
        self.operands = [(a, None if isinstance(p.type, Array) else p.type.dtype.type)
                         for a, p in zip(stmt.args, kernel.params)]
        self.native = None
        self.launches = 0  # those made, natively or not, through launch()
        self.native_at = None  # launches made when the native launcher was (to be) made
        self.may_go_native = registry.native_calls(name) and not checked
        # the scalar arguments read no name (constants): the argument tuple of a native
        # launch holds while the residency's version does (same arrays, on the host)
        self.constant = all(t is None or not any(
            isinstance(x, (ir.Var, ir.Load, ir.Dim)) for x in ir.subexprs(a))
            for a, t in self.operands)
        self._ready: tuple = (None, ())  # (residency version, argument tuple)

    def native_launch(self, run, stmt: ir.Run) -> Transfers | None:
        """Launch ``stmt`` natively if every scalar argument already has its parameter's
        type and the launcher takes it (checks, launch, arrays marked written); None:
        nothing ran, the caller goes the general way. Where the arguments are the last
        launch's (constant scalars, and the residency's version unchanged since: the same
        host arrays, current on the host and written there last), the tuple is reused and
        nothing needs marking or copying.

        Returns:
            the copies between host and device the launch made (fetching its arrays).

        Raises:
            PxBoundsError, PxFaultError: as :meth:`launch`.
        """
        residency = run.residency
        version, args = self._ready
        if version != residency.version:
            moved = residency.transfers
            before = (moved.to_device, moved.to_host, moved.bytes_to_device,
                      moved.bytes_to_host)
            args = []
            for a, t in self.operands:
                if t is None:
                    args.append(residency.on_host(a.name))
                    continue
                v = run.evaluate(a)
                if type(v) is not t:  # a conversion to make, a type to check: general way
                    return None
                args.append(v)
            args = tuple(args)
            version = None
        done = self.native(args)
        if done == FAULTED:
            self.backend.check_fault(self.compiled)  # raises PxFaultError
        if done != LAUNCHED:
            return None
        if version is not None:
            return NO_TRANSFERS
        for name in self.written:
            residency.written(name, HOST)
        if self.constant:
            self._ready = (residency.version, args)
        after = (moved.to_device, moved.to_host, moved.bytes_to_device, moved.bytes_to_host)
        return NO_TRANSFERS if after == before else \
            Transfers(*(a - b for a, b in zip(after, before)))

    def repeated_args(self, residency) -> tuple | None:
        """The argument tuple that every later native launch repeats while the residency's
        version stays (constant scalars, the same host arrays, current on the host and
        written there last: the launch changes nothing but the arrays' contents), or
        None: no native launcher, or the tuple is not known to hold."""
        version, args = self._ready
        if self.native is None or not self.constant or version != residency.version:
            return None
        return args

    def release(self) -> None:
        """Forget the argument tuple kept for the next launch (its arrays are a run's;
        ``host/program_memo`` keeps this launch for the program's later runs)."""
        self._ready = (None, ())

    def launch(self, residency, args: list, threads: Sequence[int]) -> None:
        """Launch with ``args`` (arrays as the host arrays, for their shapes; scalars
        converted to their parameters' types) over ``threads``, wait for it, and mark the
        arrays it writes as written where it ran.

        Raises:
            PxBoundsError: the launch check refused it (``ir/analysis/bounds``).
            PxFaultError: the kernel crashed with a memory fault on ``c``.
        """
        memory = self.backend.memory
        if self.native is not None:
            for i, name in self.arrays:
                args[i] = residency.on_host(name)
            done = self.native(tuple(args))  # checks new sizes itself
            if done == FAULTED:
                self.backend.check_fault(self.compiled)  # raises PxFaultError
            if done == LAUNCHED:
                for name in self.written:
                    residency.written(name, HOST)
                self.launches += 1
                return
        if self.check is not None:
            self.check(args, threads)  # refuse a launch out of bounds
        for i, name in self.arrays:
            args[i] = (residency.on_host(name) if memory == HOST
                       else residency.on_device(memory, name))
        self.backend.launch(self.compiled, args, make_launch(self.kernel, threads))
        self.backend.synchronize()
        for name in self.written:
            residency.written(name, memory)
        self.launches += 1
        if self.launches == AFTER_CALLS:
            self.go_native()

    @property
    def warming(self) -> bool:
        """Whether the last launch may have gone a way the later ones will not: it was
        the first (which prepared it: launch checks, a backend's first calls), or it went
        the Python way before the native launcher was made (on ``c``, after
        :data:`AFTER_CALLS <host.native_call>` launches; a host loop's, before its first).
        A warming launch's time says little of the later ones' on a short kernel: on the
        H100 machine a ``RUN`` of Floyd–Warshall on 500 × 500 took 32–55 µs on ``c`` so,
        and 12 µs natively."""
        if self.may_go_native and self.native_at is None:
            return True
        return self.launches <= max(1, self.native_at or 0)

    def go_native(self) -> None:
        """Make the native launcher now (``launch`` makes it at the :data:`AFTER_CALLS
        <host.native_call>`-th launch; a host loop of many iterations, at the first)."""
        if self.may_go_native and self.native is None:
            self.native = native_launcher(self.backend, self.compiled, self.kernel,
                                          self.check)
            self.native_at = self.launches


def observed_launch(run, stmt: ir.Run, kernel: ir.Kernel, args: list, name: str,
                    threads: Sequence[int]) -> None:
    """``stmt``'s launch on backend ``name`` with the compile and launch events a profile
    listens to (``pxos.events``; ``lib/profile``), through the Python path: what
    :meth:`RunLaunch.launch` does, observed. ``run`` is the ``ProgramRun``.

    Raises:
        PxBoundsError, PxFaultError: as :meth:`RunLaunch.launch`.
    """
    backend = backends.get(name)
    mark = events.begin("compile", kernel.name, name, stmt.span)
    compiled = backend.compile(kernel, run.checked)
    events.end(mark, compiled)
    if not run.checked and not registry.always_checked(name):  # those check as they run
        launch_checker(kernel)(args, threads)  # refuse a launch out of bounds
    memory = backend.memory
    placed = [
        (run.residency.on_host(a.name) if memory == HOST
         else run.residency.on_device(memory, a.name)) if isinstance(p.type, Array)
        else v for a, v, p in zip(stmt.args, args, kernel.params)]
    mark = events.begin("launch", kernel.name, name, stmt.span, {
        "kernel": kernel, "args": placed, "threads": threads, "backend": backend,
        "decision": run._decision})
    backend.launch(compiled, placed, make_launch(kernel, threads))
    backend.synchronize()
    events.end(mark)
    access = dict(kernel.access)
    for a, p in zip(stmt.args, kernel.params):
        if "w" in access.get(p.name, ""):
            run.residency.written(a.name, memory)
