"""Checks of the planner's JSON files (calibration, history) as they are loaded.

A file that is valid JSON but not of the expected shape (``[]``, ``null``, a string, a
field of the wrong type, a zero or negative rate) must not crash the planner later with a
``TypeError`` or ``ZeroDivisionError``: the loaders check every field here and, on a
:class:`StoredError`, warn in one line and calibrate again or forget the history.
"""

from __future__ import annotations

import math
import sys
import typing
from dataclasses import MISSING, fields
from pathlib import Path


class StoredError(ValueError):
    """A stored file whose content is not of the expected shape."""


def warn(path: Path, why: str, action: str) -> None:
    """One line on stderr: ``pxos: warning: <path>: <why>; <action>``."""
    sys.stderr.write(f"pxos: warning: {path}: {why}; {action}\n")


def number(value, where: str, positive: bool = False) -> float:
    """``value`` as a finite number ≥ 0 (> 0 if ``positive``).

    Raises:
        StoredError: not such a number.
    """
    if isinstance(value, bool) or not isinstance(value, (int, float)) or \
            not math.isfinite(value) or value < 0 or (positive and value == 0):
        raise StoredError(f"{where} is {value!r}, not a {'positive' if positive else ''}"
                          f"{' ' if positive else ''}finite number ≥ 0")
    return float(value)


def mapping(value, where: str) -> dict:
    """``value`` itself if it is a dict with string keys.

    Raises:
        StoredError: it is not.
    """
    if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
        raise StoredError(f"{where} is {type(value).__name__}, not an object")
    return value


def record(cls, value, where: str, positive: typing.Callable[[str], bool]):
    """An instance of dataclass ``cls`` from the dict ``value``, every field checked
    against its annotation (``float``, ``float | None``, ``int``, ``str``, ``bool``,
    ``dict[str, str]``, ``dict[str, float]``); numeric fields named by ``positive``
    must be > 0. Fields of other types are passed through for the caller to check.

    Raises:
        StoredError: a missing, unknown or ill-typed field.
    """
    value = mapping(value, where)
    hints = typing.get_type_hints(cls)
    known = {f.name for f in fields(cls)}
    extra = set(value) - known
    if extra:
        raise StoredError(f"{where} has unknown fields {sorted(extra)}")
    out = {}
    for f in fields(cls):
        at = f"{where}.{f.name}"
        if f.name not in value:
            if f.default is MISSING and f.default_factory is MISSING:
                raise StoredError(f"{at} is missing")
            continue
        out[f.name] = _field(hints[f.name], value[f.name], at, positive(f.name))
    return cls(**out)


def _field(hint, v, at: str, positive: bool):
    args = typing.get_args(hint)
    if type(None) in args:  # X | None
        inner = next(a for a in args if a is not type(None))
        return None if v is None else _field(inner, v, at, positive)
    if hint is float:
        return number(v, at, positive)
    if hint is int:
        if isinstance(v, bool) or not isinstance(v, int) or v < (1 if positive else 0):
            raise StoredError(f"{at} is {v!r}, not a whole number")
        return v
    if hint in (str, bool):
        if type(v) is not hint:
            raise StoredError(f"{at} is {v!r}, not a {hint.__name__}")
        return v
    if typing.get_origin(hint) is dict and args[1] in (str, float):
        return {k: _field(args[1], x, f"{at}.{k}", positive)
                for k, x in mapping(v, at).items()}
    return v
