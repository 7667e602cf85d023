"""Differential fuzzing of host programs: random `.px` programs of `RUN`, `FILL`, `REDUCE`,
`SORT`, `SET`, host `FOR` and `IF` over a few integer kernels, run with every backend
present pinned and with ``--device auto`` (the planner moving arrays between devices as it
places each statement), against this file's own NumPy model of the same program.

The arrays' contents travel between the host and the devices (``host/residency``); a
statement that read a stale copy would give a wrong array at the end. Integers leave no
room for rounding: every element and every host scalar must be equal. ``PXOS_FUZZ_COUNT``
sets the seeds (half of it; default 12), ``PXOS_FUZZ_START`` the first (0).
"""

from __future__ import annotations

import os
import random

import numpy as np
import pytest

from pxos.host.program import ProgramRun
from pxos.ir.check_host import check_program
from pxos.lang.px.parser import parse_program
from tests.conftest import BACKENDS

COUNT = max(1, int(os.environ.get("PXOS_FUZZ_COUNT", "24")) // 2)
START = int(os.environ.get("PXOS_FUZZ_START", "0"))  # the first seed: new ones
SEEDS = range(START, START + COUNT)
ARRAYS = ("a", "b", "c")
KINDS = (("mix", 0.2), ("rot", 0.35), ("inc", 0.45), ("hist", 0.55), ("fill", 0.6),
         ("reduce", 0.75), ("sort", 0.8), ("loop", 0.86), ("while", 0.93),
         ("branch", 1.0))  # cumulative


def _pick(p: float, table) -> str:
    return next(kind for kind, upto in table if p < upto)

KERNELS = """
GPU_KERNEL seed
    GPU_PARAM a int[]
    GPU_PARAM s int
GPU_THREAD_CODE:
    THREAD_ID → i
    STORE i * 7919 + s → a[i]
GPU_END

GPU_KERNEL mix
    GPU_PARAM src int[]
    GPU_PARAM dst int[]
    GPU_PARAM k int
GPU_THREAD_CODE:
    THREAD_ID → i
    STORE src[i] * 3 + k → dst[i]
GPU_END

GPU_KERNEL rot
    GPU_PARAM src int[]
    GPU_PARAM dst int[]
GPU_THREAD_CODE:
    THREAD_ID → i
    STORE src[(i + 1) % LEN(src)] ^ (src[i] >> 3) → dst[i]
GPU_END

GPU_KERNEL inc
    GPU_PARAM a int[]
    GPU_PARAM k int
GPU_THREAD_CODE:
    THREAD_ID → i
    STORE a[i] + k → a[i]
GPU_END

GPU_KERNEL hist
    GPU_PARAM a int[]
    GPU_PARAM h int[]
GPU_THREAD_CODE:
    THREAD_ID → i
    ATOMIC_ADD h[a[i] & 15] 1
GPU_END
"""


def i32(v):
    """Python integers or an int64 array wrapped to ``i32``."""
    if isinstance(v, np.ndarray):
        return ((v.astype(np.int64) + 2**31) % 2**32 - 2**31).astype(np.int64)
    return (v + 2**31) % 2**32 - 2**31


class Program:
    """A random host program (its `.px` lines) and the NumPy model that runs alongside."""

    def __init__(self, seed: int):
        self.r = random.Random(seed)
        self.n = self.r.choice((1, 7, 64, 1000, 4099))
        self.lines: list[str] = []
        self.scalars: list[str] = []  # host scalars defined on every path so far
        self.sorted: list[str] = []
        self.names = 0

    def name(self, prefix: str) -> str:
        self.names += 1
        return f"{prefix}{self.names}"

    def k(self) -> str:
        return self.r.choice(self.scalars + [str(self.r.randint(-50, 50))] * 2)

    def statements(self, depth: int, count: int, pad: str, loop: str | None = None) -> list:
        """``count`` statements (``.px`` lines) and their model steps (callables on a
        :class:`Model`); ``loop``: the innermost host loop's variable."""
        steps = []
        for _ in range(count):
            kind = _pick(self.r.random(), KINDS)
            if kind == "sort" and depth > 0 or kind in ("loop", "while", "branch") \
                    and depth >= 2:
                kind = "inc"  # SORT names a new array: at the top level only
            steps.append(getattr(self, "_" + kind)(depth, pad, loop))
        return steps

    def _operands(self, depth: int) -> tuple[str, str]:
        """A source array (a sorted copy too, at the top level) and another to write."""
        src = self.r.choice(ARRAYS + tuple(self.sorted if depth == 0 else ()))
        return src, self.r.choice([x for x in ARRAYS if x != src])

    def _mix(self, depth, pad, loop):
        src, dst = self._operands(depth)
        k = loop if loop and self.r.random() < 0.5 else self.k()
        self.lines.append(f"{pad}RUN mix {src} {dst} {k}")
        return lambda m: m.set(dst, m[src] * 3 + m.value(k))

    def _rot(self, depth, pad, loop):
        src, dst = self._operands(depth)
        self.lines.append(f"{pad}RUN rot {src} {dst}")
        return lambda m: m.set(dst, np.roll(m[src], -1) ^ (m[src] >> 3))

    def _inc(self, depth, pad, loop):
        dst, k = self.r.choice(ARRAYS), self.k()
        self.lines.append(f"{pad}RUN inc {dst} {k}")
        return lambda m: m.set(dst, m[dst] + m.value(k))

    def _hist(self, depth, pad, loop):
        src = self._operands(depth)[0]
        self.lines.append(f"{pad}RUN hist {src} h")
        return lambda m: m.set("h", m["h"] + np.bincount(m[src] & 15, minlength=16))

    def _fill(self, depth, pad, loop):
        dst, v = self.r.choice(ARRAYS), self.r.randint(-9, 9)
        self.lines.append(f"{pad}FILL {dst} {v}")
        return lambda m: m.set(dst, np.full(self.n, v))

    def _sort(self, depth, pad, loop):
        src, out = self._operands(depth)[0], self.name("s")
        self.lines.append(f"{pad}SORT {src} → {out}")
        self.sorted.append(out)
        return lambda m: m.set(out, np.sort(m[src]))

    def _reduce(self, depth, pad, loop):
        src, op = self._operands(depth)[0], self.r.choice(("SUM", "MAX", "MIN"))
        red, k = self.name("r"), self.name("k")
        self.lines += [f"{pad}REDUCE {op} {src} → {red}", f"{pad}SET {k} = i32({red} % 1000)"]
        if depth == 0:  # defined on every path from here on
            self.scalars.append(k)
        fn = {"SUM": np.sum, "MAX": np.max, "MIN": np.min}[op]

        def step(m):
            total = int(fn(m[src]))
            m.scalars[red] = total
            rest = abs(total) % 1000  # % truncates toward zero
            m.scalars[k] = i32(-rest if total < 0 else rest)
        return step

    def _loop(self, depth, pad, loop):
        t, trips = self.name("t"), self.r.randint(0, 4)
        self.lines.append(f"{pad}FOR {t} IN 0..{trips}:")
        body = self.statements(depth + 1, self.r.randint(1, 3), pad + "    ", t)

        def step(m):
            for v in range(trips):
                m.scalars[t] = v
                for s in body:
                    s(m)
        return step

    def _while(self, depth, pad, loop):
        """A counted ``WHILE`` whose body may end it early with ``BREAK`` (or skip its
        rest with ``CONTINUE``) under an ``IF`` on a host scalar."""
        w, trips, k, limit = self.name("w"), self.r.randint(0, 4), self.k(), self.r.randint(-9, 9)
        jump = self.r.choice(("BREAK", "CONTINUE", None))
        self.lines += [f"{pad}SET {w} = 0", f"{pad}WHILE {w} < {trips}:",
                       f"{pad}    SET {w} = {w} + 1"]
        if jump:
            self.lines += [f"{pad}    IF {k} > {limit}:", f"{pad}        {jump}"]
        body = self.statements(depth + 1, self.r.randint(1, 2), pad + "    ", w)

        def step(m):
            m.scalars[w] = 0
            while m.scalars[w] < trips:
                m.scalars[w] += 1
                if jump and m.value(k) > limit:
                    if jump == "BREAK":
                        break
                    continue
                for s in body:
                    s(m)
        return step

    def _branch(self, depth, pad, loop):
        k, limit = self.k(), self.r.randint(-20, 20)
        self.lines.append(f"{pad}IF {k} > {limit}:")
        yes = self.statements(depth + 1, self.r.randint(1, 2), pad + "    ", loop)
        self.lines.append(f"{pad}ELSE:")
        no = self.statements(depth + 1, self.r.randint(1, 2), pad + "    ", loop)

        def step(m):
            for s in (yes if m.value(k) > limit else no):
                s(m)
        return step

    def text_and_model(self):
        self.lines += [f"ALLOC a int SIZE {self.n}", "ALLOC b LIKE a", "ALLOC c LIKE a",
                       "ALLOC h int SIZE 16", "FILL h 0", "RUN seed a 11", "RUN seed b 22",
                       "RUN seed c 33"]
        steps = self.statements(0, self.r.randint(4, 12), "")
        return KERNELS + "\n".join(self.lines) + "\n", steps


class Model(dict):
    """The arrays (int64 holding ``i32`` values) and host scalars of the NumPy model."""

    def __init__(self, n: int):
        i = np.arange(n, dtype=np.int64)
        super().__init__(a=i32(i * 7919 + 11), b=i32(i * 7919 + 22), c=i32(i * 7919 + 33),
                         h=np.zeros(16, np.int64))
        self.scalars: dict[str, int] = {}

    def set(self, name: str, value) -> None:
        self[name] = i32(np.asarray(value, np.int64))

    def value(self, k: str) -> int:
        return self.scalars[k] if k in self.scalars else int(k)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("device", ["auto", *BACKENDS])
def test_random_host_program(seed, device):
    generated = Program(seed)
    text, steps = generated.text_and_model()
    program = check_program(parse_program(text, f"prog{seed}.px"))
    model = Model(generated.n)
    for step in steps:
        step(model)
    run = ProgramRun(program, device=device, emit=lambda *_: None).run()
    for name, want in model.items():
        got = run.residency.on_host(name)
        assert got.tolist() == want.tolist(), f"seed {seed} on {device}: {name} differs\n{text}"
    for name, want in model.scalars.items():
        assert int(run.values[name]) == want, f"seed {seed} on {device}: {name}\n{text}"
