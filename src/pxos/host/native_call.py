"""Native launches of C kernels: a call or a RUN in about a microsecond.

Through Python, a launch on ``c`` costs tens of microseconds: argument conversion, checks,
and a ctypes call that converts ten arguments again. Numba's dispatcher does the same in
C. So does this module: ``native_call.c`` (beside this file) is a small CPython extension,
built like the kernels with the system C compiler (``-O2``, against this Python's and
NumPy's headers) the first time a kernel is launched often (:data:`AFTER_CALLS`), cached
on disk with them (``backends/cache``), and loaded once per process.

A :class:`Launcher <native_call.c>` holds one call signature of one compiled kernel: per
parameter its kind, NumPy type number, rank and whether the kernel writes it, and how the
thread counts follow from the arguments. Called with the argument tuple it checks each
argument as the Python path does (exact ``numpy.ndarray``, dtype, rank, C-contiguous,
native byte order, writeable where written, no two arrays overlapping where one is
written, at most ``MAX_ELEMENTS`` elements and threads; scalars whose conversion needs no
NumPy rule), packs the words of the kernel's packed entry (``codegen/c_packed``) and calls
it (with the GIL released for a launch of 4096 threads or more). A launch whose sizes,
thread counts or scalars differ from those of the last four checked is first checked by
the kernel's launch check (``ir/analysis/bounds``), as the Python path does. Anything else returns "not
taken" and the caller goes the Python way, which raises the same errors as before. Where no compiler, header or NumPy include folder is
found, :func:`launcher` returns None and every launch goes the Python way; so it does
with ``PXOS_NATIVE_CALL=0`` in the environment (to compare the two paths).
"""

from __future__ import annotations

import ctypes
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Callable

import numpy as np

from pxos import events
from pxos.backends.cache import cache_key, find_entry, store_entry
from pxos.errors import PxFileError
from pxos.ir import nodes as ir
from pxos.ir.types import BOOL, Array

AFTER_CALLS = 3  # the Python path serves the first calls of a signature (most run once)
SOURCE = Path(__file__).with_name("native_call.c")
FLAGS = ("-O2", "-fPIC", "-shared")
LAUNCHED, NOT_TAKEN, FAULTED = 0, 1, 2  # what a Launcher returns

_ARRAY, _INT, _UINT, _FLOAT, _BOOL = 1, 2, 3, 4, 5
_CONST, _SCALAR, _SIZE, _EXTENT = 0, 1, 2, 3
_lock = threading.Lock()
_module: list = []  # [the loaded module, or None where it cannot be built]
_extensions: dict = {}  # other helpers (extension()): name -> module, or None
_bound_lock = threading.Lock()
_bound: dict = {}  # helpers bound to a library (bound_extension()): name -> module, or None
_recording: list = []  # [True] while the profiler records launches (record_launches)
_log_serial: list = [0]  # the serial of the launch log recording now (watch_log)
_addresses: dict = {}  # (library, function) -> (its CDLL, the address), or (None, None)



def switched_off(*switches: str) -> bool:
    """Whether the C helpers are switched off: ``PXOS_NATIVE_CALL=0``, or one of
    ``switches`` (the names of a helper's own environment variables) set to ``0``."""
    return any(os.environ.get(name, "1") == "0" for name in ("PXOS_NATIVE_CALL", *switches))

def launcher(backend, compiled, kernel: ir.Kernel, check: Callable | None, kept: int = 4):
    """A native launcher for ``compiled`` (a ``CKernel`` of the ``c`` backend, unchecked)
    of checked ``kernel``, or None where the helper cannot be built here or the kernel has
    what it does not pack (an ``f16`` scalar, thread counts other than a constant, an
    integer parameter or an array's extent or size, more than 64 parameters).

    Args:
        check: ``launch_checker(kernel)`` (``ir/analysis/bounds``), called for a launch
            whose sizes, thread counts or scalars differ from those of each of the last
            ``kept`` (1 to 4) launches checked (so sizes called in turn are checked once
            each: 0.22 µs a call on c, against 1.45 µs with the last one only); a
            check that returns False (under ``auto``: the planner places that launch on
            another device), or None, does not take it; ``validate(args)`` records a
            launch the caller checked.

    Returns:
        A callable of the argument tuple giving :data:`LAUNCHED`, :data:`NOT_TAKEN` or
        :data:`FAULTED` (then ``backend.check_fault(compiled)`` raises); it raises what
        ``check`` raises.
    """
    if switched_off():
        return None
    params, threads = _params(kernel), _threads(kernel)
    if params is None or threads is None or len(params) > 64 or compiled.source.checked:
        return None
    module = _native_module(backend.cc)
    if module is None:
        return None
    address = _entry_address(str(compiled.library), compiled.source.entry + "_packed")
    if address is None:
        return None
    return module.Launcher(address, backend.fault_address, params, threads, check, kept)


