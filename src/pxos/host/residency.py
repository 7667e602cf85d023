"""Where each array of a running program lives, and the transfers that keep it current.

Every array has a host copy (a NumPy array: its shape and dtype, and the data when the host
copy is current) and at most one copy per device memory (``cuda``, ``opencl``). A statement
asks for an array where it runs: :meth:`Residency.on_host` for host statements
(``WRITE_FILE``, ``PRINT``, ``VERIFY``, ``REDUCE``, …), :meth:`Residency.on_device` for a
launch on a device backend. Data moves only when the place asked for does not hold the
current contents, so a chain of launches on one device transfers each input once and each
result only when the host reads it. A freshly allocated array is all zeros everywhere: a
device makes its copy with ``zeros`` and no transfer.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import numpy as np

from pxos import events
from pxos.backends.base import HOST
from pxos.host.interrupt import current, waiting
from pxos.units import format_bytes

ZEROS = "zeros"  # a place marker: the contents are all zeros, materialised anywhere for free


@dataclass
class Transfers:
    """Counts of copies between host and devices.

    Attributes:
        to_device, to_host: number of copies each way.
        bytes_to_device, bytes_to_host: bytes copied each way.
    """

    to_device: int = 0
    to_host: int = 0
    bytes_to_device: int = 0
    bytes_to_host: int = 0

    def up(self, nbytes: int) -> None:
        """Count one copy of ``nbytes`` bytes from the host to a device."""
        self.to_device += 1
        self.bytes_to_device += nbytes

    def down(self, nbytes: int) -> None:
        """Count one copy of ``nbytes`` bytes from a device to the host."""
        self.to_host += 1
        self.bytes_to_host += nbytes

    def __sub__(self, other: "Transfers") -> "Transfers":
        return Transfers(self.to_device - other.to_device, self.to_host - other.to_host,
                         self.bytes_to_device - other.bytes_to_device,
                         self.bytes_to_host - other.bytes_to_host)

    def copy(self) -> "Transfers":
        return Transfers(self.to_device, self.to_host, self.bytes_to_device,
                         self.bytes_to_host)

    def __str__(self) -> str:
        return (f"{self.to_device} to device ({format_bytes(self.bytes_to_device)}), "
                f"{self.to_host} to host ({format_bytes(self.bytes_to_host)})")


NO_TRANSFERS = Transfers()  # a step that copied nothing (shared; read, never changed)


class Copies:
    """One array's copies: the host array, at most one device array per memory, and which
    of them hold the current contents.

    Args:
        host: the host array (C-contiguous; its shape and dtype are the array's).
        backends: a function from memory name to the device backend that owns it.
        transfers: the counter that copies are added to.
        zeros: the contents are all zeros (any place can make them without a copy).
    """

    def __init__(self, host: np.ndarray, backends, transfers: Transfers, zeros: bool = False,
                 changes: list[int] | None = None):
        self.host = host
        self._changes = changes if changes is not None else [0]  # the Residency's counter
        self.devices: dict[str, Any] = {}  # memory name -> device array
        self.writer = None  # the statement that last wrote a device copy (host/interrupt)
        self.current: set[str] = {HOST, ZEROS} if zeros else {HOST}
        self._backends = backends
        self.transfers = transfers

    def where(self) -> set[str]:
        """The places holding the current contents (``host`` and/or memory names)."""
        return self.current - {ZEROS}

    def on_host(self) -> np.ndarray:
        """The host array with current contents, copied back if needed."""
        if HOST not in self.current:
            if ZEROS in self.current:
                self.host[...] = 0
            else:
                memory = next(m for m in self.current if m in self.devices)
                mark = events.begin("copy", "to_host", memory, None, {
                    "bytes": self.host.nbytes}) if events.LISTENERS else None
                with waiting(self.writer):  # Ctrl-C in the copy's wait names the writer
                    self._backends(memory).to_host(self.devices[memory], self.host)
                if mark is not None:
                    events.end(mark)
                self.transfers.down(self.host.nbytes)
            self.current.add(HOST)
            self._changes[0] += 1
        return self.host

    def on_device(self, memory: str):
        """The device array in ``memory`` with current contents, copied up if needed
        (through the host when only another device holds them)."""
        if memory not in self.current:
            backend = self._backends(memory)
            if ZEROS in self.current:
                self.devices[memory] = backend.zeros(self.host.shape, self.host.dtype)
            else:
                self.on_host()
                mark = events.begin("copy", "to_device", memory, None, {
                    "bytes": self.host.nbytes, "backend": backend}) if events.LISTENERS else None
                self.devices[memory] = backend.to_device(self.host)
                if mark is not None:
                    events.end(mark)
                self.transfers.up(self.host.nbytes)
            self.current.add(memory)
            self._changes[0] += 1
        return self.devices[memory]

    def written(self, where: str) -> None:
        """The copy at ``where`` (``host`` or a memory name) was changed in place: every
        other copy is now stale."""
        if len(self.current) != 1 or where not in self.current:
            self.current = {where}
            self._changes[0] += 1
        if where != HOST:
            self.writer = current()

    def adopt(self, memory: str, device_array) -> None:
        """Make ``device_array`` (same shape and dtype) the copy in ``memory``, holding the
        current contents: the host copy is stale until asked for."""
        self.devices[memory] = device_array
        self.current = {memory}
        self.writer = current()
        self._changes[0] += 1


_STARTS = itertools.count(1)  # residencies made (a version's high bits)


class Residency:
    """The arrays of one program run and where their current contents are.

    Args:
        backends: a function from memory name to the device backend that owns it
            (``pxos.backends.get``).
    """

    def __init__(self, backends):
        self._backends = backends
        self._arrays: dict[str, Copies] = {}
        self.transfers = Transfers()
        # versions no other residency takes (each starts 2**40 after the last one's start):
        # what a run keyed by a version stays a run's own (host/program_memo)
        # [the version], shared with each array's Copies; read without a call where every
        # statement asks (ProgramRun.execute)
        self.changes = [next(_STARTS) << 40]

    @property
    def version(self) -> int:
        """A number that changes whenever an array is defined, swapped, or its current
        places change (equal versions: the same places, shapes and dtypes)."""
        return self.changes[0]

    def define(self, name: str, host: np.ndarray, zeros: bool = False) -> None:
        """``name`` now holds ``host`` (on the host; all zeros if ``zeros``); device copies
        of an earlier array of that name are dropped."""
        self._arrays[name] = Copies(host, self._backends, self.transfers, zeros,
                                    self.changes)
        self.changes[0] += 1

    def __contains__(self, name: str) -> bool:
        return name in self._arrays

    def where(self, name: str) -> set[str]:
        """The places holding ``name``'s current contents (``host`` and/or memory names)."""
        return self._arrays[name].where()

    def on_host(self, name: str) -> np.ndarray:
        """The host array of ``name`` with current contents, copied back if needed."""
        return self._arrays[name].on_host()

    def on_device(self, memory: str, name: str):
        """The device array of ``name`` in ``memory`` with current contents."""
        return self._arrays[name].on_device(memory)

    def places(self, name: str) -> frozenset[str]:
        """Like :meth:`where`, with ``zeros`` added while the contents are all zeros (the
        planner's view: zeros are made anywhere without a copy)."""
        return frozenset(self._arrays[name].current)

    def adopt(self, name: str, memory: str, device_array) -> None:
        """``device_array`` in ``memory`` is now ``name``'s only current copy."""
        self._arrays[name].adopt(memory, device_array)

    def swap(self, a: str, b: str) -> None:
        """``SWAP a b``: the names exchange their arrays, wherever they are (no copy)."""
        self._arrays[a], self._arrays[b] = self._arrays[b], self._arrays[a]
        self.changes[0] += 1

    def written(self, name: str, where: str) -> None:
        """``name`` was changed in place at ``where`` (``host`` or a memory name): every
        other copy is now stale."""
        self._arrays[name].written(where)
