"""The one C-family renderer: checked IR expressions and statements to C, CUDA C or OpenCL C.

Names in generated code: a user name ``x`` becomes ``v_x`` (so no user name can ever be a
word of C or a function the code calls), the extents of array ``a`` are ``d0_a, d1_a,
d2_a`` (``int64_t``), and everything pxos adds starts with ``pxos_``. Arrays are flat and
row-major: ``a[y, x]`` is ``v_a[(int64_t)y * d1_a + x]``.
"""

from __future__ import annotations

from pxos.codegen.dialect import Dialect
from pxos.codegen.intrinsics import Intrinsics
from pxos.codegen.ranges import Ranges
from pxos.ir import nodes as ir
from pxos.ir.passes.checked import Bound
from pxos.ir.types import BOOL, F64, I32, I64, Scalar

_C_BINARY = {
    "add": "+", "sub": "-", "mul": "*", "lt": "<", "le": "<=", "gt": ">", "ge": ">=",
    "eq": "==", "ne": "!=", "and": "&&", "or": "||", "band": "&", "bor": "|", "bxor": "^",
    "shl": "<<", "shr": ">>",
}


def var_name(name: str) -> str:
    return f"v_{name}"


def dim_name(array: str, axis: int) -> str:
    return f"d{axis}_{array}"


def linear(parts: list[str], extents: list[str]) -> str:
    """The linear index of ``parts`` (x first) in a box of ``extents`` (x first, all but the
    slowest axis), z slowest: ``((z * ny + y) * nx + x)``."""
    out = parts[-1]
    for p, n in zip(reversed(parts[:-1]), reversed(extents)):
        out = f"({out} * {n} + {p})"
    return out


