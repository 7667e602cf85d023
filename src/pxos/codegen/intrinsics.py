"""Small functions the generated code calls where C leaves a result undefined.

docs/language.md defines integer division by zero, ``MIN / -1``, rotations and atomics on
every backend; these functions implement those definitions once per type, in the dialect's
spelling. The renderer records which ones a kernel needs (:class:`Intrinsics`), so the
generated source holds only those.
"""

from __future__ import annotations

from pxos.codegen.dialect import Dialect
from pxos.ir.types import U32, U64, Scalar, unsigned_of


class Intrinsics:
    """The set of intrinsic functions one kernel uses, rendered on demand."""

    def __init__(self, dialect: Dialect):
        self.dialect = dialect
        self.needed: dict[str, str] = {}  # function name -> definition

    def call(self, kind: str, t: Scalar, *args: str) -> str:
        """``pxos_<kind>_<type>(args)``, recording the definition."""
        fname = f"pxos_{kind}_{t.name}"
        if fname not in self.needed:
            self.needed[fname] = self.define(fname, kind, t)
        return f"{fname}({', '.join(args)})"

    def define(self, fname: str, kind: str, t: Scalar) -> str:
        """The definition of helper ``fname`` of ``kind`` for type ``t`` (the method
        ``_<kind>``, or :meth:`define_own`; a dialect may spell them from a table
        instead)."""
        if kind.startswith("own_"):
            return self.define_own(fname, kind[4:], t)
        return getattr(self, "_" + kind)(fname, t)

    def render(self) -> str:
        return "\n".join(self.needed.values())

    # -- definitions
    def _head(self, fname: str, t: Scalar, params: str) -> str:
        d = self.dialect
        return f"{d.inline()} {d.type_name(t)} {fname}({params})"

    def _div(self, fname: str, t: Scalar) -> str:
        """``a / b``, 0 where ``b`` is 0, ``MIN / -1`` wrapped. The division runs whatever
        ``b`` is, by 1 where the result is decided without it: a division under a branch
        is one gcc 12 vectorises wrongly in an ``omp simd`` loop (it dropped the whole
        statement of a lane whose ``b`` was 0: ``tests/backends/test_signed_division``)."""
        T = self.dialect.type_name(t)
        if t.kind == "u":
            body = f"{T} q = a / (b == 0 ? 1 : b); return b == 0 ? 0 : q;"
        else:
            body = (f"{T} q = a / ((b == 0) | (b == -1) ? 1 : b); "
                    f"return b == 0 ? 0 : (b == -1 ? ({T})(0 - ({unsigned(self, t)})a) : q);")
        return f"{self._head(fname, t, f'{T} a, {T} b')} {{ {body} }}"

    def _mod(self, fname: str, t: Scalar) -> str:
        """``a % b``, 0 where ``b`` is 0 or -1 (the remainder by 1), as :meth:`_div`."""
        T = self.dialect.type_name(t)
        body = ("return a % (b == 0 ? 1 : b);" if t.kind == "u"
                else "return a % ((b == 0) | (b == -1) ? 1 : b);")
        return f"{self._head(fname, t, f'{T} a, {T} b')} {{ {body} }}"

    def _min(self, fname: str, t: Scalar) -> str:
        T = self.dialect.type_name(t)
        return f"{self._head(fname, t, f'{T} a, {T} b')} {{ return b < a ? b : a; }}"

    def _max(self, fname: str, t: Scalar) -> str:
        T = self.dialect.type_name(t)
        return f"{self._head(fname, t, f'{T} a, {T} b')} {{ return a < b ? b : a; }}"

    def _abs(self, fname: str, t: Scalar) -> str:
        T, U = self.dialect.type_name(t), unsigned(self, t)
        return f"{self._head(fname, t, f'{T} a')} {{ return a < 0 ? ({T})(0 - ({U})a) : a; }}"

    def _rotl(self, fname: str, t: Scalar) -> str:
        return self._rotate(fname, t, "<<", ">>")

    def _rotr(self, fname: str, t: Scalar) -> str:
        return self._rotate(fname, t, ">>", "<<")

    def _rotate(self, fname: str, t: Scalar, first: str, second: str) -> str:
        T, U, w = self.dialect.type_name(t), unsigned(self, t), t.bits
        return (f"{self._head(fname, t, f'{T} a, {T} n')} {{ {U} x = ({U})a; "
                f"unsigned s = (unsigned)n & {w - 1}u; "
                f"return ({T})({U})((x {first} s) | (x {second} (({w}u - s) & {w - 1}u))); }}")

    def _bound(self, fname: str, t: Scalar) -> str:
        """Checked mode: ``i`` if ``0 <= i < n``, else record the first violation in
        ``err`` (flag, line, column, array, axis, index, extent) and return 0."""
        d = self.dialect
        params = ("int64_t i, int64_t n, int32_t line, int32_t col, int32_t array, "
                  f"int32_t axis, {d.pointer_int64()}err")
        return (f"{self._head(fname, t, params)} {{\n"
                f"    if (i >= 0 && i < n) return i;\n"
                f"    if ({d.claim('err')}) {{ err[1] = line; err[2] = col; err[3] = array; "
                f"err[4] = axis; err[5] = i; err[6] = n; }}\n    return 0;\n}}")

    # atomics: the C dialect uses GCC's __atomic builtins (blocks run on several cores)
    def _atomic(self, fname: str, t: Scalar, update: str) -> str:
        T = self.dialect.type_name(t)
        if t.is_float:
            U = self.dialect.type_name(unsigned_of_float(t))
            return (f"{self._head(fname, t, f'{T} *p, {T} v')} {{\n"
                    f"    {U} old = __atomic_load_n(({U} *)p, __ATOMIC_RELAXED), want;\n"
                    f"    do {{ {T} o; __builtin_memcpy(&o, &old, sizeof o); {T} n = {update};\n"
                    f"         __builtin_memcpy(&want, &n, sizeof n); }}\n"
                    f"    while (!__atomic_compare_exchange_n(({U} *)p, &old, want, 1, "
                    f"__ATOMIC_RELAXED, __ATOMIC_RELAXED));\n"
                    f"    {T} r; __builtin_memcpy(&r, &old, sizeof r); return r;\n}}")
        return (f"{self._head(fname, t, f'{T} *p, {T} v')} {{\n"
                f"    {T} o = __atomic_load_n(p, __ATOMIC_RELAXED);\n"
                f"    while (!__atomic_compare_exchange_n(p, &o, {update}, 1, "
                f"__ATOMIC_RELAXED, __ATOMIC_RELAXED)) {{}}\n    return o;\n}}")

    def _atomic_add(self, fname: str, t: Scalar) -> str:
        if t.is_float:
            return self._atomic(fname, t, "o + v")
        return self._fetch(fname, t, "add")

    def _fetch(self, fname: str, t: Scalar, op: str) -> str:
        T = self.dialect.type_name(t)
        return (f"{self._head(fname, t, f'{T} *p, {T} v')} "
                f"{{ return __atomic_fetch_{op}(p, v, __ATOMIC_RELAXED); }}")

    def _atomic_and(self, fname: str, t: Scalar) -> str:
        return self._fetch(fname, t, "and")

    def _atomic_or(self, fname: str, t: Scalar) -> str:
        return self._fetch(fname, t, "or")

    def _atomic_xor(self, fname: str, t: Scalar) -> str:
        return self._fetch(fname, t, "xor")

    def _atomic_min(self, fname: str, t: Scalar) -> str:
        return self._atomic(fname, t, "(v < o ? v : o)")

    def _atomic_max(self, fname: str, t: Scalar) -> str:
        return self._atomic(fname, t, "(o < v ? v : o)")

    def _atomic_exch(self, fname: str, t: Scalar) -> str:
        T = self.dialect.type_name(t)
        if t.is_float:
            return self._atomic(fname, t, "v")
        return (f"{self._head(fname, t, f'{T} *p, {T} v')} "
                f"{{ return __atomic_exchange_n(p, v, __ATOMIC_RELAXED); }}")


    def define_own(self, fname: str, op: str, t: Scalar) -> str:
        """The update of an element of a piece's own copy of an array
        (``codegen/own_atomics``) by combining operation ``op``: one thread owns the copy,
        so a plain load and store; relaxed atomic ones, because gcc vectorises no atomic,
        and lanes of an omp simd loop that hit one element would each store their own
        sum (a lock-prefixed read-modify-write cost 5-7x more)."""
        T = self.dialect.type_name(t)
        update = _OWN_UPDATES[op].format(T=T, U=unsigned(self, t))
        return (f"{self._head(fname, t, f'{T} *p, {T} v')} {{ "
                f"{T} o = __atomic_load_n(p, __ATOMIC_RELAXED); "
                f"__atomic_store_n(p, {update}, __ATOMIC_RELAXED); return o; }}")


# the new value of an owned element ``o`` combined with ``v`` (Intrinsics.define_own);
# ``{T}`` the type, ``{U}`` its unsigned twin (an add wraps)
_OWN_UPDATES = {"add": "({T})(({U})o + ({U})v)", "and": "o & v", "or": "o | v",
                "xor": "o ^ v", "min": "(v < o ? v : o)", "max": "(o < v ? v : o)"}


def unsigned(intrinsics: Intrinsics, t: Scalar) -> str:
    return intrinsics.dialect.type_name(unsigned_of(t))


def unsigned_of_float(t: Scalar) -> Scalar:
    """The unsigned integer type with the bit width of float type ``t`` (for CAS loops)."""
    return U64 if t.bits == 64 else U32
