"""One `.px` line's grammar rules to IR: a statement, or a :class:`Header` for a line that
opens or shapes a block (``lang/px/parser`` assembles those into blocks and kernels). Each
rule of grammar.lark (its alias where it has one) is one method of :class:`ToIR`, called with
the rule's position and its kept children: by :meth:`ToIR.transform` on a Lark parse tree
(``lang/px/lines``), and directly by the fast path (``lang/px/fast_parse``), so both build
the same IR from the same code. This module does not import Lark.
"""

from __future__ import annotations

from dataclasses import dataclass

from pxos.errors import PxSyntaxError, PxTypeError
from pxos.ir import nodes as ir
from pxos.ir.types import Array, Scalar, scalar_named
from pxos.lang.px.literals import float_literal, int_literal
from pxos.span import Span


@dataclass(frozen=True)
class Header:
    """A line that opens or shapes a block: ``kind`` is one of ``if elif else for while
    kernel param shared threads block target code end``; ``args`` depend on the kind."""

    kind: str
    args: tuple
    span: Span


_OPCODES = {
    "ADD": "add", "SUB": "sub", "MUL": "mul", "DIV": "div", "MOD": "mod",
    "AND": "band", "OR": "bor", "XOR": "bxor", "SHL": "shl", "SHR": "shr",
}
_UNARY_OPCODES = {"NEG": "neg", "NOT": "bnot"}
_OPERANDS = {**{op: 2 for op in _OPCODES}, "NEG": 1, "NOT": 1}  # others: ir.FUNCTIONS


