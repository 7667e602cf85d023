"""Host memory for calibration's probes: float32 arrays cut from buffers that every probe
of a calibration shares (issue 14: calibration time).

The first write to a page of fresh memory is a page fault; on the 2-core development VM
(KVM) writing 64 MiB of fresh memory took 0.04–0.43 s, against 0.02 s to write it again.
Calibration used to make new arrays at each size of each probe (``y = a*x + y`` grown to
2²² floats or more, two arrays), then 64 MiB more for ``REDUCE``, and so faulted in more
than 200 MB. Here each slot is one buffer, reserved (``np.empty``: address space, no page
yet) at the largest size any probe asks of it, and an array is a part of it, written
before use: pages are faulted in once, by the largest use, and a later probe reuses them
(``y = a*x + y`` takes x and y side by side from the 64 MiB that ``REDUCE`` faulted in).
"""

from __future__ import annotations

import numpy as np

# Slots: the large arrays (REDUCE's, then probe_stream's x and y side by side, the copies',
# the HYBRID split's, one at a time), and the output of the compute probes.
FIRST, OUTPUT = 0, 1
CAPACITY = 1 << 26  # floats: the largest probe array (y = a*x + y on a GPU, 256 MiB)


class ProbeMemory:
    """Host float32 arrays for the probes (see the module docstring).

    Args:
        capacity: the most floats any slot is asked for (a larger request raises
            ``ValueError``: a caller's bug); only what is asked for is ever written.
    """

    def __init__(self, capacity: int = CAPACITY):
        self.capacity = capacity
        self._buffers: dict[int, np.ndarray] = {}

    def full(self, slot: int, n: int, value: float, at: int = 0) -> np.ndarray:
        """``n`` float32 of buffer ``slot`` from its ``at``-th, each set to ``value`` (a
        C-contiguous view; it stays valid until that part is asked for again)."""
        if at + n > self.capacity:
            raise ValueError(f"{at + n} floats asked of probe memory of {self.capacity}")
        buffer = self._buffers.get(slot)
        if buffer is None:
            buffer = self._buffers[slot] = np.empty(self.capacity, np.float32)
        view = buffer[at:at + n]
        view.fill(value)
        return view
