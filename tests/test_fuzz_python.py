"""Fuzzing the Python front end: mutated Python kernels raise only ``PxError``.

Each input is one ``@pxos.kernel`` function of ``examples/python`` with a few random
mutations of its syntax tree (an operator, a comparison, a constant or a name replaced, a
statement dropped or repeated, an expression wrapped in a call or an operator, an index
given more or fewer axes). The mutant is written to a file (the front end reads a
function's source) and imported; then building its IR (``lang/py/frontend.kernel_ir``),
checking it, and rendering C, OpenCL and WGSL must either succeed or raise a
``PxError`` that names a line of that file. Anything else (an ``AttributeError`` from a
construct nobody thought of, a ``KeyError`` in a renderer) is a bug. Nothing is run: a
mutant may loop forever or race.

``PXOS_FUZZ_COUNT`` sets the inputs (default 100: a few seconds).
"""

from __future__ import annotations

import ast
import copy
import importlib.util
import inspect
import os
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from pxos.codegen.c import render_c
from pxos.codegen.opencl import render_opencl
from pxos.codegen.wgsl import render_wgsl
from pxos.errors import PxError
from pxos.ir.check import check_kernel
from pxos.lang.py.frontend import kernel_ir

from tests.conftest import EXAMPLES

COUNT = int(os.environ.get("PXOS_FUZZ_COUNT", "100"))
FUZZ = settings(max_examples=COUNT, deadline=None, suppress_health_check=list(HealthCheck),
                database=None)


def _kernels() -> list[tuple[str, ast.Module, ast.FunctionDef, tuple | None]]:
    """(file name, its module, a kernel's def, its block) for every kernel of the examples."""
    out = []
    for path in sorted((EXAMPLES / "python").glob("*.py")):
        module = ast.parse(path.read_text(encoding="utf-8"))
        for node in module.body:
            if isinstance(node, ast.FunctionDef) and node.decorator_list:
                deco = node.decorator_list[0]
                if "kernel" not in ast.unparse(deco):
                    continue
                block = next((ast.literal_eval(k.value) for k in getattr(deco, "keywords", [])
                              if k.arg == "block"), None)
                out.append((path.name, module, node, block))
    return out


KERNELS = _kernels()
OPERATORS = [ast.Add, ast.Sub, ast.Mult, ast.Div, ast.FloorDiv, ast.Mod, ast.Pow, ast.LShift,
             ast.RShift, ast.BitOr, ast.BitXor, ast.BitAnd, ast.MatMult]
COMPARISONS = [ast.Eq, ast.NotEq, ast.Lt, ast.LtE, ast.Gt, ast.GtE, ast.Is, ast.IsNot,
               ast.In, ast.NotIn]
CONSTANTS = [0, 1, -1, 2, 255, 2**31, 2**63, 10**30, 0.5, -0.0, 1e308, float("inf"), True,
             False, None, "text", b"bytes", 1j]
NAMES = ["math", "pxos", "np", "len", "range", "abs", "min", "max", "int", "float", "round",
         "print", "undefined_name", "x", "i", "a", "out", "N"]
CALLS = ["abs", "math.sqrt", "math.floor", "int", "float", "round", "len", "min", "pxos.f32",
         "pxos.i64", "pxos.u8", "math.exp", "pxos.thread_id", "pxos.sync_threads"]