def _entry_address(library: str, name: str) -> int | None:
    """The address of function ``name`` in shared library ``library`` (kept loaded), or
    None where it has none; found once per process (``ctypes.CDLL`` makes a class per
    library, 70 µs, where a program's loop launches a kernel in 0.3 µs)."""
    found = _addresses.get((library, name))
    if found is None:
        try:
            lib = ctypes.CDLL(library)
            found = lib, ctypes.cast(getattr(lib, name), ctypes.c_void_p).value
        except (OSError, AttributeError):  # a build without the packed entry
            found = None, None
        _addresses[(library, name)] = found
    return found[1]


def record_launches(on: bool) -> None:
    """Start (``on``) or stop recording every native launch in C (the profiler's launch
    record, ``lib/profile/recorder``): per launch that ran, the launcher, ``perf_counter``
    seconds before and after its kernel, and the code object and instruction offset of the
    frame that called the launcher's caller (None and -1 where there is none). A helper
    loaded later, while on, records from its start."""
    with _lock:
        _recording[:] = [True] if on else []
        if _module and _module[0] is not None:
            _module[0].record_launches(bool(on))


def watch_log(serial: int) -> None:
    """The serial of the profile's launch log that records now (0: none): a native Kernel
    call is recorded in C when its launcher was noted by that log (``Launcher.note``)."""
    with _lock:
        _log_serial[0] = serial
        if _module and _module[0] is not None:
            _module[0].watch_log(serial)


def recorded_launches() -> list:
    """The launches recorded since the last call, as ``(launcher, start_s, end_s, code,
    lasti)`` tuples in launch order (empty where the helper is not loaded)."""
    with _lock:
        module = _module[0] if _module else None
    return [] if module is None else module.recorded_launches()


def _params(kernel: ir.Kernel) -> tuple | None:
    access = dict(kernel.access)
    out = []
    for p in kernel.params:
        if isinstance(p.type, Array):
            out.append((_ARRAY, p.type.elem.dtype.num, p.type.ndim,
                        int("w" in access.get(p.name, "")), 0))
        elif p.type == BOOL:
            out.append((_BOOL, np.dtype(np.bool_).num, 0, 0, 8))
        elif p.type.is_float and p.type.bits in (32, 64):
            out.append((_FLOAT, p.type.dtype.num, 0, 0, p.type.bits))
        elif p.type.is_float:
            return None  # f16 rounds through half: the Python path converts it
        else:
            out.append((_UINT if p.type.kind == "u" else _INT, p.type.dtype.num, 0, 0,
                        p.type.bits))
    return tuple(out)


def _threads(kernel: ir.Kernel) -> tuple | None:
    """The thread counts as (kind, parameter or constant, axis) per axis, or None."""
    index = {p.name: (i, p) for i, p in enumerate(kernel.params)}
    out = []
    for e in kernel.threads:
        while isinstance(e, ir.Cast):
            e = e.operand
        if isinstance(e, ir.Const) and isinstance(e.value, int) and 0 <= e.value < 2**31:
            out.append((_CONST, int(e.value), 0))
        elif isinstance(e, ir.Var) and e.name in index and not isinstance(
                index[e.name][1].type, Array) and index[e.name][1].type.kind in "iu":
            out.append((_SCALAR, index[e.name][0], 0))
        elif isinstance(e, ir.Dim) and e.array in index:
            i = index[e.array][0]
            out.append((_SIZE, i, 0) if e.axis is None else (_EXTENT, i, e.axis))
        else:
            return None
    return tuple(out)


def helper():
    """The helper module, built or loaded now where it is not yet (None where it cannot be
    built here: no C compiler, ``PXOS_NATIVE_CALL=0``). Its ``Dispatch`` also serves a
    Kernel's prepared calls on device arrays (``host/pykernel``)."""
    if _module:
        return _module[0]
    from pxos.backends.c import compiler  # (not at import: pxos's start-up)

    cc = compiler()
    if cc is None or switched_off():
        return None
    return _native_module(cc)


