"""The fast path of the `.px` line parser: a regular-expression tokenizer and a
recursive-descent parser of grammar.lark (precedence climbing for the binary operators)
that calls :class:`~pxos.lang.px.to_ir.ToIR`'s rule methods as Lark's parser would, with
the same positions, so a line it accepts gives the IR that ``lang/px/lines``'s Lark path
gives, without loading Lark or its tables.

It takes only what it is sure of: any line it does not accept, or on which ToIR raises,
gives None, and ``lang/px/lines`` parses it with Lark, which makes every error, hint and
caret. So it refuses:

* a character the basic lexer refuses, or a word glued to the word before it (``1abc``:
  ``hints.refuse_glued_words`` decides those): ``lexer.tokenize`` gives None;
* a keyword where a name belongs (``SET LEVEL = 1``: Lark's contextual-lexer retry
  accepts it);
* a line of more than :data:`MAX_TOKENS` tokens: then the parse tree could be deeper than
  ``lines.MAX_DEPTH`` (each tree level owns a token of its own);
* anything that does not parse.

Positions follow Lark's ``propagate_positions``: a rule spans its first to its last token,
those it filters out included (``(``, ``:``); an inlined rule (``"(" expr ")"``,
``"+" unary``) keeps its child's own position, but its parent spans the parentheses.
The tokens are ``lang/px/lexer``'s, which makes those of Lark's basic lexer.
"""

from __future__ import annotations

from pxos.errors import PxError
from pxos.ir import nodes as ir
from pxos.lang.px.lexer import tokenize
from pxos.lang.px.to_ir import Header, ToIR
from pxos.span import Span

MAX_TOKENS = 99  # with at most this many, a parse tree is at most 100 levels deep

# binary operators of `bor` … `product`, loosest first: precedence and ToIR method
_BINARY = {"|": (1, "bor"), "^": (2, "bxor"), "&": (3, "band"), "<<": (4, "shl"),
           ">>": (4, "shr"), "+": (5, "add"), "-": (5, "sub"), "*": (6, "mul"),
           "/": (6, "div"), "%": (6, "mod")}
_COMPARE = {"<": "lt", "<=": "le", ">": "gt", ">=": "ge", "==": "eq", "!=": "ne"}
_OPERAND_START = frozenset({"NAME", "INT", "FLOAT", "-", "TRUE", "FALSE"})
_OPCODES = frozenset("ADD SUB MUL DIV MOD MIN MAX POW FMA NEG ABS SQRT RSQRT EXP LOG SIN "
                     "COS TANH FLOOR CEIL ROUND AND OR XOR SHL SHR ROTL ROTR NOT SELECT"
                     .split())
_ATOMICS = frozenset("ATOMIC_ADD ATOMIC_MIN ATOMIC_MAX ATOMIC_AND ATOMIC_OR ATOMIC_XOR "
                     "ATOMIC_EXCH".split())
_INDICES = ["ARROW", "NAME", ",NAME<=2"]

