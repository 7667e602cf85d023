"""The native CPU backend ``c``: generated C with OpenMP, built by the system compiler.

Compiled kernels are shared libraries loaded with ctypes and cached twice: in memory per
process, and on disk (``backends/cache``) keyed by the source, the compiler's version, the
flags and the CPU (``-march=native``). Flags: ``-O3 -march=native -fopenmp`` (no
``-fwrapv``: integer overflow wraps, as docs/language.md defines, because a signed
operation that may overflow is computed unsigned, ``codegen/ranges``)
``-ffp-contract=off`` (no silent FMA, so float results match the interpreter)
``-fno-math-errno -fno-trapping-math``.

Array parameters of unchecked builds are declared ``restrict`` (``codegen/signature``).
Where an array the kernel writes overlaps another array argument of a launch (a `.px`
``RUN k a a``; Python kernel calls and the native launcher copy or refuse such arguments
before), that launch runs a second build without ``restrict``, made the first time one is
needed.
"""

from __future__ import annotations

import ctypes
import signal
import subprocess
import tempfile
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from pxos.backends import guard
from pxos.backends.base import HOST, Backend, Launch
from pxos.backends.c_compiler import FLAGS, built_library, compiler, load_library
from pxos.backends.cache import cache_key, store_entry
from pxos.backends.checked import new_flags, raise_violation
from pxos.codegen.c import CDialect, render_c
from pxos.codegen.c_packed import HELPERS as PACKED_HELPERS, packed_entry
from pxos.codegen.dialect import KernelSource, render_unit
from pxos.codegen.signature import AXES, launch_counts, scalar_param_type
from pxos.errors import PxBackendError, PxFaultError
from pxos.ir import nodes as ir
from pxos.ir.types import Array


_CTYPES = {
    "bool": ctypes.c_bool, "i8": ctypes.c_int8, "u8": ctypes.c_uint8,
    "i16": ctypes.c_int16, "u16": ctypes.c_uint16, "i32": ctypes.c_int32,
    "u32": ctypes.c_uint32, "i64": ctypes.c_int64, "u64": ctypes.c_uint64,
    "f32": ctypes.c_float, "f64": ctypes.c_double,
}


@dataclass
class CKernel:
    """A loaded kernel: the generated source, the library path and the ctypes function."""

    source: KernelSource
    library: Path
    function: Any
    cache_hit: bool
    packers: tuple = ()  # per parameter: None for an array, else the scalar's conversion
    overlaps: tuple = ()  # (written array, other array) argument positions to compare
    plain: "CKernel | None" = None  # the build without restrict, once a launch needed it


@cache
def compiler_identity(cc: str) -> str:
    """``cc --version``'s first line and the CPU model (the key of ``-march=native``)."""
    out = subprocess.run([cc, "--version"], capture_output=True, text=True).stdout
    cpu = ""
    try:
        cpu = next((ln for ln in Path("/proc/cpuinfo").read_text().splitlines()
                    if ln.startswith(("model name", "flags"))), "")
    except OSError:
        pass
    return (out.splitlines()[0] if out else cc) + "\n" + cpu


