"""Errors of the Python front-end: each is a PxError whose span names this file, the line of
the construct, and whose ``render()`` draws the caret under it."""

from __future__ import annotations

import inspect
import math
from pathlib import Path

import numpy as np
import pytest

import pxos
from pxos.errors import (PxArgumentError, PxBarrierError, PxError, PxNameError,
                         PxSyntaxError, PxTypeError)
from pxos.ir.check import check_kernel
from pxos.ir.types import F32, I32, Array
from pxos.lang.py.frontend import annotated_types, kernel_ir

VEC = Array(F32, 1)
TABLE = np.arange(4.0)


def helper(v):
    return v * 2


class Config:
    scale = 2


CONFIG = Config()


def make_closure_kernel():
    factors = [2.0]

    def closure_kernel(x):
        for i in pxos.parallel(len(x)):
            x[i] = x[i] * factors[0]
    return closure_kernel


def bad_list(x):
    for i in pxos.parallel(len(x)):
        x[i] = len([1, 2])


def bad_dict(x):
    for i in pxos.parallel(len(x)):
        v = {1: 2.0}
        x[i] = v


def bad_print(x):
    for i in pxos.parallel(len(x)):
        print(x[i])


def bad_call(x):
    for i in pxos.parallel(len(x)):
        x[i] = helper(x[i])


def bad_global_array(x):
    for i in pxos.parallel(len(x)):
        x[i] = TABLE[i]


def bad_object(x):
    for i in pxos.parallel(len(x)):
        x[i] = x[i] * CONFIG


def bad_attribute(x):
    for i in pxos.parallel(len(x)):
        x[i] = CONFIG.scale


def bad_math(x):
    for i in pxos.parallel(len(x)):
        x[i] = math.atan2(x[i], 1.0)


def untyped(x, count):
    for i in pxos.parallel(count):
        x[i] = 0.0


def bad_annotation(x: np.ndarray):
    for i in pxos.parallel(len(x)):
        x[i] = 0.0


def statement_outside(x):
    n = len(x)
    for i in pxos.parallel(n):
        x[i] = 0.0


def sync_in_loop_form(x):
    for i in pxos.parallel(len(x)):
        pxos.sync_threads()


def shared_in_loop_form(x):
    for i in pxos.parallel(len(x)):
        t = pxos.shared(16, pxos.f32)
        t[0] = x[i]


def shared_without_block(x):
    tile = pxos.shared(256, pxos.f32)
    tile[pxos.local_id()] = x[pxos.thread_id()]


def nested_parallel(x):
    for i in pxos.parallel(len(x)):
        for j in pxos.parallel(4):
            x[i] = 0.0


def chained_index(x):
    for i in pxos.parallel(len(x)):
        x[i] = x[i][0]


def bad_keyword(x):
    i = pxos.thread_id(dim=0)
    x[i] = 0.0


def bad_lambda(x):
    for i in pxos.parallel(len(x)):
        x[i] = (lambda v: v)(x[i])


def bad_with(x):
    for i in pxos.parallel(len(x)):
        with open("f"):
            x[i] = 0.0


def bad_string(x):
    for i in pxos.parallel(len(x)):
        x[i] = "a"


def bad_return(x):
    i = pxos.thread_id()
    return x[i]


def bad_break(x):
    for i in pxos.parallel(len(x)):
        break


def bad_is(x):
    for i in pxos.parallel(len(x)):
        if x[i] is None:
            x[i] = 0.0


def int_power(a, n):
    for i in pxos.parallel(len(a)):
        a[i] = a[i] ** n


def assigns_loop_variable(x):
    for i in pxos.parallel(len(x)):
        for k in range(3):
            k = k + 1


def swap(x):
    for i in pxos.parallel(len(x)):
        u = 1.0
        v = 2.0
        u, v = v, u
        x[i] = u


def undefined(x):
    for i in pxos.parallel(len(x)):
        x[i] = nothere  # noqa: F821


