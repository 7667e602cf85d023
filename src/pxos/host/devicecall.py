"""Prepared calls: a Python kernel called again on the same device arrays' shapes.

A ``@pxos.kernel`` call whose arrays already live where the kernel runs (CuPy arrays on
``cuda``) needs, after its first call, none of the work the general path does (typing the
arguments, asking the planner, checking each array, building the launch, the bounds check
before it): all of it depends only on the arguments' classes, dtypes, shapes and
contiguity, the scalars' values, and ``device=``. :func:`call_key` reads exactly those,
and :func:`prepare` keeps, per key, the launch the general path made the first time; a
call with that key is then one dictionary lookup and the backend's launch
(``backends/cuda_launch``). Anything else (NumPy arrays, copies to make, checked mode, a
thread count given) takes the general path (``host/pykernel``).

``PXOS_CHECKED`` is read by the general path only: a call prepared unchecked stays so if
the variable is set later in the process (reading the environment costs more than the rest
of a prepared call: ``os.environ.get`` of an unset name raises and catches a
``KeyError``). Set it before the process starts, or pass ``checked=True``. A kernel whose
thread counts read an array's elements (not only its extents) is never prepared.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

from pxos import registry
from pxos.backends.base import HOST, Launch
from pxos.host.arrays import library_of
from pxos.host.native_device_call import device_launcher
from pxos.host.pyargs import NUMBERS
from pxos.ir import nodes as ir

LIMIT = 256  # prepared calls kept per kernel (then forgotten, as planner/call's memo)
KEPT = 4  # native prepared calls a Kernel's call in C tries per device= (remember)

_NUMBER, _DEVICE, _OTHER = 0, 1, 2
_CLASSES: dict[type, int] = {t: _NUMBER for t in NUMBERS}


def _kind(cls: type) -> int:
    """How :func:`call_key` reads an argument of class ``cls``: a number, a CuPy array
    (its contiguity is a plain attribute, ``_c_contiguous``), or neither."""
    found = _CLASSES.get(cls)
    if found is None:
        found = _CLASSES[cls] = (_DEVICE if cls.__module__.startswith("cupy")
                                 and hasattr(cls, "_c_contiguous") else _OTHER)
    return found


def call_key(device: str | None, args: Sequence[Any]) -> tuple | None:
    """The key of a call's prepared launch: ``device=``, and per argument its class and,
    for a number, its value, for a CuPy array its dtype, shape and C-contiguity; None when
    an argument is neither (the general path handles it)."""
    key: list = [device]
    for a in args:
        cls = type(a)
        kind = _CLASSES.get(cls)
        if kind is None:
            kind = _kind(cls)
        if kind == _NUMBER:
            key += (cls, a)
        elif kind == _DEVICE:
            key += (cls, a.dtype, a.shape, a._c_contiguous)
        else:
            return None
    return tuple(key)


def prepare(plan: Any, args: Sequence[Any], launch: Launch) -> tuple | None:
    """A function of a call's arguments that launches as the general path just did for
    ``args`` (whose :func:`call_key` it will be kept under), with the native launcher of
    the same call where the backend has one (``host/native_device_call``; else None), or
    None when a call like this needs the general path each time: a host backend, a checked
    launch, or an array that is not in the backend's memory (copied in, or back).

    Args:
        plan: the ``host/pykernel.CallPlan`` that launched ``args``.
        args: that call's arguments, every array already in the backend's memory.
        launch: that call's launch (threads and block), reused.

    Returns:
        ``(call, native)``: ``call(args)`` launches; ``native(args)`` launches and gives
        ``LAUNCHED`` where ``args`` match those of this call, else ``NOT_TAKEN``.
    """
    memory = plan.backend.memory
    if plan.checked or plan.finishes or memory == HOST or _reads_elements(plan.kernel):
        return None
    if any(registry.memory_of_library(library_of(a)) != memory
           for a in args if type(a) not in NUMBERS):
        return None
    start = plan.backend.launch
    compiled = plan.compiled
    scalars = tuple((i, put(a)) for i, (put, a) in enumerate(zip(plan.puts, args))
                    if type(a) in NUMBERS)  # converted once: the key holds the value
    placed = list(args)
    for i, value in scalars:
        placed[i] = value
    native = device_launcher(plan.backend, compiled, args, placed, launch)
    if not scalars:
        def call(args):
            start(compiled, args, launch)
        return call, native

    def call_with_scalars(args):
        placed = list(args)
        for i, value in scalars:
            placed[i] = value
        start(compiled, placed, launch)
    return call_with_scalars, native


def remember(table: dict, device: str | None, native: tuple) -> None:
    """Put ``native`` (a native prepared call: ``(launcher, decision, plan, threads)``)
    first among those of ``device=`` in ``table`` (a Kernel's ``_device_native``: device=
    -> a tuple of them, the most recently used first, at most :data:`KEPT`), which a
    Kernel's call in C tries in turn (``host/native_call``'s ``Dispatch``). Kept per
    device= alone, one entry went to the signature prepared last: two signatures called
    in turn with one device= (``auto`` with a NumPy and a Python scalar) sent the other's
    calls down the Python path, 1.45x CuPy's ``RawKernel`` on the H200 against 0.92x."""
    kept = table.get(device, ())
    if kept and kept[0] is native:
        return
    table[device] = (native,) + tuple(n for n in kept if n is not native)[:KEPT - 1]


def _reads_elements(kernel: ir.Kernel) -> bool:
    """Whether ``kernel``'s thread counts load array elements (then they may change
    between calls with the same key)."""
    return any(isinstance(e, ir.Load) for t in kernel.threads for e in ir.subexprs(t))