class CBackend(Backend):
    """Runs kernels as OpenMP C code (see the module docstring).

    Raises:
        PxBackendError: on construction if no C compiler is found.
    """

    name = "c"
    memory = HOST
    suffix = ".so"
    uniform_loops_vectorised = True  # codegen/interchange (see Backend)

    def __init__(self):
        super().__init__()
        self.cc = compiler()
        if self.cc is None:
            raise PxBackendError("no C compiler found (looked for $CC, cc, gcc, clang)",
                                 hint="install gcc, or run with --device interp")
        self.identity = compiler_identity(self.cc).splitlines()[0]
        self._fault = None  # the guard library's fault flag, loaded with the first kernel

    def render(self, kernel: ir.Kernel, checked: bool) -> tuple[KernelSource, str]:
        """The generated C of ``kernel`` and its cache key (source, compiler and CPU,
        flags)."""
        # not checked builds: they redirect a bad index of any empty array to one shared
        # scratch element
        return self._keyed(render_c(kernel, checked, guard=True, restrict=not checked))

    def _keyed(self, src: KernelSource) -> tuple[KernelSource, str]:
        return src, cache_key(src.source, compiler_identity(self.cc), " ".join(FLAGS))

    def build_artefact(self, src: KernelSource) -> tuple[bytes, None]:
        """The shared library of ``src``.

        Raises:
            PxBackendError: the compiler failed; the message holds its output.
        """
        return self._build(src), None

    def load(self, src: KernelSource, artefact) -> CKernel:
        """The library of ``artefact`` loaded with ctypes, typed for ``src``'s kernel."""
        self.load_guard()  # before any kernel: kernels link against it
        fn = getattr(load_library(self.cc, Path(artefact.path),
                                  f"kernel {src.kernel.name!r}", span=src.kernel.span),
                     src.entry)
        fn.restype = None
        fn.argtypes = _argtypes(src.kernel, src.checked)
        return CKernel(src, artefact.path, fn, artefact.hit, tuple(
            None if isinstance(p.type, Array) else scalar_param_type(p.type).dtype.type
            for p in src.kernel.params),
            _overlap_pairs(src.kernel) if "*restrict " in src.function else ())

    def load_guard(self) -> None:
        """Build (or find in the cache) and load the fault guard (``backends/guard``) now,
        as the first kernel's load would: calibration runs it beside the probe builds, so
        its compiler run is not left to follow them.

        Raises:
            PxBackendError: the compiler failed, or the handler could not be installed.
        """
        if self._fault is None:
            self._fault = guard.load(self.cc, compiler_identity(self.cc))

    def _build(self, *sources: KernelSource) -> bytes:
        """One shared library of ``sources`` (one translation unit: :func:`one_unit`),
        compiled in a temporary folder by one compiler run."""
        with tempfile.TemporaryDirectory(prefix="pxos-c-") as tmp:
            c_file = Path(tmp) / f"{sources[0].entry}.c"
            so_file = Path(tmp) / f"{sources[0].entry}.so"
            c_file.write_text(one_unit(sources))
            proc = subprocess.run([self.cc, *FLAGS, str(c_file), "-o", str(so_file),
                                   "-lm"], capture_output=True, text=True)
            names = ", ".join(repr(src.kernel.name) for src in sources)
            return built_library(self.cc, proc, so_file,
                                 f"kernel{'s' * (len(sources) > 1)} {names}",
                                 sources[0].kernel.span)

    def build_together(self, kernels: Sequence[ir.Kernel],
                       built: Callable[[str], bytes | None] | None = None
                       ) -> list[ir.Kernel]:
        """Build those of ``kernels`` (unchecked) that are not in the disk cache with one
        compiler run of one translation unit (:func:`one_unit`), and store the one
        library under every kernel's cache key, so a later :meth:`compile` loads it as if
        built alone (its other kernels' symbols are unused). One compiler start, header
        parse, assembly and link instead of one per kernel: about 0.06 s of CPU each as
        processes, 0.03 s more as files of one run (gcc 12 runs ``cc1`` and ``as`` per
        file; calibration's probes, issue 14).

        Args:
            built: given the unit's text, the library already built from exactly that
                text, or None (``planner/probe_source.EarlyBuild.library``).

        Returns:
            the kernels built here (those not cached, one per entry-point name).

        Raises:
            PxBackendError: the compiler failed.
        """
        todo: dict[str, tuple[ir.Kernel, KernelSource, str]] = {}
        for k in kernels:
            src, key = self._source(k, False)
            if src.entry not in todo and not self.is_cached(k):
                todo[src.entry] = (k, src, key)
        if todo:
            sources = [src for _, src, _ in todo.values()]
            data = (built and built(one_unit(sources))) or self._build(*sources)
            for _, _, key in todo.values():
                store_entry(self.name, key, self.suffix, data)
        return [k for k, _, _ in todo.values()]

    def launch(self, compiled: CKernel, args: Sequence[Any], launch: Launch) -> None:
        """Call the kernel; arrays (C-contiguous) are updated in place.

        Raises:
            PxBoundsError: a checked kernel indexed outside an array.
            PxFaultError: the kernel crashed with a memory fault (``backends/guard``).
        """
        if compiled.overlaps and any(np.may_share_memory(args[w], args[o])
                                     for w, o in compiled.overlaps):
            compiled = self._unrestricted(compiled)
        call = list(launch_counts(launch.threads))
        kernel = compiled.source.kernel
        for convert, a in zip(compiled.packers, args):  # packed as compile() planned
            if convert is None:
                call.append(_address(a) if a.size else _SCRATCH.ctypes.data)
                call.extend(a.shape)
            else:
                call.append(convert(a).item())
        if compiled.source.checked:
            err = new_flags()
            compiled.function(*call, err.ctypes.data)
            raise_violation(kernel, err, args)
        else:
            compiled.function(*call)
        self.check_fault(compiled)

    def _unrestricted(self, compiled: CKernel) -> CKernel:
        """The build of ``compiled``'s kernel without ``restrict`` (from the disk cache, or
        compiled now), for launches with overlapping arrays."""
        if compiled.plain is None:
            src = compiled.source
            compiled.plain = self._make(*self._keyed(render_c(src.kernel, src.checked,
                                                              guard=True)))
        return compiled.plain

    def check_fault(self, compiled: CKernel) -> None:
        """Raise ``PxFaultError`` if the last launch of ``compiled`` faulted (the guard
        library's flag, whose address :attr:`fault_address` gives native callers)."""
        if self._fault.value:
            _raise_fault(compiled.source.kernel, guard.take_fault(self._fault))

    @property
    def fault_address(self) -> int:
        """The address of the guard's ``int`` fault flag (after the first compile)."""
        return ctypes.addressof(self._fault)

    def synchronize(self) -> None:
        """C launches are synchronous."""


