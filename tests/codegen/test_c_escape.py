"""Escape-time loops in lockstep on a CPU (``codegen/c_escape``): which kernels take the
form, and their results on ``c`` against NumPy, element for element (the lockstep form
runs each thread's arithmetic in its own order: the same float32 results)."""

from __future__ import annotations

import numpy as np
import pytest

from pxos import backends
from pxos.codegen.c import render_c
from pxos.codegen.c_escape import escape_plan
from pxos.errors import PxError
from pxos.host.launch import run_kernel
from pxos.ir.check_host import check_program
from pxos.lang.px.parser import parse_file, parse_program
from tests.conftest import ROOT

MANDELBROT = next(k for k in check_program(parse_file(ROOT / "examples" / "mandelbrot.px"))
                  .kernels if k.name == "mandelbrot")


def kernel_of(src: str):
    return check_program(parse_program(src, "t.px")).kernels[0]


def mandelbrot_numpy(rows: int, cols: int, max_iter: int) -> np.ndarray:
    """The kernel's arithmetic in float32, every pixel at once, each pixel frozen once it
    leaves (the same operations in the same order as one thread)."""
    f = np.float32
    py, px = np.mgrid[0:rows, 0:cols].astype(np.int32)
    cx = f(-2.0) + f(3.0) * px.astype(f) / f(cols)
    cy = f(-1.25) + f(2.5) * py.astype(f) / f(rows)
    zx, zy = np.zeros_like(cx), np.zeros_like(cy)
    n = np.zeros((rows, cols), np.int32)
    inside = np.ones((rows, cols), bool)
    for _ in range(max_iter):
        inside &= ~(zx * zx + zy * zy > f(4.0))
        t = zx * zx - zy * zy + cx
        zy = np.where(inside, f(2.0) * zx * zy + cy, zy)
        zx = np.where(inside, t, zx)
        n += inside
    return (255 * n // max_iter).astype(np.uint8)


def loop_kernel(loop: str, before: str = "", count: int = 50, result: str = "x") -> str:
    """A kernel whose thread runs ``before``, then ``WHILE k < count`` of ``loop``, and
    stores ``result + f32(k)``."""
    return f"""GPU_KERNEL k
    GPU_PARAM a float[]
    GPU_PARAM out float[]
GPU_THREAD_CODE:
    THREAD_ID → i
    SET x = a[i]
    SET k = 0
{before}    WHILE k < {count}:
{loop}
    STORE {result} + f32(k) → out[i]
GPU_END
"""


@pytest.mark.parametrize("loop, takes", [
    ("        IF x > 3.0:\n            BREAK\n        SET x = x * 1.1 + 0.1\n"
     "        SET k = k + 1", True),
    ("        SET x = x * 1.1 + 0.1\n        IF x > 3.0:\n            BREAK\n"
     "        SET k = k + 1", True),                              # a BREAK mid-body
    ("        SET x = x * 1.1 + a[i]\n        SET k = k + 1", False),   # a load
    ("        SET k = k + 1\n        SET n = k / 3", False),         # an integer division
    ("        SET k = k + 1\n        IF x > 1.0:\n            SET x = x - 1.0\n"
     "        ELSE:\n            SET x = x / 2.0", True),              # an IF of SETs
    ("        SET k = k + 1\n        STORE x → out[i]", False),        # a store
    ("        SET k = k + 1\n        FOR j IN 0..3:\n            SET x = x + 1.0", False),
    ("        IF x > 3.0:\n            BREAK\n            SET x = 0.0\n        SET k = k + 1",
     None),                                                         # code after a BREAK
])
def test_which_loops_take_the_lockstep_form(loop, takes):
    try:
        kernel = kernel_of(loop_kernel(loop))
    except Exception:  # the checker may refuse unreachable code itself
        assert takes is None
        return
    takes = bool(takes)
    assert (escape_plan(kernel, kernel.body) is not None) == takes
    assert ("pxos_still" in render_c(kernel, guard=True).function) == takes


c_only = pytest.mark.skipif("c" not in backends.available(), reason="no C compiler")


@c_only
@pytest.mark.parametrize("rows, cols", [(1, 1), (7, 300), (130, 129), (256, 384)])
def test_mandelbrot_on_c_is_numpys(rows, cols):
    image = np.zeros((rows, cols), np.uint8)
    run_kernel("c", MANDELBROT, [image, np.int32(64)], (cols, rows))
    np.testing.assert_array_equal(image, mandelbrot_numpy(rows, cols, 64))


@c_only
@pytest.mark.parametrize("break_first", [True, False])
def test_breaks_and_counts_against_numpy(break_first):
    grow = "        SET x = x * 1.1 + 0.1"
    leave = "        IF x > 3.0:\n            BREAK"
    body = "\n".join([leave, grow] if break_first else [grow, leave]) + \
        "\n        SET k = k + 1"
    a = np.random.default_rng(4).uniform(-1, 4, 5000).astype(np.float32)
    out = np.zeros_like(a)
    run_kernel("c", kernel_of(loop_kernel(body)), [a, out], (a.size,))
    want = np.empty_like(a)
    for i, x in enumerate(a):  # one thread at a time, in float32
        k = 0
        while k < 50:
            if break_first and x > 3.0:
                break
            x = np.float32(x * np.float32(1.1) + np.float32(0.1))
            if not break_first and x > 3.0:
                break
            k += 1
        want[i] = x + np.float32(k)
    np.testing.assert_array_equal(out, want)


ARMS = loop_kernel("""        SET v = f32((i * 7 + k * 13) & 1023) * 0.003 - 0.5 + x
        IF v > 2.5:
            SET acc = acc + v
            BREAK
        ELIF v < 0.0:
            SET acc = acc - v
        ELSE:
            SET acc = acc * 0.5 + v
        SET k = k + 1""", before="    SET acc = 0.0\n", count=40, result="acc")


@c_only
def test_arms_under_masks_against_python():
    a = np.random.default_rng(9).uniform(-1, 2.6, 3000).astype(np.float32)
    out = np.zeros_like(a)
    kernel = kernel_of(ARMS)
    assert escape_plan(kernel, kernel.body) is not None
    run_kernel("c", kernel, [a, out], (a.size,))
    f = np.float32
    want = np.empty_like(a)
    for i in range(a.size):  # one thread at a time, in float32
        k, acc, x = 0, f(0), a[i]
        while k < 40:
            v = f(f(f((i * 7 + k * 13) & 1023) * f(0.003)) - f(0.5)) + x
            if v > f(2.5):
                acc = f(acc + v)
                break
            elif v < f(0):
                acc = f(acc - v)
            else:
                acc = f(acc * f(0.5) + v)
            k += 1
        want[i] = f(acc + f(k))
    np.testing.assert_array_equal(out, want)


COLLATZ = """GPU_KERNEL k
    GPU_PARAM a int[]
GPU_THREAD_CODE:
    THREAD_ID → i
    IF i < LEN(a):
        SET v = a[i]
        SET steps = 0
        WHILE v != 1:
            IF steps >= 300:
                BREAK
{step}
            SET steps = steps + 1
        STORE steps → a[i]
GPU_END
"""


@c_only
@pytest.mark.parametrize("step", [
    "            SET v = select((v & 1) == 0, v >> 1, 3 * v + 1)",
    "            IF v % 2 == 0:\n                SET v = v / 2\n            ELSE:\n"
    "                SET v = 3 * v + 1",                    # integer division: one by one
])
def test_collatz_steps_in_a_bounds_guarded_launch_against_python(step):
    a = np.arange(1, 2001, dtype=np.int32)
    want = []
    for v in a.tolist():
        steps = 0
        while v != 1 and steps < 300:
            v = v // 2 if v % 2 == 0 else 3 * v + 1
            steps += 1
        want.append(steps)
    kernel = kernel_of(COLLATZ.format(step=step))
    run_kernel("c", kernel, [a], (2100,))  # more threads than elements
    np.testing.assert_array_equal(a, np.array(want, np.int32))

@c_only
def test_a_break_in_a_nested_arm_stops_the_statements_after_it():
    body = ("        IF x > 0.0:\n            IF x > 2.0:\n                BREAK\n"
            "            SET x = x * 1.5\n        ELSE:\n            SET x = x + 0.7\n"
            "        SET k = k + 1")
    a = np.random.default_rng(2).uniform(-3, 2, 4000).astype(np.float32)
    out = np.zeros_like(a)
    kernel = kernel_of(loop_kernel(body))
    assert escape_plan(kernel, kernel.body) is not None
    run_kernel("c", kernel, [a, out], (a.size,))
    f = np.float32
    want = np.empty_like(a)
    for i, x in enumerate(a):
        k = 0
        while k < 50:
            if x > f(0):
                if x > f(2):
                    break
                x = f(x * f(1.5))
            else:
                x = f(x + f(0.7))
            k += 1
        want[i] = f(x + f(k))
    np.testing.assert_array_equal(out, want)


@c_only
def test_checked_mode_in_the_lockstep_form():
    """The same results, and a store past the end after the loop reported."""
    a = np.random.default_rng(9).uniform(-1, 2.6, 3000).astype(np.float32)
    plain, checked = np.zeros_like(a), np.zeros_like(a)
    run_kernel("c", kernel_of(ARMS), [a, plain], (a.size,))
    run_kernel("c", kernel_of(ARMS), [a, checked], (a.size,), checked=True)
    np.testing.assert_array_equal(checked, plain)
    past = kernel_of(ARMS.replace("→ out[i]", "→ out[i + 1]"))
    assert escape_plan(past, past.body) is not None
    with pytest.raises(PxError, match="out of bounds"):
        run_kernel("c", past, [a, checked], (a.size,), checked=True)

@c_only
def test_a_three_dimensional_launch():
    src = """GPU_KERNEL k
    GPU_PARAM out int[,,]
    GPU_THREADS DIM(out, 2), DIM(out, 1), DIM(out, 0)
GPU_THREAD_CODE:
    THREAD_ID → x, y, z
    SET v = x * 7 + y * 3 + z + 1
    SET n = 0
    WHILE v > 1:
        SET v = select((v & 1) == 0, v >> 1, v - 1)
        SET n = n + 1
    STORE n → out[z, y, x]
GPU_END
"""
    kernel = kernel_of(src)
    assert escape_plan(kernel, kernel.body) is not None
    out = np.zeros((5, 9, 70), np.int32)
    run_kernel("c", kernel, [out], (70, 9, 5))
    want = np.empty_like(out)
    for z, y, x in np.ndindex(*out.shape):
        v, n = x * 7 + y * 3 + z + 1, 0
        while v > 1:
            v = v >> 1 if v % 2 == 0 else v - 1
            n += 1
        want[z, y, x] = n
    np.testing.assert_array_equal(out, want)