def too_early(x):
    for i in pxos.parallel(len(x)):
        x[i] = later
        later = 1.0


def bad_yield(x):
    for i in pxos.parallel(len(x)):
        yield x[i]


def bad_axis(x):
    i = pxos.thread_id(1)
    x[i] = 0.0


def bad_slice(x):
    for i in pxos.parallel(len(x)):
        x[i] = x[1:3]


def bad_negative(x):
    for i in pxos.parallel(len(x)):
        x[i] = x[-1]


CASES = [
    # kernel, construct under the caret, error class, message
    (bad_list, "[1, 2]", PxSyntaxError, "a list is not available"),
    (bad_dict, "{1: 2.0}", PxSyntaxError, "a dict is not available"),
    (bad_print, "print(x[i])", PxSyntaxError, "print.. is not available"),
    (bad_call, "helper(x[i])", PxTypeError, "helper.. is not a function a kernel can call"),
    (make_closure_kernel(), "factors", PxTypeError, "factors is a list from outside"),
    (bad_global_array, "TABLE", PxTypeError, "TABLE is a NumPy array"),
    (bad_object, "CONFIG", PxTypeError, "CONFIG is a Config from outside"),
    (bad_attribute, "CONFIG.scale", PxTypeError, "attributes of modules"),
    (bad_math, "math.atan2(x[i], 1.0)", PxTypeError, "math.atan2.. is not a function"),
    (untyped, "count", PxTypeError, "parameter 'count' of kernel 'untyped' has no type"),
    (bad_annotation, "np.ndarray", PxTypeError, "is not a pxos type"),
    (statement_outside, "n = len(x)", PxSyntaxError, "exactly one .for … in pxos.parallel"),
    (sync_in_loop_form, "pxos.sync_threads()", PxSyntaxError, "needs the thread form"),
    (shared_in_loop_form, "pxos.shared(16, pxos.f32)", PxSyntaxError,
     "needs the thread form"),
    (shared_without_block, "tile", PxSyntaxError, "block size must be fixed"),
    (nested_parallel, "pxos.parallel(4)", PxSyntaxError, "must be the kernel's outermost"),
    (chained_index, "x[i][0]", PxSyntaxError, r"a\[i\]\[j\] is not available"),
    (bad_keyword, "pxos.thread_id(dim=0)", PxTypeError, "no keyword argument 'dim'"),
    (bad_lambda, "lambda v: v", PxSyntaxError, "a lambda is not available"),
    (bad_with, 'with open("f"):', PxSyntaxError, "with is not available"),
    (bad_string, '"a"', PxTypeError, "a string is not a value"),
    (bad_return, "return x[i]", PxSyntaxError, "returns no value"),
    (bad_break, "break", PxSyntaxError, "break cannot leave pxos.parallel"),
    (bad_is, "x[i] is None", PxSyntaxError, "'is' is not available"),
    (int_power, "a[i] ** n", PxTypeError, "integer \\*\\* needs a constant exponent"),
    (assigns_loop_variable, "for k in range(3):", PxSyntaxError, "assigns its own variable"),
    (swap, "u, v = v, u", PxSyntaxError, "a later value reads 'u'"),
    (undefined, "nothere", PxNameError, "undefined name 'nothere'"),
    (too_early, "later", PxNameError, "'later' is used before it is assigned"),
    (bad_yield, "yield x[i]", PxSyntaxError, "yield is not available"),
    (bad_axis, "pxos.thread_id(1)", PxTypeError, "needs a 2-D launch"),
    (bad_slice, "1:3", PxSyntaxError, "slices are not available"),
    (bad_negative, "-1", PxTypeError, "negative index"),
]
TYPES = {"x": VEC, "a": Array(I32, 1), "n": I32}