# The lines of grammar.lark by their first word: (ToIR method, items after the word) for
# each alternative. An item is a literal to match (filtered out, as in Lark), a terminal
# (NAME, INT, STRING, ARROW: passed on), a sub-rule (expr, bor, operand, element, type,
# key, expected, print), "INT?" (one INT or nothing), ",X<=2" and ",X*" (up to two, or any
# number, of "," X), "operand*", "rows_of?", or a tuple: an [optional] group led by a
# literal, which gives None for each item it would pass on when it is absent.
_LINES = {
    "GPU_KERNEL": [("k_kernel", ["NAME"])],
    "GPU_PARAM": [("k_param", ["NAME", "type"])],
    "GPU_SHARED_MEM": [("k_shared", ["NAME", "NAME", "INT", "INT?", "INT?"])],
    "GPU_THREADS": [("k_threads", ["expr", ",expr<=2"])],
    "GPU_BLOCK": [("k_block", ["INT", ",INT<=2"])],
    "GPU_TARGET": [("k_target", ["NAME"])],
    "GPU_THREAD_CODE": [("k_code", [":"])],
    "GPU_END": [("k_end", [])],
    "THREAD_ID": [("t_thread_id", _INDICES)], "LOCAL_ID": [("t_local_id", _INDICES)],
    "BLOCK_ID": [("t_block_id", _INDICES)], "BLOCK_SIZE": [("t_block_size", _INDICES)],
    "NUM_THREADS": [("t_num_threads", ["ARROW", "NAME"])],
    "LOAD": [("t_load", ["element", "ARROW", "NAME"])],
    "STORE": [("t_store", ["expr", "ARROW", "element"])],
    "CAST": [("t_cast", ["operand", "NAME", "ARROW", "NAME"])],
    "IF": [("t_if", ["expr", ":"])], "ELIF": [("t_elif", ["expr", ":"])],
    "ELSE": [("t_else", [":"])], "WHILE": [("t_while", ["expr", ":"])],
    "FOR": [("t_for", ["NAME", "IN", "expr", "..", "expr", ("STEP", "expr"), ":"])],
    "BREAK": [("t_break", [])], "CONTINUE": [("t_continue", [])],
    "RETURN": [("t_return", [])], "SYNC_THREADS": [("t_sync", [])],
    "SET": [("set", ["NAME", "=", "expr"])],
    "READ_FILE": [("h_read", ["STRING", "INTO", "NAME", ("AS", "NAME"), ("CHUNK", "expr")])],
    "WRITE_FILE": [("h_write", ["NAME", "TO", "STRING"])],
    "ALLOC": [("h_alloc", ["NAME", "NAME", "SIZE", "expr", ",expr<=2"]),
              ("h_alloc_like", ["NAME", "LIKE", "NAME"])],
    "FILL": [("h_fill", ["NAME", "operand"])],
    "RANDOM": [("h_random", ["NAME", "SEED", "operand", ("RANGE", "operand", "operand")])],
    "RUN": [("h_run", ["NAME", "operand*"])],
    "REDUCE": [("h_reduce", ["reduce_op", "NAME", "ARROW", "NAME"])],
    "SORT": [("h_sort", ["NAME", "ARROW", "NAME"])],
    "PRINT": [("h_print", ["print", ",print*"])],
    "VERIFY": [("h_verify", ["bor", "==", "bor", ("TOL", "operand")])],
    "SWAP": [("h_swap", ["NAME", "NAME"])],
    "CONST": [("h_const", ["NAME", "=", "expr"])],
    "READ_ENV": [("h_read_env", ["STRING", "INTO", "NAME", ("AS", "NAME")])],
    "HASH": [("h_hash", ["rows_of?", "NAME", "WITH", "NAME", "ARROW", "NAME"])],
    "VALIDATE": [("h_validate_sum", ["NAME", "WITH", "NAME", "=", "expected"]),
                 ("h_validate_as", ["NAME", "AS", "NAME"])],
    **{op: [("t_instr", ["operand*", "ARROW", "NAME"])] for op in _OPCODES},
    **{op: [("t_atomic", ["element", "operand", ("ARROW", "NAME")])] for op in _ATOMICS},
    **{op: [("h_crypt", ["NAME", "WITH", "NAME", "KEY", "key", "NONCE", "NAME", "ARROW",
                         "NAME"])] for op in ("ENCRYPT", "DECRYPT")},
    **{op: [("h_codec", ["NAME", "WITH", "NAME", ("LEVEL", "operand"), "ARROW", "NAME"])]
       for op in ("COMPRESS", "DECOMPRESS")},
}
_PASSED = frozenset({"NAME", "INT", "STRING", "ARROW"})  # terminals a rule keeps
_REDUCE_OPS = frozenset({"SUM", "MIN", "MAX", "PROD"})


class _Refused(Exception):
    """Internal: the line leaves the fast path (never seen outside this module)."""


class _Meta:
    """A rule's position as ToIR reads it from Lark's ``Meta`` (one line: line 1)."""

    __slots__ = ("column", "end_column")
    line = end_line = 1
    empty = False

    def __init__(self, column: int, end_column: int):
        self.column, self.end_column = column, end_column


class _Tok:
    """A token as ToIR reads it: ``str()`` its text, ``column`` 1-based."""

    __slots__ = ("text", "column")

    def __init__(self, text: str, column: int):
        self.text, self.column = text, column

    def __str__(self) -> str:
        return self.text


def parse_fast(text: str, base: Span) -> ir.Stmt | Header | None:
    """The IR of one `.px` line (its indentation included), or None where the line is not
    on the fast path (see the module's docstring); ``base`` is the line's span, for the
    nodes' spans. Raises nothing for any text."""
    tokens = tokenize(text)
    if tokens is None or len(tokens[0]) - 1 > MAX_TOKENS:
        return None
    try:
        return _Parser(tokens, ToIR(base)).line()
    except (_Refused, PxError):
        return None