def one_unit(sources: Sequence[KernelSource]) -> str:
    """One C translation unit of the C dialect's ``sources`` (guarded, distinct entry
    names): the prelude once, each helper once (by name), then each kernel function and
    its packed entry without the word helpers it repeats; one source's own text as is.
    Each function compiles as in its own unit: they share only ``static inline``
    helpers and call nothing of each other's."""
    if len(sources) == 1:
        return sources[0].source
    d = CDialect()
    helpers = dict([("pxos_word", PACKED_HELPERS)])
    functions = []
    for src in sources:
        helpers.update(src.intrinsics)
        entry = packed_entry(src.kernel, d, src.checked)
        functions += [src.function, entry.removeprefix(PACKED_HELPERS)]
    return render_unit(d, list(helpers.items()), functions)


def _raise_fault(kernel: ir.Kernel, sig: int) -> None:
    """Raise the memory fault (signal ``sig``) that the guard caught in ``kernel``."""
    python = str(kernel.span.file).endswith(".py")
    raise PxFaultError(
        f"kernel {kernel.name!r} ({kernel.span.file}:{kernel.span.line}) crashed with a "
        f"memory fault on the c backend; rerun with "
        f"{'checked=True' if python else '--checked'}", kernel.span,
        f"{signal.Signals(sig).name}: an index out of bounds, most likely; "
        "arrays it writes may be partly written")


def _address(a: np.ndarray) -> int:
    """The address of ``a``'s first element (``a.ctypes.data``, four times faster)."""
    try:
        return ctypes.addressof(ctypes.c_char.from_buffer(a))
    except TypeError:  # a read-only array: no writable buffer to borrow
        return a.ctypes.data


# what an empty array's pointer points to: a checked kernel redirects a bad index to
# element 0, which must exist
_SCRATCH = np.zeros(2, dtype=np.float64)


def _overlap_pairs(kernel: ir.Kernel) -> tuple[tuple[int, int], ...]:
    """The argument positions ``(w, o)`` of each array ``w`` the kernel writes and each
    other array ``o``: the pairs that may not overlap under ``restrict``."""
    access = dict(kernel.access)
    arrays = [i for i, p in enumerate(kernel.params) if isinstance(p.type, Array)]
    written = [i for i in arrays if "w" in access.get(kernel.params[i].name, "")]
    return tuple((w, o) for w in written for o in arrays if o != w and (o not in written
                                                                        or o > w))


def _argtypes(kernel: ir.Kernel, checked: bool) -> list:
    types: list = [ctypes.c_int64] * AXES
    for p in kernel.params:
        if isinstance(p.type, Array):
            types.append(ctypes.c_void_p)
            types.extend([ctypes.c_int64] * p.type.ndim)
        else:
            types.append(_CTYPES[scalar_param_type(p.type).name])
    return types + [ctypes.c_void_p] * checked