def where(fn, construct: str) -> tuple[int, int]:
    """(line, column) of the first ``construct`` in ``fn``'s source after its def line."""
    lines, first = inspect.getsourcelines(fn)
    for k, line in enumerate(lines):
        if construct in line and (k > 0 or construct in ("count", "np.ndarray")):
            return first + k, line.index(construct) + 1
    raise AssertionError(f"{construct!r} not in {fn.__name__}")


def assert_points_at(err: PxError, fn, construct: str) -> None:
    line, col = where(fn, construct)
    span = err.span
    assert Path(span.file).resolve() == Path(__file__).resolve()
    assert (span.line, span.col, span.length) == (line, col, len(construct)), err.render()
    rendered = err.render().splitlines()
    assert rendered[0].startswith(f"{span.file}:{line}:{col}: ")
    source = next(r for r in rendered if r.startswith(f"{line:>5} | "))
    caret = rendered[rendered.index(source) + 1]
    assert caret == " " * (len(f"{line:>5} | ") + col - 1) + "^" * len(construct)
    assert source.endswith(span.text) and construct in span.text


@pytest.mark.parametrize("fn,construct,error,message", CASES,
                         ids=[c[0].__name__ for c in CASES])
def test_error_points_at_the_construct(fn, construct, error, message):
    with pytest.raises(error, match=message) as info:
        kernel_ir(fn, TYPES)
    assert_points_at(info.value, fn, construct)


def test_missing_block_error_names_the_decorator():
    with pytest.raises(PxSyntaxError) as info:
        kernel_ir(shared_without_block, TYPES)
    assert "@pxos.kernel(block=(256,))" in info.value.render()


def float_into_int(x):
    for i in pxos.parallel(len(x)):
        s = 0
        s = x[i] * 0.5
        x[i] = s


def barrier_under_if(x):
    i = pxos.thread_id()
    if i < 3:
        pxos.sync_threads()
    x[i] = 0.0


@pytest.mark.parametrize("fn,construct,error", [
    (float_into_int, "s = x[i] * 0.5", PxTypeError),
    (barrier_under_if, "pxos.sync_threads()", PxBarrierError),
])
def test_checker_errors_point_into_the_python_file(fn, construct, error):
    """Errors found by ``check_kernel`` carry the spans the front-end gave."""
    with pytest.raises(error) as info:
        check_kernel(kernel_ir(fn, TYPES, block=(64,)))
    assert_points_at(info.value, fn, construct)


def test_bad_annotations_and_arguments():
    def strange(x: undefined_name):  # noqa: F821 - a string: from __future__ import annotations
        pass
    with pytest.raises(PxTypeError, match="cannot evaluate the annotation"):
        annotated_types(strange)
    with pytest.raises(PxTypeError, match="not a pxos type"):
        annotated_types(bad_annotation)
    with pytest.raises(PxArgumentError, match="block="):
        kernel_ir(shared_without_block, TYPES, block=(16, 16))
    with pytest.raises(PxArgumentError, match="1, 2 or 3 axes"):
        kernel_ir(shared_without_block, TYPES, ndim=4)
    with pytest.raises(PxSyntaxError, match="cannot read the source"):
        kernel_ir(eval("lambda x: x"), TYPES)  # noqa: S307 - no source file


def test_a_pseudo_files_unrelated_text_is_no_source(monkeypatch):
    # Python 3.13 keeps `python -c`'s text as the source of "<string>" (pytest-xdist's
    # workers start so): a function exec'd from a string then "finds" that line
    import linecache

    line = "import sys;exec(eval(sys.stdin.readline()))\n"
    monkeypatch.setitem(linecache.cache, "<string>", (len(line), None, [line], "<string>"))
    scope: dict = {}
    exec(compile("def k(x):\n    pass\n", "<string>", "exec"), scope)  # noqa: S102
    for fn in (scope["k"], eval(compile("lambda x: x", "<string>", "eval"))):  # noqa: S307
        with pytest.raises(PxSyntaxError, match="cannot read the source.*does not define"):
            kernel_ir(fn, TYPES)