def _native_module(cc: str):
    """The built and loaded extension module, or None where it cannot be built."""
    with _lock:
        if not _module:
            _module.append(_load(cc))
            if _module[0] is not None:
                _module[0].watch_events(vars(events))
                _module[0].record_launches(bool(_recording))
                _module[0].watch_log(_log_serial[0])
        return _module[0]


def loaded():
    """The helper module if this process built or loaded it already (a launcher was
    made), else None; never builds. Its ``Dispatch`` is the base of a native
    ``host/pykernel`` Kernel call, its ``repeat`` a host loop of native RUN launches
    (``host/run_loop``)."""
    return _module[0] if _module else None


def extension(cc: str, source: Path, name: str):
    """The CPython extension module ``name`` built from C file ``source`` with compiler
    ``cc`` (as this module's helper is: ``FLAGS``, this Python's and NumPy's headers),
    cached on disk by the source, compiler, Python and NumPy versions and loaded once per
    process; None where it cannot be built or loaded here."""
    with _lock:
        if name not in _extensions:
            _extensions[name] = _load(cc, source, name)
        return _extensions[name]


def bound_extension(source: Path, name: str, switch: str,
                    addresses: Callable[[], list | None],
                    check: Callable[[object], bool] | None = None):
    """The extension ``name`` built from C file ``source`` (:func:`extension`) and bound,
    once per process, to the function addresses (integers) that ``addresses()`` gives:
    functions of a library Python has loaded already (libcrypto, liblz4, the crc32c
    package's), so the helper needs neither that library's headers nor a link. None where
    ``switch`` or ``PXOS_NATIVE_CALL`` is 0, where ``addresses()`` is None (the library
    or one of its functions is missing), where the helper cannot be built, or where
    ``check(module)`` (a test of the bound helper against the library's own API) fails."""
    with _bound_lock:
        if name not in _bound:
            _bound[name] = _bind(source, name, switch, addresses, check)
        return _bound[name]


def _bind(source: Path, name: str, switch: str, addresses, check):
    if switched_off(switch):
        return None
    found = addresses()
    if found is None:
        return None
    from pxos.backends.c import compiler

    cc = compiler()
    module = None if cc is None else extension(cc, source, name)
    if module is None:
        return None
    module.bind(*found)
    return module if check is None or check(module) else None


def extension_loaded(name: str):
    """The helper ``name`` if :func:`extension` has loaded it in this process, else None
    (nothing is built)."""
    with _lock:
        return _extensions.get(name)


def _load(cc: str, path: Path = SOURCE, name: str = "pxos_native_call"):
    import importlib.machinery
    import importlib.util
    import sysconfig

    include = Path(sysconfig.get_paths()["include"])
    if not (include / "Python.h").exists():
        return None
    source = _source(path)
    key = cache_key(source, cc, sys.version, np.__version__, " ".join(FLAGS))
    suffix = f".{name}.so"
    try:
        found = find_entry("c", key, suffix)
        built = None if found else _build(cc, include, source)
        if found is None and built is None:
            return None
        library = found[0] if found else store_entry("c", key, suffix, built)
    except (OSError, PxFileError, subprocess.SubprocessError):
        return None  # an unwritable cache, a missing compiler: the Python path serves
    loader = importlib.machinery.ExtensionFileLoader(name, str(library))
    spec = importlib.util.spec_from_file_location(name, library, loader=loader)
    try:
        module = importlib.util.module_from_spec(spec)
        loader.exec_module(module)
    except ImportError:  # a cache folder on a noexec mount, another NumPy ABI
        return None
    return module


def _source(path: Path) -> str:
    """The C file's text with each ``#include "NAME"`` of a file beside it pasted in (the
    build compiles one text in a temporary folder, and that text is the cache key)."""
    out = []
    for line in path.read_text().splitlines(keepends=True):
        name = line.split('"')[1] if line.startswith('#include "') else None
        beside = path.with_name(name) if name else None
        out.append(beside.read_text() if beside is not None and beside.exists() else line)
    return "".join(out)


def _build(cc: str, include: Path, source: str) -> bytes | None:
    import tempfile

    with tempfile.TemporaryDirectory(prefix="pxos-call-") as tmp:
        c_file, so_file = Path(tmp) / "native_call.c", Path(tmp) / "native_call.so"
        c_file.write_text(source)
        proc = subprocess.run([cc, *FLAGS, f"-I{include}", f"-I{np.get_include()}",
                               str(c_file), "-o", str(so_file)], capture_output=True)
        return so_file.read_bytes() if proc.returncode == 0 else None