def _mutate(tree: ast.FunctionDef, data) -> None:
    """One random change of ``tree`` (in place)."""
    nodes = [n for n in ast.walk(tree) if n is not tree]
    node = data.draw(st.sampled_from(nodes))
    kind = data.draw(st.sampled_from(["operator", "compare", "constant", "name", "drop",
                                      "repeat", "wrap", "unary", "index"]))
    if kind == "operator" and isinstance(node, (ast.BinOp, ast.AugAssign)):
        node.op = data.draw(st.sampled_from(OPERATORS))()
    elif kind == "compare" and isinstance(node, ast.Compare):
        node.ops = [data.draw(st.sampled_from(COMPARISONS))() for _ in node.ops]
    elif kind == "constant" and isinstance(node, ast.Constant):
        node.value = data.draw(st.sampled_from(CONSTANTS))
    elif kind == "name" and isinstance(node, ast.Name):
        node.id = data.draw(st.sampled_from(NAMES))
    elif kind in ("drop", "repeat"):
        bodies = [n for n in ast.walk(tree) if isinstance(getattr(n, "body", None), list)
                  and n.body and isinstance(n.body[0], ast.stmt)]
        owner = data.draw(st.sampled_from(bodies))
        at = data.draw(st.integers(0, len(owner.body) - 1))
        if kind == "drop" and len(owner.body) > 1:
            del owner.body[at]
        else:
            owner.body.insert(at, copy.deepcopy(owner.body[at]))
    elif kind == "wrap":
        _replace_expr(tree, data, lambda e: ast.Call(
            ast.parse(data.draw(st.sampled_from(CALLS)), mode="eval").body, [e], []))
    elif kind == "unary":
        _replace_expr(tree, data, lambda e: ast.UnaryOp(
            data.draw(st.sampled_from([ast.USub, ast.Not, ast.Invert, ast.UAdd]))(), e))
    elif kind == "index" and isinstance(node, ast.Subscript):
        axes = data.draw(st.integers(0, 4))
        node.slice = ast.Tuple([ast.Constant(0)] * axes, ast.Load()) if axes != 1 \
            else ast.Constant(data.draw(st.sampled_from([0, -1, 1.5, None])))


def _replace_expr(tree: ast.FunctionDef, data, make) -> None:
    """Replace one loaded expression of ``tree`` by ``make(it)``."""
    spots = [(parent, field) for parent in ast.walk(tree)
             for field, value in ast.iter_fields(parent)
             if isinstance(value, ast.expr) and not isinstance(value, ast.Starred)
             and not isinstance(getattr(value, "ctx", ast.Load()), (ast.Store, ast.Del))
             and field not in ("annotation", "returns")]
    if spots:
        parent, field = data.draw(st.sampled_from(spots))
        setattr(parent, field, make(getattr(parent, field)))


@st.composite
def mutant(draw):
    name, module, kernel, block = draw(st.sampled_from(KERNELS))
    tree = copy.deepcopy(kernel)
    tree.decorator_list = []
    for _ in range(draw(st.integers(1, 3))):
        _mutate(tree, draw(st.data()))
    imports = [n for n in module.body if isinstance(n, (ast.Import, ast.ImportFrom))
               or isinstance(n, ast.Assign)]  # the module's names (Grid = pxos.Array[…])
    text = ast.unparse(ast.fix_missing_locations(ast.Module(imports + [tree], [])))
    return name, tree.name, text, block


def _load(text: str, tmp: Path, fn_name: str):
    """The function ``fn_name`` of a module holding ``text`` (None: Python refuses it)."""
    path = tmp / "mutant.py"
    path.write_text(text, encoding="utf-8")
    name = f"pxos_fuzz_mutant_{abs(hash(text))}"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    try:
        compile(text, str(path), "exec")
    except (SyntaxError, ValueError):
        return None, path
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except (NameError, TypeError, AttributeError, SyntaxError, ValueError, OverflowError,
            ZeroDivisionError):  # the module's own top level, as Python runs it
        return None, path
    finally:
        sys.modules.pop(name, None)
    return getattr(module, fn_name), path


@FUZZ
@given(mutant())
def test_fuzz_mutated_python_kernels(tmp_path_factory, case):
    _, fn_name, text, block = case
    fn, path = _load(text, tmp_path_factory.mktemp("m"), fn_name)
    if fn is None:
        return
    try:
        kernel = check_kernel(kernel_ir(fn, {}, block=block))
        for render in (render_c, render_opencl, render_wgsl):
            render(kernel)
    except PxError as err:
        assert err.span is not None, err.render()
        assert Path(err.span.file) == path and err.span.line >= 1, err.render()
        inspect.getsource(fn)  # the file is still the mutant's


@pytest.mark.parametrize("name,kernel", [(f"{n}:{k.name}", k) for n, _, k, _ in KERNELS])
def test_every_example_kernel_takes_part(name, kernel):
    assert kernel.decorator_list  # the corpus is every @pxos.kernel of examples/python
