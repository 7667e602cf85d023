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

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from pxos.backends.base import HOST

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

    def __sub__(self, other: "Transfers") -> "Transfers":
        return Transfers(self.to_device - other.to_device, self.to_host - other.to_host,
                         self.bytes_to_device - other.bytes_to_device,
                         self.bytes_to_host - other.bytes_to_host)

    def copy(self) -> "Transfers":
        return Transfers(self.to_device, self.to_host, self.bytes_to_device,
                         self.bytes_to_host)

    def __str__(self) -> str:
        return (f"{self.to_device} to device ({_size(self.bytes_to_device)}), "
                f"{self.to_host} to host ({_size(self.bytes_to_host)})")


@dataclass
class _Entry:
    host: np.ndarray
    devices: dict[str, Any] = field(default_factory=dict)  # memory name -> device array
    current: set[str] = field(default_factory=set)  # places holding the current contents


class Residency:
    """The arrays of one program run and where their current contents are.

    Args:
        backends: a function from memory name to the device backend that owns it
            (``pxos.backends.get``).
    """

    def __init__(self, backends):
        self._backends = backends
        self._arrays: dict[str, _Entry] = {}
        self.transfers = Transfers()

    def define(self, name: str, host: np.ndarray, zeros: bool = False) -> None:
        """``name`` now holds ``host`` (on the host; all zeros if ``zeros``); device copies
        of an earlier array of that name are dropped."""
        self._arrays[name] = _Entry(host, current={HOST, ZEROS} if zeros else {HOST})

    def __contains__(self, name: str) -> bool:
        return name in self._arrays

    def shape_of(self, name: str) -> np.ndarray:
        """The host array of ``name`` for its shape and dtype only (contents may be stale)."""
        return self._arrays[name].host

    def where(self, name: str) -> set[str]:
        """The places holding ``name``'s current contents (``host`` and/or memory names)."""
        return self._arrays[name].current - {ZEROS}

    def on_host(self, name: str) -> np.ndarray:
        """The host array of ``name`` with current contents, copied back if needed."""
        e = self._arrays[name]
        if HOST not in e.current:
            if ZEROS in e.current:
                e.host[...] = 0
            else:
                memory = next(m for m in e.current if m in e.devices)
                self._backends(memory).to_host(e.devices[memory], e.host)
                self.transfers.to_host += 1
                self.transfers.bytes_to_host += e.host.nbytes
            e.current.add(HOST)
        return e.host

    def on_device(self, memory: str, name: str):
        """The device array of ``name`` in ``memory`` with current contents."""
        e = self._arrays[name]
        backend = self._backends(memory)
        if memory not in e.current:
            if ZEROS in e.current:
                e.devices[memory] = backend.zeros(e.host.shape, e.host.dtype)
            elif HOST in e.current:
                e.devices[memory] = backend.to_device(e.host)
                self.transfers.to_device += 1
                self.transfers.bytes_to_device += e.host.nbytes
            else:  # current only on another device: through the host
                self.on_host(name)
                return self.on_device(memory, name)
            e.current.add(memory)
        return e.devices[memory]

    def written(self, name: str, where: str) -> None:
        """``name`` was changed in place at ``where`` (``host`` or a memory name): every
        other copy is now stale."""
        e = self._arrays[name]
        e.current = {where}


def _size(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n} B"
