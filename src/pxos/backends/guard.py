"""The C backend's memory-fault guard library, built once and loaded before any kernel.

Every kernel the C backend builds is guarded (``codegen/guard``): its OpenMP threads arm
a per-thread jump buffer here. This library holds the one SIGSEGV/SIGBUS handler of the
process (kernels come in many shared libraries, the handler and the per-thread buffer
must be one), installed with ``SA_ONSTACK`` (each guarded thread gets an alternate signal
stack the first time it arms, so a stack overflow is caught too) and ``SA_NODEFER``.

A fault in an armed thread records its signal in ``pxos_guard_fault`` and jumps back
into the kernel, which ends that thread's share of the launch; the backend then reads and
clears the flag (:func:`take_fault`). A fault anywhere else (pxos itself, NumPy, an
unguarded library) goes to the handler that was there before, as if the guard were not.

The library also holds the block pool that runs a launch's blocks on the cores
(``backends/block_pool``): one per calling thread, shared by every kernel.
"""

from __future__ import annotations

import ctypes
import os
import subprocess
import tempfile
import threading
from pathlib import Path

from pxos.backends import block_pool
from pxos.backends.c_compiler import built_library, load_library
from pxos.backends.cache import cache_key, find_entry, store_entry
from pxos.errors import PxBackendError

GUARD = "pxos's memory-fault guard"  # what a build error names

SOURCE = r"""
#define _GNU_SOURCE
#include <setjmp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

volatile sig_atomic_t pxos_guard_fault = 0;
static struct sigaction pxos_old[2];
static __thread sigjmp_buf *pxos_jump = 0;
static __thread int pxos_stack_ready = 0;

static void pxos_on_fault(int sig, siginfo_t *info, void *ctx)
{
    (void)info; (void)ctx;
    sigjmp_buf *jb = pxos_jump;
    if (jb) {
        pxos_jump = 0;
        pxos_guard_fault = sig;
        siglongjmp(*jb, 1);
    }
    /* not inside a guarded kernel: put the previous handler back; the faulting
       instruction runs again and meets it */
    sigaction(sig, &pxos_old[sig == SIGBUS], 0);
}

int pxos_guard_install(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = pxos_on_fault;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGSEGV, &sa, &pxos_old[0]) != 0) return -1;
    if (sigaction(SIGBUS, &sa, &pxos_old[1]) != 0) return -1;
    return 0;
}

void pxos_guard_arm(sigjmp_buf *jb)
{
    if (!pxos_stack_ready) {
        stack_t old;
        pxos_stack_ready = 1;
        if (sigaltstack(0, &old) == 0 && (old.ss_flags & SS_DISABLE)) {
            stack_t ss;
            ss.ss_size = 1 << 16;
            ss.ss_sp = malloc(ss.ss_size);
            ss.ss_flags = 0;
            if (ss.ss_sp) sigaltstack(&ss, 0);
        }
    }
    pxos_jump = jb;
}

void pxos_guard_disarm(void)
{
    pxos_jump = 0;
}
"""

_lock = threading.Lock()
_loaded: list[ctypes.c_int] = []


def load(cc: str, identity: str) -> ctypes.c_int:
    """Build (or find in the cache), load with ``RTLD_GLOBAL`` and install the guard
    library once per process; returns its ``pxos_guard_fault`` flag.

    Args:
        cc: the C compiler; identity: its ``compiler_identity`` (part of the cache key).

    Raises:
        PxBackendError: the compiler failed, or the handler could not be installed.
    """
    with _lock:
        if _loaded:
            return _loaded[0]
        flags = ("-O2", "-fPIC", "-shared", "-pthread")
        key = cache_key(SOURCE + block_pool.source(), identity, " ".join(flags))
        found = find_entry("c", key, ".guard.so")  # verified: a damaged entry is rebuilt
        lib = found[0] if found else store_entry("c", key, ".guard.so", _build(cc, flags))
        handle = load_library(cc, Path(lib), GUARD, os.RTLD_NOW | os.RTLD_GLOBAL)
        if handle.pxos_guard_install() != 0:
            raise PxBackendError("could not install the C backend's memory-fault handler")
        _loaded.append(ctypes.c_int.in_dll(handle, "pxos_guard_fault"))
        return _loaded[0]


def _build(cc: str, flags: tuple[str, ...]) -> bytes:
    with tempfile.TemporaryDirectory(prefix="pxos-guard-") as tmp:
        c_file, so_file = Path(tmp) / "guard.c", Path(tmp) / "guard.so"
        c_file.write_text(SOURCE + block_pool.source())
        proc = subprocess.run([cc, *flags, str(c_file), "-o", str(so_file)],
                              capture_output=True, text=True)
        return built_library(cc, proc, so_file, GUARD)


def take_fault(flag: ctypes.c_int) -> int:
    """The signal of a fault since the last call (0: none), clearing it."""
    sig = flag.value
    if sig:
        flag.value = 0
    return sig
