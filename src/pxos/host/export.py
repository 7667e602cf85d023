"""``pxos export --standalone``: one kernel of a `.px` program as a CUDA C program.

The exported file needs nothing of pxos: ``nvcc`` builds it alone (``docs/export.md``). What
it computes is learned from the program itself: :func:`plan_export` runs the host statements
before the kernel's first ``RUN`` on the CPU (``host/program``; hence this module's place in
the host layer), which gives each argument's type, shape and value and the thread counts,
and follows how each array got its contents:

* ``ALLOC`` (zeros), ``FILL`` and ``RANDOM`` are done again by the exported program (``RANDOM``
  with a port of ``host/rng``'s generator: same seed, same values);
* anything else (``READ_FILE``, the output of an earlier ``RUN``, ``SORT``) is saved beside
  the ``.cu`` as ``<stem>.<array>.npy``, which the program loads.

When every array extent and thread count derives from one size (``standalone_size``), the
program takes a new size on its command line. :func:`export_standalone` renders the file
(``standalone_host``).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pxos import backends
from pxos.codegen.standalone_size import SizeModel, Source, Sym, evaluate, render
from pxos.errors import PxBackendError, PxError
from pxos.host.program import MAX_ELEMENTS, ProgramRun
from pxos.host.rng import default_range
from pxos.ir import nodes as ir
from pxos.ir.check_host import check_launch
from pxos.ir.evaluate import eval_scalar
from pxos.ir.typecheck import convert_value
from pxos.ir.types import Array, Scalar, scalar_of_dtype

# the statements run before the RUN: all but those whose only effect is outside the program
_SKIPPED = (ir.WriteFile, ir.Print)


@dataclass(frozen=True)
class ExportArray:
    """An array the kernel takes, as the exported program makes it.

    Attributes:
        name: its name in the program (arrays passed twice appear once).
        elem: element type; ``shape`` its extents at the program's own size.
        extents: per axis, a C ``int64_t`` expression (of ``n`` when the size can change).
        access: what the kernel does with it: ``r``, ``w`` or ``rw``.
        recipe: how its contents are made: ``("zeros",)``, ``("fill", bits)`` (the value's
            bit pattern), ``("random", seed, lo, hi)`` (lo and hi in the element type;
            integers as ``lo`` and width ``hi - lo``), or ``("file", filename)``.
        origin: the recipe in words, with the `.px` line, for the program's report.
        data: the contents at the ``RUN`` (saved for a ``file`` recipe).
    """

    name: str
    elem: Scalar
    shape: tuple[int, ...]
    extents: tuple[str, ...]
    access: str
    recipe: tuple
    origin: str
    data: np.ndarray


@dataclass(frozen=True)
class ExportScalar:
    """A scalar argument: its parameter, the value at the ``RUN`` and a C expression."""

    param: ir.Param
    value: object
    c_value: str


@dataclass(frozen=True)
class ExportPlan:
    """Everything the exported program needs to know.

    Attributes:
        bindings: per kernel parameter, an index into ``arrays`` or an :class:`ExportScalar`.
        threads: threads per axis at the program's own size; ``threads_c`` as C expressions.
        size: the size N when the program may change it; ``fixed_why`` says why not if not.
        order_dependent: the kernel uses an atomic's old value or ``ATOMIC_EXCH``, so
            results depend on the order of threads (compared as sorted multisets).
    """

    program: ir.Program
    kernel: ir.Kernel
    run: ir.Run
    arrays: tuple[ExportArray, ...]
    bindings: tuple[int | ExportScalar, ...]
    threads: tuple[int, ...]
    threads_c: tuple[str, ...]
    size: Source | None
    fixed_why: str | None
    order_dependent: bool


@dataclass(frozen=True)
class StandaloneExport:
    """The exported program: ``source`` (the ``.cu`` text) and ``files`` (side files to
    write beside it: file name → bytes)."""

    source: str
    files: dict[str, bytes]


def export_standalone(program: ir.Program, kernel: str, output: str = "",
                      allow: list[Path] | None = None) -> StandaloneExport:
    """Export kernel ``kernel`` of checked ``program`` as a standalone CUDA program.

    Args:
        program: from ``ir.check_host.check_program``.
        kernel: the kernel's name.
        output: the ``.cu`` file's name (its stem names the side files); default
            ``<kernel>.cu``.
        allow: extra folders the program may read (``--allow-path``).

    Raises:
        PxError: no such kernel, a kernel never RUN, or any error of the host statements
            before the RUN.
    """
    from pxos.codegen.standalone_host import render_program

    output = Path(output or f"{kernel}.cu").name
    plan = plan_export(program, kernel, allow, stem=Path(output).stem)
    files = {}
    for a in plan.arrays:
        if a.recipe[0] == "file":
            buf = io.BytesIO()
            np.save(buf, a.data, allow_pickle=False)
            files[a.recipe[1]] = buf.getvalue()
    return StandaloneExport(render_program(plan, output), files)


def plan_export(program: ir.Program, kernel_name: str, allow=None,
                stem: str = "") -> ExportPlan:
    """Run the host statements before the first ``RUN kernel_name`` and plan the export.

    Args:
        program: a checked program.
        kernel_name: the kernel to export.
        allow: extra folders the program may read.
        stem: the output's file name without ``.cu`` (side files are ``<stem>.<array>.npy``).

    Raises:
        PxError: unknown kernel, kernel never RUN or taking no array, or an error of the
            statements run.
    """
    kernel, index = _find_run(program, kernel_name)
    run = program.statements[index]
    runner, model, recipes = _run_prefix(program, program.statements[:index], allow)
    args = [runner.array(a.name, a.span) if isinstance(a, ir.Var) and  # current contents
            isinstance(runner.values.get(a.name), np.ndarray) else runner.evaluate(a)
            for a in run.args]
    check_launch(kernel, args, run.span, [a.span for a in run.args])

    # arrays by name (one passed twice is one array), scalars by parameter
    access, modes, env, shapes, scalars = dict(kernel.access), {}, {}, {}, {}
    for p, a, e in zip(kernel.params, args, run.args):
        if isinstance(p.type, Array):
            modes.setdefault(e.name, set()).update(access.get(p.name, "r"))
            shapes[p.name] = model.shapes[e.name]
        else:
            a = p.type.dtype.type(convert_value(np.asarray(a).item(), p.type))
            scalars[p.name] = model.expr(e)
        env[p.name] = a
    threads = tuple(int(eval_scalar(t, env)) for t in kernel.threads)
    if any(t < 0 for t in threads) or int(np.prod(threads)) > MAX_ELEMENTS:
        raise PxError(f"kernel {kernel.name!r} would launch {list(threads)} threads; each "
                      f"count must be in 0..{MAX_ELEMENTS}", run.span)
    thread_syms = [model.expr(t, shapes, scalars) for t in kernel.threads]
    names = list(modes)
    size, why = _choose_size(model, names, recipes, scalars, thread_syms, threads, runner)
    values = [s.value for s in model.sources]
    k = model.sources.index(size) if size else -1

    def c_int(sym: Sym, actual: int) -> str:
        """A C expression of n where the value follows the size, else the value."""
        return render(sym.tree, k, values) if size and k in sym.deps else f"INT64_C({actual})"

    arrays = []
    for n in names:
        arr, (recipe, origin, _) = runner.array(n, run.span), recipes[n]
        if recipe[0] == "file":
            recipe = ("file", f"{stem or kernel_name}.{n}.npy")
        mode = "rw" if modes[n] >= {"r", "w"} else "w" if "w" in modes[n] else "r"
        arrays.append(ExportArray(
            n, scalar_of_dtype(arr.dtype), arr.shape,
            tuple(c_int(s, d) for s, d in zip(model.shapes[n], arr.shape)), mode, recipe,
            origin, arr))
    bindings = tuple(
        names.index(e.name) if isinstance(p.type, Array) else ExportScalar(
            p, env[p.name],
            c_int(scalars[p.name], 0) if size and k in scalars[p.name].deps else None)
        for p, e in zip(kernel.params, run.args))
    order = any(isinstance(s, ir.Atomic) and (s.result is not None or s.op == "exch")
                for s in ir.walk(kernel.body))
    return ExportPlan(program, kernel, run, tuple(arrays), bindings, threads,
                      tuple(c_int(s, t) for s, t in zip(thread_syms, threads)), size, why,
                      order)


def _find_run(program: ir.Program, name: str) -> tuple[ir.Kernel, int]:
    """The kernel ``name`` and the index of its first ``RUN`` among the statements."""
    kernel = program.kernel(name)
    if kernel is None:
        names = ", ".join(k.name for k in program.kernels) or "none"
        raise PxError(f"no kernel named {name!r} in {program.file} (kernels: {names})")
    if not any(isinstance(p.type, Array) for p in kernel.params):
        raise PxError(f"kernel {name!r} takes no array: the exported program would have "
                      "nothing to verify", kernel.span)
    index = next((i for i, s in enumerate(program.statements)
                  if isinstance(s, ir.Run) and s.kernel == name), None)
    nested = next((s for s in ir.walk(program.statements)
                   if isinstance(s, ir.Run) and s.kernel == name), None)
    if index is None and nested is not None:
        raise PxError(f"kernel {name!r} is RUN only inside a host loop or IF; the export "
                      "learns its arguments from a RUN at the top level of the program",
                      nested.span, f"add a RUN {name} … before the loop, or export another "
                      "kernel")
    if index is None:
        raise PxError(f"kernel {name!r} is never RUN in {program.file}; the export learns "
                      "its arguments' types, shapes and values from its first RUN",
                      kernel.span, f"add a line such as RUN {name} … after the statements "
                      "that make its arguments")
    return kernel, index


def _run_prefix(program: ir.Program, prefix, allow):
    """Run ``prefix`` statement by statement on a CPU backend; follow sizes and recipes.

    Returns:
        The :class:`ProgramRun` (its ``values`` are the names at the RUN), the
        :class:`SizeModel`, and per array ``(recipe, origin, deps)``: how its contents were
        last made, in words, and the size sources that recipe's values depend on.
    """
    try:
        backends.get("c")
        device = "c"
    except PxBackendError:  # no C compiler: the interpreter gives the same values
        device = "interp"
    runner = ProgramRun(program, device=device, allow=list(allow or []),
                        emit=lambda _text: None)
    model = SizeModel()
    recipes: dict[str, tuple] = {}
    for s in prefix:
        if isinstance(s, _SKIPPED):
            continue
        where = f"(line {s.span.line})"
        if isinstance(s, (ir.If, ir.For, ir.While)):  # its names: saved as they are after it
            runner.run_statement(s)
            label = f"{ir.keyword(s)} {where}"
            names = _names_touched(program, s)
            model.made_by(label, names, runner.values)
            for name in names:
                if isinstance(runner.values.get(name), np.ndarray):
                    recipes[name] = (("file",), f"made in the {label}", frozenset())
            continue
        if isinstance(s, ir.RandomFill):  # the values RANDOM uses, before it runs
            seed = int(runner.evaluate(s.seed))
            low = None if s.low is None else runner.evaluate(s.low).item()
            high = None if s.high is None else runner.evaluate(s.high).item()
        runner.execute(s)
        model.step(s, runner.values)
        if isinstance(s, (ir.Alloc, ir.AllocLike)):
            recipes[s.name] = (("zeros",), f"zeros: ALLOC {where}", frozenset())
        elif isinstance(s, ir.Fill):
            recipes[s.name] = _fill_recipe(runner.array(s.name, s.span), s, where,
                                           model.expr(s.value).deps)
        elif isinstance(s, ir.RandomFill):
            deps = frozenset().union(*(model.expr(e).deps for e in (s.seed, s.low, s.high)
                                       if e is not None))
            recipes[s.name] = _random_recipe(runner.values[s.name].dtype, seed, low, high,
                                             where, deps)
        elif isinstance(s, ir.ReadFile):
            recipes[s.name] = (("file",), f"READ_FILE {s.path!r} {where}", frozenset())
        elif isinstance(s, ir.Sort):
            recipes[s.result] = (("file",), f"SORT {s.source} {where}", frozenset())
        elif isinstance(s, ir.Run):
            k = program.kernel(s.kernel)
            for p, a in zip(k.params, s.args):
                if "w" in dict(k.access).get(p.name, ""):
                    recipes[a.name] = (("file",), f"output of RUN {s.kernel} {where}",
                                       frozenset())
    return runner, model, recipes


def _names_touched(program: ir.Program, compound: ir.Stmt) -> list[str]:
    """The names the statements inside ``compound`` define or change."""
    names = [compound.var] if isinstance(compound, ir.For) else []
    for s in ir.walk(sum(ir.children(compound), ())):
        names += [n for n in (getattr(s, "name", None), getattr(s, "result", None),
                              getattr(s, "var", None), getattr(s, "a", None),
                              getattr(s, "b", None)) if isinstance(n, str)]
        if isinstance(s, ir.Run):
            k = program.kernel(s.kernel)
            names += [a.name for a, p in zip(s.args, k.params)
                      if "w" in dict(k.access).get(p.name, "")]
    return list(dict.fromkeys(names))


def _fill_recipe(arr: np.ndarray, s: ir.Fill, where: str, deps) -> tuple:
    """``FILL``: the element bit pattern, read back from the filled array."""
    first = arr.reshape(-1)[:1]
    bits = int(first.view(f"u{arr.itemsize}")[0]) if first.size else 0
    shown = first[0].item() if first.size else 0
    return ("fill", bits), f"FILL {shown} {where}", deps


def _random_recipe(dtype: np.dtype, seed: int, low, high, where: str, deps) -> tuple:
    """``RANDOM``: the seed as 64 bits, and the range as ``host/rng.py`` uses it."""
    text = f"RANDOM SEED {seed}" + ("" if low is None else f" RANGE {low} {high}")
    seed &= 0xFFFFFFFFFFFFFFFF
    if dtype == np.bool_:
        return ("random", seed, 0, 0), f"{text} {where}", deps
    lo, hi = default_range(dtype) if low is None else (low, high)
    if dtype.kind == "f":
        # lo and hi rounded to the element type, as host/rng.py computes with them
        return ("random", seed, float(dtype.type(lo)), float(dtype.type(hi))), \
            f"{text} {where}", deps
    return ("random", seed, int(lo), int(hi) - int(lo)), f"{text} {where}", deps


def _choose_size(model: SizeModel, names: list[str], recipes: dict, scalars: dict,
                 thread_syms: list[Sym], threads: tuple[int, ...], runner: ProgramRun):
    """The size N, or ``(None, why)``: the one source the thread counts derive from (the
    array extents', when the thread counts are constants). Extents from other sources stay
    as they are (a histogram's 256 bins), unless such a source has N's value: then the two
    cannot be told apart."""
    extents = [s for n in names for s in model.shapes[n]]
    sources = frozenset().union(*(s.deps for s in thread_syms)) or \
        frozenset().union(*(s.deps for s in extents))
    labels = [model.sources[k].label for k in sorted(sources)]
    if not sources:
        return None, "no thread count or array extent is a literal or a SET of the program"
    if any(model.sources[k].fixed for k in sources):
        return None, f"the sizes come from a file: {labels[0]}"
    if len(sources) > 1:
        return None, (f"the thread counts come from {len(sources)} places "
                      f"({'; '.join(labels)}); a single SET would make them one size")
    (k,) = sources
    size = model.sources[k]
    same = [s.label for i, s in enumerate(model.sources) if i != k and s.value == size.value
            and any(i in e.deps for e in extents)]
    if same:
        return None, f"{same[0]} has the same value as {size.label}; use one SET for both"
    for n in names:
        recipe, origin, content_deps = recipes[n]
        if recipe[0] == "file":
            return None, f"array {n!r} is saved at the program's size: {origin}"
        if k in content_deps:
            return None, f"the contents of {n!r} depend on the size: {origin}"
    for name, sym in scalars.items():
        if k in sym.deps and sym.tree is None:
            return None, f"argument {name!r} depends on the size in a way the export " \
                         "cannot compute again"
    sized = [s for s in extents + thread_syms if k in s.deps]
    if any(s.tree is None for s in sized):
        return None, "an array extent or thread count is not an integer expression of it"
    values = [s.value for s in model.sources]
    actual = [d for n in names for d in runner.values[n].shape] + list(threads)
    if any(k in s.deps and evaluate(s.tree, values) != v  # a pxos bug: keep the sizes
           for s, v in zip(extents + thread_syms, actual)):
        return None, "the exporter could not reproduce the sizes from it"
    return size, None
