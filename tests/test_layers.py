"""Layers only look down (docs/DESIGN, issue 16): every import in ``src/pxos``, at module
level or inside a function, and every literal ``importlib.import_module("pxos.…")``, names a
module of the same layer or a lower one; and every module imports on its own, in a fresh
interpreter, without an import-time cycle.

The layers, lowest first: the bottom (``errors`` and the shared utilities beside it),
``ir``, ``lang``, ``codegen``, ``backends``, ``planner``, ``host``, ``lib``, ``cli``.

``import pxos`` (the package itself, ``pxos/__init__.py``) is the public API: it re-exports
the host layer (``pxos.kernel``, ``pxos.asarray``) and the libraries lazily, so it counts as
the ``lib`` layer: a library or a command may write ``import pxos`` and use it as a user
would; a lower layer may not. ``from pxos import NAME`` is resolved to the module that
defines NAME (``from pxos import errors`` is ``pxos.errors``; ``from pxos import PxError`` is
``pxos.errors``; ``from pxos import kernel`` is ``pxos.host.pykernel``), so it is judged by
that module's layer. That a submodule import first runs ``pxos/__init__.py`` is not counted:
the package's own imports are lazy (tests/test_startup.py checks that it loads no layer).
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"
PACKAGE = SRC / "pxos"

LAYERS = ("bottom", "ir", "lang", "codegen", "backends", "planner", "host", "lib", "cli")
# top-level modules that are not a layer folder: the bottom utilities, and the libraries'
# public names (``pxos.ternary`` re-exports ``pxos.lib.ternary``, ``pxos.crypto`` the host's
# pipelines) at the ``lib`` layer.
TOP_LEVEL = {
    "pxos.errors": "bottom", "pxos.version": "bottom", "pxos.cache_folder": "bottom",
    "pxos.examples_path": "bottom", "pxos.span": "bottom",
    "pxos.units": "bottom", "pxos.arraylike": "bottom", "pxos.atomic_write": "bottom",
    "pxos.events": "bottom", "pxos.registry": "bottom", "pxos.extras": "bottom",
    "pxos.testing": "lib",
    "pxos": "lib", "pxos.__main__": "cli",
    "pxos.compress": "lib", "pxos.crypto": "lib", "pxos.diversity": "lib",
    "pxos.inference": "lib", "pxos.ternary": "lib", "pxos.dask": "lib",
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = sorted(module_name(p) for p in PACKAGE.rglob("*.py"))


def layer_of(module: str) -> str:
    """The layer of a pxos module (``pxos.ir.nodes`` -> ``ir``)."""
    if module in TOP_LEVEL:
        return TOP_LEVEL[module]
    parts = module.split(".")
    if len(parts) >= 2 and parts[1] in LAYERS:
        return parts[1]
    raise AssertionError(f"{module} belongs to no layer: add it to TOP_LEVEL in {__file__}")


def _package_names() -> dict[str, str]:
    """``from pxos import NAME``: NAME -> the module defining it (pxos/__init__'s table)."""
    tree = ast.parse((PACKAGE / "__init__.py").read_text())
    names = {"PxError": "pxos.errors"}
    constants = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
            target = node.targets[0].id
            if isinstance(node.value, ast.Constant):
                constants[target] = node.value.value
            elif target == "_LAZY" and isinstance(node.value, ast.Dict):
                for key, value in zip(node.value.keys, node.value.values):
                    module = value.value if isinstance(value, ast.Constant) else \
                        constants[value.id]
                    names[key.value] = module
    return names


PACKAGE_NAMES = _package_names()


def _resolve(module: str, level: int, current: str, is_package: bool) -> str:
    if not level:
        return module
    base = current.split(".")
    base = base[:len(base) - level + (1 if is_package else 0)]
    return ".".join(base + ([module] if module else []))


def imported_modules(path: Path, source: str | None = None, current: str | None = None):
    """Yield ``(line, module)`` for every module the file at ``path`` imports (``source``
    and ``current``, the module's dotted name, stand in for a file not on disk)."""
    current = current or module_name(path)
    is_package = path.name == "__init__.py"
    text = path.read_text() if source is None else source
    for node in ast.walk(ast.parse(text, str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            base = _resolve(node.module or "", node.level, current, is_package)
            for alias in node.names:
                if base == "pxos":
                    yield node.lineno, PACKAGE_NAMES.get(alias.name, f"pxos.{alias.name}")
                else:
                    yield node.lineno, base
        elif isinstance(node, ast.Call) and _is_import_module(node.func) and node.args \
                and isinstance(node.args[0], ast.Constant) \
                and isinstance(node.args[0].value, str):
            yield node.lineno, node.args[0].value


def _is_import_module(func: ast.expr) -> bool:
    return (isinstance(func, ast.Attribute) and func.attr == "import_module") or \
        (isinstance(func, ast.Name) and func.id == "import_module")


def upward_imports() -> list[str]:
    """Every import of a higher layer, as ``file:line: a (layer) imports b (layer)``."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        mine = layer_of(module_name(path))
        for line, module in sorted(set(imported_modules(path))):
            if module != "pxos" and not module.startswith("pxos."):
                continue
            theirs = layer_of(_known(module))
            if LAYERS.index(theirs) > LAYERS.index(mine):
                found.append(f"{path.relative_to(ROOT)}:{line}: {mine} imports {module} "
                             f"({theirs})")
    return found


def _known(module: str) -> str:
    """``pxos.host.pipeline.CODECS`` written as a module path -> ``pxos.host.pipeline``."""
    while module not in MODULES and "." in module:
        module = module.rsplit(".", 1)[0]
    return module


def test_every_module_has_a_layer():
    for module in MODULES:
        assert layer_of(module) in LAYERS


def test_no_layer_imports_a_higher_one():
    found = upward_imports()
    assert not found, "upward imports:\n" + "\n".join(found)


def test_the_walker_sees_imports_inside_functions_relative_and_import_module():
    source = ("def f():\n    from pxos.host import program\n"
              "import importlib\nimportlib.import_module('pxos.cli.main')\n"
              "from ..lang import px\nfrom pxos import kernel, errors\n")
    found = sorted(set(imported_modules(PACKAGE / "ir" / "probe.py", source,
                                        "pxos.ir.probe")))
    assert found == [(2, "pxos.host"), (3, "importlib"), (4, "pxos.cli.main"),
                     (5, "pxos.lang"), (6, "pxos.errors"), (6, "pxos.host.pykernel")]
    assert layer_of(_known("pxos.host")) == "host"
    assert layer_of(_known("pxos")) == "lib"  # `import pxos`: the public API, lib layer
    assert layer_of(_known("pxos.host.pipeline.CODECS")) == "host"


def module_level_imports(path: Path):
    """The pxos modules that importing ``path`` imports at once: imports outside functions
    and outside ``if TYPE_CHECKING:``, with ``from a import b`` naming ``a.b`` when ``b`` is
    a module."""
    current = module_name(path)
    is_package = path.name == "__init__.py"
    pending = list(ast.parse(path.read_text(), str(path)).body)
    while pending:
        node = pending.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            continue
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            pending.extend(node.orelse)
            continue
        if isinstance(node, ast.Import):
            yield from (_known(a.name) for a in node.names if a.name.startswith("pxos"))
        elif isinstance(node, ast.ImportFrom):
            base = _resolve(node.module or "", node.level, current, is_package)
            if base.startswith("pxos"):
                for alias in node.names:
                    full = f"{base}.{alias.name}"
                    yield full if full in MODULES else _known(base)
        else:
            pending.extend(ast.iter_child_nodes(node))


def import_cycles() -> list[list[str]]:
    """The groups of modules that import one another at import time."""
    return strongly_connected({
        module_name(p): sorted(set(module_level_imports(p)) - {module_name(p)})
        for p in PACKAGE.rglob("*.py")})


def strongly_connected(graph: dict[str, list[str]]) -> list[list[str]]:
    """The strongly connected components of ``graph`` with more than one node (Tarjan's
    algorithm, iterative; R. Tarjan, SIAM J. Comput. 1(2), 1972)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(graph[root]))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(graph.get(child, []))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_the_cycle_finder_finds_a_cycle():
    graph = {"a": ["b"], "b": ["c"], "c": ["a", "d"], "d": [], "e": ["e"]}
    assert strongly_connected(graph) == [["a", "b", "c"]]


def test_no_import_time_cycle():
    cycles = import_cycles()
    assert not cycles, "modules importing each other at import time:\n" + "\n".join(
        " <-> ".join(c) for c in cycles)


def test_every_module_imports_alone_without_a_cycle():
    """Each module, in sorted order, is the first pxos module a fresh interpreter imports;
    an import-time cycle shows as ImportError ("partially initialized module")."""
    code = ("import importlib, sys\nbad = []\n"
            "for name in sys.argv[1:]:\n"
            "    for m in [m for m in sys.modules if m == 'pxos' or m.startswith('pxos.')]:\n"
            "        del sys.modules[m]\n"
            "    try:\n        importlib.import_module(name)\n"
            "    except ModuleNotFoundError as e:\n"
            "        if (e.name or '').split('.')[0] == 'pxos':\n"
            "            bad.append(f'{name}: {e}')\n"
            "    except ImportError as e:\n        bad.append(f'{name}: {e}')\n"
            "print('\\n'.join(bad))\n")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [str(SRC), os.environ.get("PYTHONPATH", "")]))
    done = subprocess.run([sys.executable, "-c", code, *MODULES], env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == ""


@pytest.mark.parametrize("module", ["pxos.ir.types", "pxos.errors"])
def test_a_low_module_loads_no_higher_layer(module):
    code = (f"import json, sys, {module}\n"
            "print(json.dumps(sorted({m.split('.')[1] for m in sys.modules "
            "if m.startswith('pxos.') and m.count('.') >= 2})))")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [str(SRC), os.environ.get("PYTHONPATH", "")]))
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    loaded = json.loads(out.stdout)  # the layer folders loaded
    mine = layer_of(module)
    assert all(LAYERS.index(layer) <= LAYERS.index(mine) for layer in loaded), loaded