class _Parser:
    """Recursive descent over one line's tokens. Each sub-rule returns ``(value, first)``:
    its IR and the index of the first token of its container (what a parent's position
    starts at); the container ends at the last token taken (``pos - 1``)."""

    def __init__(self, tokens: tuple[list, list, list], build: ToIR):
        self.kinds, self.texts, self.starts = tokens
        self.build, self.pos = build, 0

    # -- tokens and positions
    def _meta(self, first: int) -> _Meta:
        last = self.pos - 1
        return _Meta(self.starts[first] + 1, self.starts[last] + len(self.texts[last]) + 1)

    def _tok(self, index: int) -> _Tok:
        return _Tok(self.texts[index], self.starts[index] + 1)

    def _expect(self, kind: str) -> int:
        pos = self.pos
        if self.kinds[pos] != kind:
            raise _Refused
        self.pos = pos + 1
        return pos

    # -- lines
    def line(self):
        first = self.kinds[0]
        alternatives = _LINES.get(first)
        if alternatives is None:
            raise _Refused
        for rule, items in alternatives:
            self.pos = 1
            try:
                args = [self._tok(0)] if first in _OPCODES or first in _ATOMICS \
                    or rule in ("h_crypt", "h_codec") else []
                self._items(items, args)
                self._expect("$END")
            except _Refused:
                continue
            self.pos -= 1  # the line ends at its last token, not at $END
            return getattr(self.build, rule)(self._meta(0), *args)
        raise _Refused

    def _items(self, items, args: list) -> None:
        for item in items:
            if isinstance(item, tuple):
                if self.kinds[self.pos] == item[0]:
                    self._items(item, args)
                else:
                    args.extend(None for i in item if i in _PASSED or i.islower())
            elif item in _PASSED:
                args.append(self._tok(self._expect(item)))
            elif item == "INT?":
                if self.kinds[self.pos] == "INT":
                    args.append(self._tok(self._expect("INT")))
            elif item[0] == ",":
                self._list(item, args)
            elif item == "operand*":
                while self.kinds[self.pos] in _OPERAND_START:
                    args.append(self._operand()[0])
            elif item == "rows_of?":
                args.append(self._rows_of())
            elif item.islower():
                args.append(getattr(self, "_" + item)()[0])
            else:
                self._expect(item)

    def _list(self, item: str, args: list) -> None:
        """``,X<=2`` or ``,X*``: "," X, up to twice or any number of times."""
        what, most = (item[1:-3], 2) if item.endswith("<=2") else (item[1:-1], None)
        count = 0
        while self.kinds[self.pos] == "," and (most is None or count < most):
            self.pos += 1
            count += 1
            if what in _PASSED:
                args.append(self._tok(self._expect(what)))
            else:
                args.append(getattr(self, "_" + what)()[0])

    def _rows_of(self):
        if self.kinds[self.pos] != "ROWS":
            return None
        first = self.pos
        self.pos += 1
        self._expect("OF")
        return self.build.rows_of(self._meta(first))

    def _reduce_op(self):
        if self.kinds[self.pos] not in _REDUCE_OPS:
            raise _Refused
        self.pos += 1
        return self._tok(self.pos - 1), self.pos - 1

    def _type(self):
        first = self._expect("NAME")
        dims = None
        if self.kinds[self.pos] == "[":
            start = self.pos
            while self.kinds[self.pos] == "," or self.pos == start:
                self.pos += 1
            if self.pos - start > 3:  # "[" and at most two ","
                raise _Refused
            self._expect("]")
            dims = self.build.array_dims(self._meta(start), *self.texts[start:self.pos])
        return self.build.type(self._meta(first), self._tok(first), dims), first

    def _key(self):
        return self._token_rule({"NAME": "var", "STRING": "string"})

    def _expected(self):
        return self._token_rule({"NAME": "var", "STRING": "string", "INT": "int"})

    def _print(self):
        if self.kinds[self.pos] == "STRING":
            return self._token_rule({"STRING": "string"})
        return self._expr()

    def _token_rule(self, rules: dict):
        """One token, as ``?rule: NAME -> var | STRING -> string …``."""
        pos = self.pos
        rule = rules.get(self.kinds[pos])
        if rule is None:
            raise _Refused
        self.pos = pos + 1
        return getattr(self.build, rule)(self._meta(pos), self._tok(pos)), pos

    # -- operands and expressions
    def _operand(self):
        kind, first = self.kinds[self.pos], self.pos
        if kind == "NAME" and self.kinds[first + 1] == "[":
            return self._element()
        if kind == "-" and self.kinds[first + 1] in ("INT", "FLOAT"):
            self.pos += 1
            number, _ = self._token_rule({"INT": "int", "FLOAT": "float"})
            return self.build.neg_number(self._meta(first), number), first
        if kind in ("TRUE", "FALSE"):
            self.pos += 1
            return getattr(self.build, kind.lower())(self._meta(first)), first
        return self._token_rule({"NAME": "var", "INT": "int", "FLOAT": "float"})

    def _element(self):
        first = self._expect("NAME")
        self._expect("[")
        index = [self._expr()[0]]
        while self.kinds[self.pos] == "," and len(index) < 3:
            self.pos += 1
            index.append(self._expr()[0])
        self._expect("]")
        return self.build.element(self._meta(first), self._tok(first), *index), first

    def _expr(self):
        return self._chain("OR", "or_", self._and)

    def _and(self):
        return self._chain("AND", "and_", self._not)

    def _chain(self, word: str, rule: str, operand):
        """``left (word right)*``, left-associative."""
        left, first = operand()
        while self.kinds[self.pos] == word:
            self.pos += 1
            right, _ = operand()
            left = getattr(self.build, rule)(self._meta(first), left, right)
        return left, first

    def _not(self):
        if self.kinds[self.pos] != "NOT":
            return self._comparison()
        first = self.pos
        self.pos += 1
        operand, _ = self._not()
        return self.build.not_(self._meta(first), operand), first

    def _comparison(self):
        left, first = self._bor()
        rule = _COMPARE.get(self.kinds[self.pos])
        if rule is None:
            return left, first
        self.pos += 1
        right, _ = self._bor()
        return getattr(self.build, rule)(self._meta(first), left, right), first

    def _bor(self, loosest: int = 1):
        """Precedence climbing over ``bor`` … ``product`` (all left-associative)."""
        left, first = self._unary()
        while True:
            op = _BINARY.get(self.kinds[self.pos])
            if op is None or op[0] < loosest:
                return left, first
            self.pos += 1
            right, _ = self._bor(op[0] + 1)
            left = getattr(self.build, op[1])(self._meta(first), left, right)

    def _unary(self):
        kind, first = self.kinds[self.pos], self.pos
        if kind in ("-", "~", "+"):
            self.pos += 1
            operand, _ = self._unary()
            if kind == "+":  # inlined: its own position, the container from "+"
                return operand, first
            rule = self.build.neg if kind == "-" else self.build.bnot
            return rule(self._meta(first), operand), first
        base, _ = self._atom()
        if self.kinds[self.pos] != "**":
            return base, first
        self.pos += 1
        exponent, _ = self._unary()
        return self.build.power(self._meta(first), base, exponent), first

    def _atom(self):
        kind, first = self.kinds[self.pos], self.pos
        if kind == "NAME":
            after = self.kinds[first + 1]
            if after == "[":
                return self._element()
            if after == "(":
                return self._call()
        elif kind in ("TRUE", "FALSE"):
            self.pos += 1
            return getattr(self.build, kind.lower())(self._meta(first)), first
        elif kind in ("LEN", "ROWS", "COLS"):
            self.pos += 1
            self._expect("(")
            name = self._expect("NAME")
            self._expect(")")
            return self.build.dim(self._meta(first), self._tok(first), self._tok(name)), first
        elif kind == "(":
            self.pos += 1
            inner, _ = self._expr()
            self._expect(")")
            return inner, first  # inlined: the container spans the parentheses
        return self._token_rule({"NAME": "var", "INT": "int", "FLOAT": "float"})

    def _call(self):
        first = self._expect("NAME")
        self._expect("(")
        args = []
        if self.kinds[self.pos] != ")":
            args.append(self._expr()[0])
            while self.kinds[self.pos] == ",":
                self.pos += 1
                args.append(self._expr()[0])
        self._expect(")")
        return self.build.call(self._meta(first), self._tok(first), *args), first
