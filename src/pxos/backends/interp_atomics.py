"""Atomics for the NumPy interpreter (``backends/interp``): every lane's update of one
``ATOMIC`` statement applied at once, with the result of applying them one after another
in lane order, and each lane's old value when the statement asks for it."""

from __future__ import annotations

import numpy as np

from pxos.ir.functions import ATOMICS


def apply_atomic(op: str, target: np.ndarray, flat: np.ndarray, value: np.ndarray,
                 want_old: bool):
    """Apply ``ATOMIC op`` of every lane to the flat array ``target`` in place.

    Args:
        op: ``add``, ``min``, ``max``, ``and``, ``or``, ``xor`` or ``exch``.
        target: the array's flat (1-D) view; ``flat``: each lane's element index (intp);
            ``value``: each lane's operand, of ``target``'s dtype; both of the lanes' length.
        want_old: return each lane's old value (as if the lanes ran in lane order).

    Returns:
        The old values (an array of the lanes' length), or None without ``want_old``.
    """
    if not want_old:
        if op == "exch":
            target[flat] = value
        else:
            _ATOMIC_UFUNC[op].at(target, flat, value)
        return None
    return _atomic_with_old(op, target, flat, value)


_ATOMIC_UFUNC = {name: a.combine for name, a in ATOMICS.items() if a.combine is not None}


def _atomic_with_old(op: str, target: np.ndarray, flat: np.ndarray, value: np.ndarray):
    """Apply the atomic as if lanes updated one after another in lane order; return each
    lane's old value. Segmented inclusive scan (Hillis-Steele) over lanes sorted by address."""
    order = np.argsort(flat, kind="stable")
    addr, vals = flat[order], value[order]
    n = len(addr)
    incl = vals.copy()  # for exch the scan is just the latest value: "a exch b" keeps b
    combine = _ATOMIC_UFUNC.get(op)
    if combine is not None:
        d = 1
        while d < n:
            same = addr[d:] == addr[:-d]
            shifted = combine(incl[:-d], incl[d:])
            incl[d:] = np.where(same, shifted, incl[d:])
            d *= 2
    first = np.ones(n, bool)
    first[1:] = addr[1:] != addr[:-1]
    init = target[addr]
    prev = np.empty_like(incl)
    prev[1:] = incl[:-1]
    if combine is None:
        old_sorted = np.where(first, init, prev)
    else:
        old_sorted = np.where(first, init, combine(init, prev))
    last = np.ones(n, bool)
    last[:-1] = addr[1:] != addr[:-1]
    final = incl[last] if combine is None else combine(init[last], incl[last])
    target[addr[last]] = final
    old = np.empty_like(old_sorted)
    old[order] = old_sorted
    return old