class ToIR:
    """Grammar rules → IR nodes and headers for one line.

    Each rule method takes ``meta`` (an object with ``line``, ``column``, ``end_line``,
    ``end_column``, all 1-based, and ``empty``: Lark's ``Meta`` or the fast path's) and the
    rule's kept children in order: tokens (``str(tok)`` is their text, ``tok.column`` their
    1-based column), the results of sub-rules, and None for an absent ``[optional]``.

    Raises (from the rule methods):
        PxSyntaxError, PxTypeError: an unknown function or type, a bad literal, a wrong
            number of operands.
    """

    def __init__(self, base: Span):
        self.base = base

    def transform(self, tree):
        """The IR of a Lark parse tree of one line (anything with ``data``, ``children``
        and ``meta``), its rules applied bottom-up. Recursive: the caller bounds the depth
        (``lines.MAX_DEPTH``)."""
        children = [self.transform(c) if hasattr(c, "data") else c for c in tree.children]
        return getattr(self, tree.data)(tree.meta, *children)

    # -- spans
    def _span(self, meta) -> Span:
        if getattr(meta, "empty", True):
            return self.base
        length = meta.end_column - meta.column if meta.end_line == meta.line else 1
        return self.base.at(meta.column, max(1, length))

    def _tok(self, tok) -> Span:
        return self.base.at(tok.column, max(1, len(str(tok))))

    def _type(self, tok, dims: int = 0) -> Scalar | Array:
        scalar = scalar_named(str(tok))
        if scalar is None:
            raise PxTypeError(
                f"unknown type {str(tok)!r}; expected bool, i8..u64, f16, f32, f64 "
                "or an alias (int, uint, long, float, double, byte)", self._tok(tok))
        return Array(scalar, dims) if dims else scalar

    # -- keyword rules (``!opcode`` …): the keyword's token itself
    def _keyword(self, meta, tok):
        return tok

    opcode = atomic_op = reduce_op = crypt_op = codec_op = dim_fn = _keyword

    # -- types
    def type(self, meta, name, dims):
        return self._type(name, 0 if dims is None else dims)

    def array_dims(self, meta, *toks):
        return 1 + sum(1 for t in toks if str(t) == ",")

    # -- operands and expressions
    def var(self, meta, name):
        return ir.Var(self._tok(name), str(name))

    def element(self, meta, name, *index):
        return ir.Load(self._span(meta), str(name), tuple(i for i in index if i is not None))

    def int(self, meta, tok):
        return ir.Const(self._tok(tok), int_literal(str(tok), self._tok(tok)))

    def float(self, meta, tok):
        return ir.Const(self._tok(tok), float_literal(str(tok), self._tok(tok)), weak=True)

    def neg_number(self, meta, const):
        return ir.Const(self._span(meta), -const.value, weak=const.weak)

    def true(self, meta):
        return ir.Const(self._span(meta), True)

    def false(self, meta):
        return ir.Const(self._span(meta), False)

    def string(self, meta, tok):
        return ir.Str(self._tok(tok), str(tok)[1:-1])

    def _binary(op):  # noqa: N805 - a factory used in the class body
        def build(self, meta, lhs, rhs):
            return ir.Binary(self._span(meta), op, lhs, rhs)
        return build

    or_, and_ = _binary("or"), _binary("and")
    lt, le, gt, ge = _binary("lt"), _binary("le"), _binary("gt"), _binary("ge")
    eq, ne = _binary("eq"), _binary("ne")
    bor, bxor, band = _binary("bor"), _binary("bxor"), _binary("band")
    shl, shr = _binary("shl"), _binary("shr")
    add, sub, mul = _binary("add"), _binary("sub"), _binary("mul")
    div, mod = _binary("div"), _binary("mod")

    def not_(self, meta, operand):
        return ir.Unary(self._span(meta), "not", operand)

    def neg(self, meta, operand):
        if isinstance(operand, ir.Const) and not isinstance(operand.value, bool):
            return ir.Const(self._span(meta), -operand.value, weak=operand.weak)
        return ir.Unary(self._span(meta), "neg", operand)

    def bnot(self, meta, operand):
        return ir.Unary(self._span(meta), "bnot", operand)

    def power(self, meta, base, exponent):
        return ir.Call(self._span(meta), "pow", (base, exponent))

    def call(self, meta, name, *args):
        args = tuple(a for a in args if a is not None)
        span, fname = self._span(meta), str(name)
        to = scalar_named(fname)
        if to is not None:
            if len(args) != 1:
                raise PxTypeError(f"a cast {fname}(x) takes one operand, got {len(args)}",
                                  span)
            return ir.Cast(span, args[0], to)
        if fname == "DIM":
            return self._dim_call(span, args)
        if fname not in ir.FUNCTIONS:
            raise PxSyntaxError(
                f"unknown function {fname!r}; expected one of "
                + ", ".join(sorted(ir.FUNCTIONS)) + " or a cast such as f32(x)",
                self._tok(name))
        return ir.Call(span, fname, args)

    def _dim_call(self, span: Span, args: tuple) -> ir.Dim:
        """``DIM(a, k)``: ``k`` an integer literal 0, 1 or 2 (its rank is checked later)."""
        if len(args) != 2 or not isinstance(args[0], ir.Var):
            raise PxTypeError("DIM takes an array and an axis, e.g. DIM(a, 2)", span)
        k = args[1]
        if not (isinstance(k, ir.Const) and type(k.value) is int and 0 <= k.value <= 2):
            raise PxTypeError("the axis of DIM(a, k) must be the integer 0, 1 or 2", k.span)
        return ir.Dim(span, args[0].name, ir.DIM_AXES[k.value], axis_span=k.span)

    def dim(self, meta, fn, name):
        return ir.Dim(self._span(meta), str(name), str(fn).lower())

    # -- kernel header
    def k_kernel(self, meta, name):
        return Header("kernel", (str(name), self._tok(name)), self._span(meta))

    def k_param(self, meta, name, typ):
        return Header("param", (ir.Param(str(name), typ, self._tok(name)),), self._span(meta))

    def k_shared(self, meta, name, elem, *sizes):
        elem_t = self._type(elem)
        shape = tuple(int_literal(str(s), self._tok(s)) for s in sizes if s is not None)
        shared = ir.Shared(str(name), elem_t, shape, self._tok(name))
        return Header("shared", (shared,), self._span(meta))

    def k_threads(self, meta, *exprs):
        return Header("threads", tuple(e for e in exprs if e is not None), self._span(meta))

    def k_block(self, meta, *sizes):
        return Header("block", tuple(int_literal(str(s), self._tok(s)) for s in sizes
                                       if s is not None),
                      self._span(meta))

    def k_target(self, meta, name):
        return Header("target", (str(name), self._tok(name)), self._span(meta))

    def k_code(self, meta):
        return Header("code", (), self._span(meta))

    def k_end(self, meta):
        return Header("end", (), self._span(meta))

    # -- thread code
    def _indices(name):  # noqa: N805
        def build(self, meta, _arrow, *names):
            span = self._span(meta)
            if len(names) == 1:
                return ir.Assign(span, str(names[0]), ir.Builtin(self._tok(names[0]), name))
            return Header("multi", tuple(  # x, y[, z]: axis 0, 1[, 2]
                ir.Assign(span, str(n), ir.Builtin(self._tok(n), name, axis))
                for axis, n in enumerate(names)), span)
        return build

    t_thread_id, t_local_id = _indices("thread_id"), _indices("local_id")
    t_block_id, t_block_size = _indices("block_id"), _indices("block_size")
    t_num_threads = _indices("num_threads")

    def t_load(self, meta, element, _arrow, name):
        return ir.Assign(self._span(meta), str(name), element)

    def t_store(self, meta, value, _arrow, element):
        return ir.Store(self._span(meta), element.array, element.index, value)

    def t_instr(self, meta, opcode, *rest):
        *operands, _arrow, name = rest
        op = str(opcode)
        span = self._span(meta)
        need = _OPERANDS.get(op) or ir.FUNCTIONS[op.lower()]
        if len(operands) != need:
            raise PxSyntaxError(
                f"{op} takes {need} operand{'s' * (need > 1)}, got {len(operands)}", span)
        if op in _OPCODES:
            value = ir.Binary(span, _OPCODES[op], *operands)
        elif op in _UNARY_OPCODES:
            value = ir.Unary(span, _UNARY_OPCODES[op], operands[0])
        else:
            value = ir.Call(span, op.lower(), tuple(operands))
        return ir.Assign(span, str(name), value)

    def t_cast(self, meta, operand, typ, _arrow, name):
        span = self._span(meta)
        return ir.Assign(span, str(name), ir.Cast(span, operand, self._type(typ)))

    def t_atomic(self, meta, op, element, value, _arrow=None, name=None):
        return ir.Atomic(self._span(meta), str(op)[len("ATOMIC_"):].lower(),
                         element.array, element.index, value,
                         None if name is None else str(name))

    def t_if(self, meta, cond):
        return Header("if", (cond,), self._span(meta))

    def t_elif(self, meta, cond):
        return Header("elif", (cond,), self._span(meta))

    def t_else(self, meta):
        return Header("else", (), self._span(meta))

    def t_for(self, meta, var, start, stop, step):
        return Header("for", (str(var), start, stop, step), self._span(meta))

    def t_while(self, meta, cond):
        return Header("while", (cond,), self._span(meta))

    def t_break(self, meta):
        return ir.Break(self._span(meta))

    def t_continue(self, meta):
        return ir.Continue(self._span(meta))

    def t_return(self, meta):
        return ir.Return(self._span(meta))

    def t_sync(self, meta):
        return ir.Sync(self._span(meta))

    # -- host statements (SET is shared with thread code)
    def set(self, meta, name, value):
        return ir.Assign(self._span(meta), str(name), value)

    def h_read(self, meta, path, name, as_type, chunk):
        typ = None if as_type is None else self._type(as_type)
        return ir.ReadFile(self._span(meta), str(path)[1:-1], str(name), typ, chunk)

    def h_write(self, meta, name, path):
        return ir.WriteFile(self._span(meta), str(name), str(path)[1:-1])

    def h_alloc(self, meta, name, elem, *dims):
        return ir.Alloc(self._span(meta), str(name), self._type(elem),
                        tuple(d for d in dims if d is not None))

    def h_alloc_like(self, meta, name, other):
        return ir.AllocLike(self._span(meta), str(name), str(other))

    def h_fill(self, meta, name, value):
        return ir.Fill(self._span(meta), str(name), value)

    def h_random(self, meta, name, seed, low, high):
        return ir.RandomFill(self._span(meta), str(name), seed, low, high)

    def h_run(self, meta, name, *args):
        return ir.Run(self._span(meta), str(name), tuple(args))

    def h_reduce(self, meta, op, source, _arrow, result):
        return ir.Reduce(self._span(meta), str(op).lower(), str(source),
                         str(result))

    def h_sort(self, meta, source, _arrow, result):
        return ir.Sort(self._span(meta), str(source), str(result))

    def h_print(self, meta, *items):
        return ir.Print(self._span(meta), tuple(items))

    def h_verify(self, meta, lhs, rhs, tol):
        return ir.Verify(self._span(meta), lhs, rhs, tol)

    def h_swap(self, meta, a, b):
        return ir.Swap(self._span(meta), str(a), str(b))

    def h_const(self, meta, name, value):
        return ir.ConstDef(self._span(meta), str(name), value)

    # -- secure pipelines (version 2)
    def h_read_env(self, meta, variable, name, encoding):
        return ir.ReadEnv(self._span(meta), str(variable)[1:-1], str(name),
                          "hex" if encoding is None else str(encoding))

    def h_crypt(self, meta, op, source, cipher, key, nonce, _arrow, result):
        return ir.Crypt(self._span(meta), str(source), str(cipher), key, str(nonce),
                        str(result), decrypt=str(op) == "DECRYPT")

    def h_hash(self, meta, rows, source, algorithm, _arrow, result):
        return ir.Hash(self._span(meta), str(source), str(algorithm), str(result),
                       rows=rows is not None)

    def h_codec(self, meta, op, source, codec, level, _arrow, result):
        return ir.Codec(self._span(meta), str(source), str(codec), str(result), level,
                        decompress=str(op) == "DECOMPRESS")

    def rows_of(self, meta):
        return True

    def h_validate_sum(self, meta, source, check, expected):
        return ir.Validate(self._span(meta), str(source), str(check), expected)

    def h_validate_as(self, meta, source, kind):
        return ir.Validate(self._span(meta), str(source), str(kind))