class Renderer:
    """Renders the statements of one kernel.

    Args:
        kernel: the checked kernel.
        dialect: the target's spellings.

    Checked mode arrives as IR: :class:`~pxos.ir.passes.checked.Bound` nodes around the
    indices (``ir/passes/checked``), rendered as the dialect's ``pxos_bound`` helper.

    Attributes set by a target before rendering: ``lane_arrays``, the variables kept per
    thread across the block loops of the C target's loop interchange (``codegen/c_loops``),
    rendered ``v_x[<lane>]`` with ``lane`` the C expression of the current thread's slot;
    ``return_stmt``, how RETURN is spelled. Barriers arrive already rewritten
    (``ir/passes/fission``): an ``ir.ThreadLoop`` is rendered as loops over the thread
    slots of a block.
    """

    def __init__(self, kernel: ir.Kernel, dialect: Dialect):
        self.kernel = kernel
        self.d = dialect
        self.intrinsics = (dialect.intrinsics_class or Intrinsics)(dialect)
        self.shared = {s.name: s for s in kernel.shared}
        self.lane_arrays: set[str] = set()
        self.lane = "pxos_l"
        self.return_stmt = "return;"
        self._line = None
        self.ranges = Ranges(kernel)
        self.thread_index: str | None = None  # THREAD_ID's C expression, if not the geometry's
        self.element_override: dict[str, str] = {}  # array -> what its element reads as
        self.owned: dict[str, str] = {}  # array -> the C flag of its copy (own_atomics)

    # ------------------------------------------------------------------ expressions
    def expr(self, e: ir.Expr) -> str:
        text = getattr(self, "_e_" + type(e).__name__.lower())(e)
        narrow = self.d.narrow_forms.get(e.type)  # a narrow integer kept in a wider value
        if narrow and isinstance(e, (ir.Binary, ir.Unary, ir.Cast, ir.Call)):
            return narrow.format(text)
        return text

    def index(self, e: ir.Expr) -> str:
        """Index expression ``e``, as ``i32`` where the dialect's indices are 32-bit."""
        text = self.expr(e)
        return self.d.cast(text, I32) if self.d.index32 and e.type.bits == 64 else text

    def _e_const(self, e: ir.Const) -> str:
        return self.d.literal(e.value, e.type)

    def _e_var(self, e: ir.Var) -> str:
        return self.variable(e.name)

    def variable(self, name: str) -> str:
        if name in self.lane_arrays:
            return f"{var_name(name)}[{self.lane}]"
        return var_name(name)

    def _e_load(self, e: ir.Load) -> str:
        text = self.element(e.array, e.index)
        words = self.d.bool_words  # a bool element held in a wider word (WGSL)
        return words[0].format(text) if words and self.kernel_array_elem(e.array) == BOOL \
            else text

    def element(self, array: str, index: tuple[ir.Expr, ...]) -> str:
        if array in self.element_override:  # codegen/gpu_stride: a vector's component
            return self.element_override[array]
        return f"{var_name(array)}[{self.flat_index(array, index)}]"

    def flat_index(self, array: str, index: tuple[ir.Expr, ...]) -> str:
        """The row-major flat index of ``array[index]`` (``int64_t`` for 2-D and 3-D)."""
        parts = [self.index(i) for i in index]
        if len(parts) == 1:
            return parts[0]
        flat = self.d.as_index(parts[0])
        for axis, p in enumerate(parts[1:], start=1):
            flat = f"({flat} * {self.extent(array, axis)} + {p})"
        return flat

    def extent(self, array: str, axis: int) -> str:
        if array in self.shared:
            return str(self.shared[array].shape[axis])
        return dim_name(array, axis)

    def _e_bound(self, e: Bound) -> str:
        """Checked mode: the index, or 0 after recording a violation in ``pxos_err``."""
        where = e.where
        return self.intrinsics.call(
            "bound", I64, self.d.as_index(self.index(e.args[0])), self.extent(e.array, e.axis),
            str(where.line), str(where.col), str(e.array_no), str(e.axis),
            *["pxos_err"] * self.d.err_argument)

    def _e_dim(self, e: ir.Dim) -> str:
        if e.axis is not None:
            return self.d.as_int(self.extent(e.array, e.axis))
        ndim = len(self.shared[e.array].shape) if e.array in self.shared else \
            self.kernel.param(e.array).type.ndim
        return self.d.as_int(
            "(" + " * ".join(self.extent(e.array, a) for a in range(ndim)) + ")")

    def _e_builtin(self, e: ir.Builtin) -> str:
        if e.name == "thread_id" and self.thread_index is not None:
            return self.thread_index  # a 1-D grid-stride loop's index (codegen/gpu_stride)
        g = self.d.geometry
        axes = "xyz"[:self.kernel.ndim]
        tid = [f"({g['b' + a]} * {g['bs' + a]} + {g['l' + a]})" for a in axes]
        if e.axis is not None:
            return {"thread_id": tid[e.axis], "local_id": g["l" + axes[e.axis]],
                    "block_id": g["b" + axes[e.axis]],
                    "block_size": g["bs" + axes[e.axis]]}[e.name]
        if len(axes) == 1:
            return {"thread_id": tid[0], "local_id": g["lx"], "block_id": g["bx"],
                    "block_size": g["bsx"], "num_threads": self.d.as_int(g['nx'])}[e.name]
        if e.name == "thread_id":  # the row-major linear index, as a flat array's
            flat = linear(tid[:-1] + [self.d.as_index(tid[-1])],
                          [g['n' + a] for a in axes[:-1]])
            return self.d.as_int(flat)
        if e.name == "local_id":
            return linear([g["l" + a] for a in axes], [g["bs" + a] for a in axes[:-1]])
        if e.name == "block_id":
            return linear([g["b" + a] for a in axes], [g["g" + a] for a in axes[:-1]])
        if e.name == "block_size":
            return "(" + " * ".join(g["bs" + a] for a in axes) + ")"
        return self.d.as_int("(" + " * ".join(g["n" + a] for a in axes) + ")")  # num_threads

    def _e_unary(self, e: ir.Unary) -> str:
        a = self.expr(e.operand)
        if e.op == "neg":
            return self.d.negate(a, e.type, self._may_wrap(e))
        return {"not": f"(!{a})", "bnot": f"(~{a})"}[e.op]

    def _may_wrap(self, e: ir.Expr) -> bool:
        """Whether signed ``e`` (``+ - *`` or negation, 32 or 64 bits) may overflow, so C
        must compute it in the unsigned type (``codegen/ranges``)."""
        t = e.type
        return t.kind == "i" and t.bits >= 32 and not self.ranges.fits(e)

    def _e_binary(self, e: ir.Binary) -> str:
        a, b = self.expr(e.lhs), self.expr(e.rhs)
        t = e.lhs.type
        if e.op in ("div", "mod"):
            return self.operation(e.op, t, [a, b])
        wraps = e.op in ("add", "sub", "mul") and not t.is_float and t != BOOL \
            and self._may_wrap(e)
        return self.d.binary(_C_BINARY[e.op], a, b, t, wraps)

    def _e_call(self, e: ir.Call) -> str:
        return self.operation(e.fn, e.type, [self.expr(a) for a in e.args])

    def operation(self, name: str, t: Scalar, args: list[str]) -> str:
        """Operation ``name`` (``ir/functions``) of the rendered ``args`` in type ``t``, as
        the dialect spells it: a function call, a helper (``@kind``) or a template."""
        text = self.d.function(name).spelling(t.is_float, t.kind)
        if text.startswith("@"):
            return self.intrinsics.call(text[1:], t, *args)
        if "{" in text:
            extra = {"one": self.d.literal(1.0, t)} if "{one}" in text else {}
            if "{sqrt}" in text:
                extra["sqrt"] = self.operation("sqrt", t, args[:1])
            return text.format(*args, **extra)
        f32, _, f64 = text.partition("|")
        return f"{f64 if f64 and t == F64 else f32}({', '.join(args)})"

    def _e_cast(self, e: ir.Cast) -> str:
        return self.d.cast(self.expr(e.operand), e.to)

    # ------------------------------------------------------------------ statements
    def body(self, body: ir.Body, indent: int) -> list[str]:
        out: list[str] = []
        for s in body:
            out.extend(self.stmt(s, indent))
        return out

    def stmt(self, s: ir.Stmt, indent: int) -> list[str]:
        pad = "    " * indent
        lines = []
        if s.span.line and s.span.line != self._line:
            self._line = s.span.line
            lines.append(self.d.line_directive(s.span.line, s.span.file))
        lines.extend(pad + x if x and not x.startswith("#") else x
                     for x in getattr(self, "_s_" + type(s).__name__.lower())(s, indent))
        return lines

    def _nested(self, body: ir.Body, indent: int) -> list[str]:
        """A nested body, indented one level relative to its statement."""
        inner = self.body(body, 1)
        self._line = None  # re-state the line after the closing brace
        return inner

    def _s_assign(self, s: ir.Assign, indent: int) -> list[str]:
        return [f"{self.variable(s.name)} = {self.expr(s.value)};"]

    def _s_store(self, s: ir.Store, indent: int) -> list[str]:
        element, value, words = self.element(s.array, s.index), self.expr(s.value), \
            self.d.bool_words
        if words and self.kernel_array_elem(s.array) == BOOL:
            value = words[1].format(value)
        return [f"{element} = {value};"]

    def _s_if(self, s: ir.If, indent: int) -> list[str]:
        out = []
        for n, (cond, arm) in enumerate(s.arms):
            out.append(f"{'} else ' if n else ''}if ({_strip(self.expr(cond))}) {{")
            out.extend(self._nested(arm, indent))
        if s.orelse:
            out.append("} else {")
            out.extend(self._nested(s.orelse, indent))
        out.append("}")
        return out

    def _s_for(self, s: ir.For, indent: int) -> list[str]:
        v = self.variable(s.var)
        stop = self.expr(s.stop)
        if s.step is None:
            cond, inc = f"{v} < {stop}", self.d.increment(v)
        else:
            step = self.expr(s.step)
            if isinstance(s.step, ir.Const):
                cond = f"{v} {'<' if s.step.value > 0 else '>'} {stop}"
            else:
                cond = self.d.select(f"{step} > 0", f"{v} < {stop}", f"{v} > {stop}")
            t = self.kernel_var_type(s.var)
            unit = isinstance(s.step, ir.Const) and s.step.value in (1, -1)
            inc = self.d.step(v, step, t, not unit and t.kind == "i" and t.bits >= 32)
        head = f"for ({v} = {_strip(self.expr(s.start))}; {cond}; {inc}) {{"
        return [head, *self._nested(s.body, indent), "}"]

    def _s_while(self, s: ir.While, indent: int) -> list[str]:
        return [f"while ({_strip(self.expr(s.cond))}) {{", *self._nested(s.body, indent), "}"]

    def _s_break(self, s, indent):
        return ["break;"]

    def _s_continue(self, s, indent):
        return ["continue;"]

    def _s_return(self, s, indent):
        return [self.return_stmt]

    def _s_sync(self, s, indent):
        return [self.d.barrier]

    def _s_threadloop(self, s: ir.ThreadLoop, indent: int) -> list[str]:
        """Loops over a block's thread slots (``ir.ThreadLoop``), x innermost, on the launch
        geometry's names (``pxos_lx`` …, which LOCAL_ID and THREAD_ID read); the private
        variables declared inside; RETURN jumps to the end of the slot's run. The x loop
        gets the dialect's SIMD pragma where the body holds no loop: gcc vectorises no
        thread loop holding an inner loop (it would keep each thread's variables in "omp
        simd arrays" in memory instead)."""
        d, g, types = self.d, self.d.geometry, dict(self.kernel.variables)
        returns, self.return_stmt = self.return_stmt, "goto pxos_end;"
        loop = [d.declare(var_name(n), types[n], "0") for n in s.private]
        loop += self.body(s.body, 0)
        self.return_stmt = returns
        self._line = None
        if any(isinstance(t, ir.Return) for t in ir.walk(s.body)):
            loop.append("pxos_end: ;")
        simd = d.simd_pragma and not any(isinstance(t, (ir.For, ir.While))
                                         for t in ir.walk(s.body))
        for a, stop in zip("xyz", s.stops):
            v = g["l" + a]
            head = f"for ({d.type_name(I32)} {v} = 0; {v} < {self.expr(stop)}; ++{v}) {{"
            loop = [d.simd_pragma] * bool(simd and a == "x") + [
                head, *["    " + x if x and not x.startswith("#") else x for x in loop], "}"]
        return loop

    def _s_atomic(self, s: ir.Atomic, indent: int) -> list[str]:
        t = self.kernel_array_elem(s.array)
        args = ["&" + self.element(s.array, s.index), self.expr(s.value)]
        call = self.operation(f"atomic_{s.op}", t, args)
        if s.result is None and s.array in self.owned:  # a piece's own copy: no lock
            own = self.intrinsics.call(f"own_{s.op}", t, *args)
            return [f"if ({self.owned[s.array]}) {self.d.discard(own)}",
                    f"else {self.d.discard(call)}"]
        if s.result is None:
            return [self.d.discard(call)]
        return [f"{self.variable(s.result)} = {call};"]

    def kernel_var_type(self, name: str) -> Scalar:
        return dict(self.kernel.variables)[name]

    def kernel_array_elem(self, array: str) -> Scalar:
        if array in self.shared:
            return self.shared[array].elem
        return self.kernel.param(array).type.elem


def _strip(text: str) -> str:
    """``(a < b)`` → ``a < b`` where the parentheses enclose the whole text."""
    if text.startswith("(") and text.endswith(")"):
        depth = 0
        for i, ch in enumerate(text):
            depth += ch == "("
            depth -= ch == ")"
            if depth == 0 and i < len(text) - 1:
                return text
        return text[1:-1]
    return text
