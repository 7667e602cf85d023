"""``@pxos.kernel``: a Python function as a kernel that Python code calls.

``saxpy(2.0, x, y, out)`` types the arguments, builds and checks the kernel's IR for that
argument signature once (``lang/py/frontend``), picks the device, puts each argument where
the kernel runs (``host/arrays``) and launches. Per call, after the first, the work is a
lookup of a :class:`CallPlan` by the arguments' kinds and types, the conversions it lists,
and the backend's launch.

Placement: ``device=`` (call or decorator) pins a backend; otherwise the planner
(``planner/call``) predicts each backend's time, counting the copies to where the kernel
runs and back to where the caller keeps each array (NumPy on the host; CuPy and CUDA
PyTorch on ``cuda``; a ``pxos.ndarray`` wherever it is current), and picks the fastest;
``Kernel.decision`` is the last such decision. On a device, a call returns once
the launch is queued on the current stream, as CuPy's kernels do; NumPy arrays passed to a
device kernel are copied up and the results copied back before the call returns.
"""

from __future__ import annotations

import functools
import weakref
from dataclasses import dataclass, field
from types import FunctionType
from typing import Any, Callable, Sequence

import numpy as np

from pxos import backends, events, registry
from pxos.backends.base import HOST, Launch, make_launch
from pxos.backends.checked import checked_by_default
from pxos.errors import PxArgumentError, PxTypeError
from pxos.host.arg_placement import placer
from pxos.host.call_decisions import CallDecisions
from pxos.host.devicecall import LIMIT as READY_LIMIT, call_key, prepare, remember
from pxos.host.native_call import AFTER_CALLS, FAULTED, LAUNCHED
from pxos.host.native_call import helper as dispatch_helper, launcher as native_launcher
from pxos.host.collection_call import CollectionArgument, collection_call
from pxos.host.distribute import split_call
from pxos.host.pyargs import (
    NUMBERS, arg_key, check_against, check_launch_size, overlaps, thread_counts, type_of,
)
from pxos.ir import nodes as ir
from pxos.ir.analysis.bounds import launch_checker
from pxos.ir.check import check_kernel
from pxos.host.launch_threads import thread_counts_of


@dataclass
class CallPlan:
    """Everything a call with one argument signature needs, made on its first call.

    Attributes:
        kernel: the checked IR.
        device: the backend's name; ``backend``, ``compiled`` its objects.
        place: per argument, a function from the argument to what the backend launches
            with, and one run after the launch (or None) that finishes the call: copying
            results back, marking a ``pxos.ndarray``'s device copy current.
        threads: a function of the arguments giving the thread counts.
    """

    kernel: ir.Kernel
    device: str
    backend: Any
    compiled: Any
    place: list[tuple[Callable, Callable | None]]
    threads: Callable[[Sequence], tuple[int, ...]]
    checked: bool = False
    calls: int = 0  # Python-path launches so far
    native: dict = field(default_factory=dict)  # pinned? -> host/native_call's launcher
    profiled: Any = None  # the events.LAUNCHES log that noted this plan's launch shape

    def __post_init__(self):
        self.puts = [put for put, _ in self.place]
        self.finishes = [(i, f) for i, (_, f) in enumerate(self.place) if f is not None]
        # checked runs (and interp, always checked) report each access as it happens
        self.bounds = (None if self.checked or registry.always_checked(self.device)
                       else launch_checker(self.kernel))  # ir/analysis/bounds
        self.unalias = overlaps(self.kernel, self.backend.memory == HOST)
        self.native_call = registry.native_calls(self.device)  # host/native_call


class Kernel:
    """A ``@pxos.kernel`` function (see the module docstring).

    Args:
        fn: the Python function (loop form or thread form; ``docs/tutorial.md``).
        block: threads per block (x first); needed with ``pxos.shared``/``sync_threads``.
        device: pin every call to this backend (``c``, ``interp``, ``cuda``, ``opencl``).
        checked: bounds-check every array access (as ``pxos run --checked``); also on
            when the environment sets ``PXOS_CHECKED=1``.

    Raises:
        PxArgumentError: ``fn`` is not a Python function (a builtin, a ``partial``).
    """

    def __init__(self, fn, block: Sequence[int] | None = None, device: str | None = None,
                 checked: bool = False):
        if not isinstance(fn, FunctionType):
            raise PxTypeError(f"pxos.kernel needs a Python function (a def), got {fn!r:.80}",
                              None, "write the kernel as a def; call helpers from inside it")
        functools.update_wrapper(self, fn)
        self.fn = fn
        self.checked = checked
        self.block = tuple(block) if block else None
        self.device = device
        self._plans: dict[tuple, CallPlan] = {}
        self._decisions = CallDecisions()  # host/call_decisions: under auto
        self.decision = None  # the planner's last Decision (planner/decision)
        self.distribution = None  # the last split launch (planner/distribute), devices=
        self._checked: dict[tuple, ir.Kernel] = {}
        self._ready: dict[tuple, tuple] = {}  # host/devicecall: call key -> (launch,
        # decision, its native prepared call or None)
        self._native: dict = {}  # call's device= -> (validated native launcher, plan)
        self._device_native: dict = {}  # device= -> native prepared calls (remember)

    def __reduce__(self):
        """Pickled as its function and options (``pxos.dask`` sends kernels to workers);
        plans and compiled code are made again where it is unpickled."""
        return Kernel, (self.fn, self.block, self.device, self.checked)

    # -- calling
    def __call__(self, *args, device: str | None = None, threads=None,
                 checked: bool | None = None, devices=None):
        """Run the kernel over ``args`` (in parameter order: arrays of NumPy, CuPy, PyTorch
        or ``pxos.ndarray``; Python or NumPy scalars).

        Args:
            device: a backend to run on, for this call.
            threads: thread counts (an int, or (x, y)) for a thread-form kernel; default
                one thread per element of the first array, or the parallel loop's range.
            checked: bounds-check every access for this call (default: the kernel's).
            devices: split the launch's rows across these devices (``["cuda:0",
                "cuda:1"]``; ``"auto"``: the planner chooses how many GPUs pay), NumPy
                arrays only (``host/distribute``); ``Kernel.distribution`` says how.

        Raises:
            PxError: the function is not a valid kernel (with its Python file and line),
                or the arguments do not fit its parameters (``host/pyargs``).
            PxBoundsError: an access out of bounds: found before the launch where the
                index is affine in the thread index (``ir/analysis/bounds``), else when
                checked, at the access's Python line.
            PxFaultError: the kernel crashed with a memory fault on ``c``.
        """
        if devices is not None:
            return self._split(args, devices, threads)
        simple = threads is None and checked is None
        # a listener sees the general path, unless a profile's log takes native launches
        if simple and (not events.LISTENERS or events.LAUNCHES is not None):
            native = self._native.get(device)  # host/native_call: checked, packed in C
            if native is not None:
                log = events.LAUNCHES  # profiled: the launcher records each launch in C
                if log is not None and native[1].profiled is not log:
                    log.note(native[1], args, native[1].threads(args), self.decision)
                done = native[0](args)
                if done == LAUNCHED:
                    return
                if done == FAULTED:
                    native[1].backend.check_fault(native[1].compiled)  # raises
            if self._ready and not events.LISTENERS:  # host/devicecall: device arrays
                ready = self._ready.get(call_key(device, args))
                if ready is not None:
                    self.decision = ready[1]
                    quick = ready[2]  # its native call: later calls of it go in C
                    if quick is not None:
                        remember(self._device_native, device, quick)
                        if quick[0](args) == LAUNCHED:
                            return
                    return ready[0](args)
            elif self._ready and events.LAUNCHES is not None:  # profiled: the launcher
                ready = self._ready.get(call_key(device, args))  # records in C (inline:
                quick = None if ready is None else ready[2]  # its record names the frame
                if quick is not None:  # calling this)
                    log = events.LAUNCHES
                    if quick[0] not in log.keys:
                        log.note_device(quick[0], quick[2], args, quick[3], quick[1])
                    if quick[0](args) == LAUNCHED:
                        self.decision = quick[1]
                        return
        try:
            plan, placed, launch = self._launch(args, device, threads, checked)
        except CollectionArgument as found:  # Dask arrays: a library's call
            return collection_call(found.args[0], self, args, device, threads, checked)
        for i, finish in plan.finishes:
            finish(args[i], placed[i])
        if not simple:
            return
        if plan.native_call and not plan.checked:
            self._go_native(device, plan, args)
            return
        key = call_key(device, args)  # None: an argument no prepared call reads
        ready = None if key is None else prepare(plan, args, launch)
        if ready is not None:
            if len(self._ready) >= READY_LIMIT:
                self._ready.clear()
            quick = None if ready[1] is None else (ready[1], self.decision, plan,
                                                   launch.threads)
            self._ready[key] = ready[0], self.decision, quick
            if quick is not None:
                remember(self._device_native, device, quick)
                self.__class__ = _native_class() if dispatch_helper() else type(self)

    _call = __call__  # the Python path, where a native Kernel's call in C sends the rest

    def _native_fault(self, plan: CallPlan) -> None:
        """A native launch of ``plan`` faulted: raise its ``PxFaultError``."""
        plan.backend.check_fault(plan.compiled)

    def _split(self, args: tuple, devices, threads) -> None:
        """A launch split across ``devices`` (``host/distribute``)."""
        kernel = self.ir(*args, threads=threads)
        self.distribution = split_call(kernel, args, devices, threads, thread_counts_of(kernel))

    def _go_native(self, device: str | None, plan: CallPlan, args: tuple) -> None:
        """After the Python path launched ``args`` (checks passed), let the native
        launcher of ``plan`` (built at its :data:`AFTER_CALLS`-th call) take later calls
        with the same sizes and scalars."""
        plan.calls += 1
        if plan.calls < AFTER_CALLS:
            return
        # new sizes are checked in C, and under auto placed (they may change the device)
        pinned = (device or self.device) not in (None, "auto")
        if pinned not in plan.native:  # auto: a launch's sizes give its decision
            check = plan.bounds if pinned else self._placed_check(plan, args)
            plan.native[pinned] = native_launcher(plan.backend, plan.compiled, plan.kernel,
                                                  check)
        native = plan.native[pinned]
        if native is not None and (pinned or self._decisions.settled(self.decision)
                                   and native.validate(args, self.decision)):
            self._native[device] = native, plan
            if type(self) is Kernel:  # later calls of this signature: in C
                self.__class__ = _native_class()

    def _placed_check(self, plan: CallPlan, args: tuple) -> Callable:
        """The check of ``plan``'s native launcher under ``auto`` (made at a call with
        ``args``) for new sizes or scalars: False (not taken) unless the planner places
        them on ``plan``'s device; then the launch check (``ir/analysis/bounds``), and
        the decision, which the launcher keeps with the sizes and makes the call's. It
        holds the Kernel weakly (the launcher is no object the cycle collector follows)."""
        bounds, me = plan.bounds, weakref.ref(self)
        signature = (None, tuple(map(arg_key, args)))  # the launcher takes no other

        def check(args: tuple, threads: tuple):
            kernel = me()
            placed = kernel and kernel._placement(args, None, None, signature)
            if not placed or placed != (plan.device, True):  # gone, elsewhere, unsettled
                return False
            if bounds is not None:
                bounds(args, threads)
            return kernel.decision
        return check

    async def launch_async(self, *args, device: str | None = None, threads=None,
                           checked: bool | None = None):
        """Like a call, awaited: the launch is queued on the current stream (``with
        pxos.stream():``), then the coroutine waits on a CUDA event in a worker thread (a
        blocking-sync event: no busy loop) while the event loop runs other tasks; host arrays
        are updated when it returns. On a CPU backend the launch runs in a worker thread."""
        import asyncio  # loaded already: an event loop runs this coroutine

        if registry.collection_of(args) is not None:
            raise PxArgumentError("launch_async takes arrays in memory; call the kernel "
                                  "with Dask arrays (lazy) and compute the result")
        loop = asyncio.get_running_loop()
        threads = thread_counts(threads)
        if backends.get(self._device_for(args, device, threads)).memory == HOST:
            return await loop.run_in_executor(None, functools.partial(
                self.__call__, *args, device=device, threads=threads, checked=checked))
        plan, placed, launch = self._launch(args, device, threads, checked)
        if plan.device == "cuda":
            import cupy

            event = cupy.cuda.Event(block=True, disable_timing=True)
            event.record()
            await loop.run_in_executor(None, event.synchronize)
        else:
            await loop.run_in_executor(None, plan.backend.synchronize)
        for i, finish in plan.finishes:
            finish(args[i], placed[i])

    def _launch(self, args: Sequence, device: str | None, threads, checked=None):
        threads = thread_counts(threads)
        keys = tuple(map(arg_key, args))
        if any(type(k) is tuple and len(k) == 1 for k in keys):  # a class of no known kind:
            collection = registry.collection_of(args)
            if collection is not None:
                raise CollectionArgument(collection)  # a Dask array: a library's call
        signature = (None if threads is None else len(threads), keys)
        checked = (self.checked or checked_by_default()) if checked is None else checked
        key = (self._device_for(args, device, threads, signature), checked) + signature
        plan = self._plans.get(key)  # the signature's packers, made at its first call
        if plan is None:
            if any(type(k) is tuple and len(k) == 1 for k in keys):
                self.ir(*args, threads=threads)  # an object of no known kind: refused
            plan = self._plans[key] = self._make_plan(args, key[0], threads, checked)
        placed = [put(a) for put, a in zip(plan.puts, args)]
        if threads is None:
            launch = Launch(plan.threads(args), plan.kernel.block)
            check_launch_size(launch.threads, plan.kernel.name)
        else:
            launch = make_launch(plan.kernel, threads)
        if plan.bounds is not None:
            plan.bounds(args, launch.threads)
        if plan.unalias is not None:
            placed = plan.unalias(args, placed)
        mark = events.begin("launch", plan.kernel.name, plan.device, None, {
            "kernel": plan.kernel, "args": placed, "threads": launch.threads,
            "backend": plan.backend, "decision": self.decision}) if events.LISTENERS else None
        plan.backend.launch(plan.compiled, placed, launch)
        if mark is not None:
            events.end(mark)
        return plan, placed, launch

    # -- the first call of a signature
    def ir(self, *args, threads=None) -> ir.Kernel:
        """The checked IR for these arguments (built once per argument signature)."""
        from pxos.lang.py.frontend import annotated_types, kernel_ir

        if len(args) != self.fn.__code__.co_argcount:
            raise PxArgumentError(f"kernel {self.fn.__name__!r} takes "
                                  f"{self.fn.__code__.co_argcount} arguments, got {len(args)}")
        names = self.fn.__code__.co_varnames[:len(args)]
        annotated = annotated_types(self.fn)
        types = {n: annotated.get(n) or type_of(a, n) for n, a in zip(names, args)}
        for n, a in zip(names, args):
            check_against(n, a, types[n])
        ndim = None if threads is None else len(threads)
        key = (tuple(types.items()), ndim)
        if key not in self._checked:
            self._checked[key] = check_kernel(kernel_ir(self.fn, types, ndim, self.block))
        return self._checked[key]

    def source(self, *args, target: str = "c", threads=None) -> str:
        """The generated code (``c``, ``cuda``, ``opencl``) for these arguments."""
        from pxos.codegen.targets import render_unit_for

        return render_unit_for(target, [self.ir(*args, threads=threads)])

    def _device_for(self, args: Sequence, device: str | None, threads=None, signature=None):
        return self._placement(args, device, threads, signature)[0]

    def _placement(self, args: Sequence, device: str | None, threads=None,
                   signature=None) -> tuple[str, bool]:
        """(the call's device: ``device=``, the kernel's, else the planner's decision,
        then ``self.decision``; whether it is settled: ``host/call_decisions``)."""
        device = device or self.device
        if device and device != "auto":
            backends.get(device)
            return device, True
        if signature is None:
            signature = (None if threads is None else len(threads), tuple(map(arg_key, args)))

        def place(amortized: bool):
            from pxos.planner.call import place_arguments
            kernel = self.ir(*args, threads=threads)
            return place_arguments(kernel, args, threads or thread_counts_of(kernel)(args),
                                   amortized)
        self.decision, settled = self._decisions.decide(args, threads, signature, place)
        return self.decision.device, settled

    def _make_plan(self, args: Sequence, name: str, threads, checked: bool) -> CallPlan:
        kernel = self.ir(*args, threads=threads)
        backend = backends.get(name)
        access = dict(kernel.access)
        place = [placer(p, a, backend.memory, "w" in access.get(p.name, ""))
                 for p, a in zip(kernel.params, args)]
        mark = events.begin("compile", kernel.name, name) if events.LISTENERS else None
        compiled = backend.compile(kernel, checked)
        if mark is not None:
            events.end(mark, compiled)
        return CallPlan(kernel, name, backend, compiled, place, thread_counts_of(kernel),
                        checked)


def kernel(fn=None, *, block: Sequence[int] | None = None, device: str | None = None,
           checked: bool = False):
    """Decorator: ``@pxos.kernel`` or ``@pxos.kernel(block=(256,), device="cuda",
    checked=True)``.

    Returns:
        A :class:`Kernel`.
    """
    if fn is None:
        return lambda f: Kernel(f, block, device, checked)
    return Kernel(fn, block, device, checked)


def _native_class() -> type:
    """``Kernel`` with its call in C (``host/native_call``'s ``Dispatch``): a Kernel becomes
    one (its ``__class__``) once a signature has a native launcher or a native prepared
    device call, and keeps its behaviour (``Dispatch`` adds no field, and sends what it
    does not launch to ``Kernel._call``)."""
    if not _NATIVE:
        base = dispatch_helper().Dispatch
        _NATIVE.append(type("NativeKernel", (Kernel, base), {
            "__call__": base.__call__, "__slots__": (), "__module__": __name__,
            "__doc__": Kernel.__doc__}))
    return _NATIVE[0]


_NATIVE: list = []  # [_native_class()], made once
