"""The `.px` front-end: lexical rules, block structure and source spans (spec v1)."""

from __future__ import annotations

import pytest

from pxos.errors import PxSyntaxError
from pxos.ir import nodes as ir
from pxos.lang.px.parser import parse_program

KERNEL = """# a comment line
  GPU_KERNEL k          # header lines may be indented
  GPU_PARAM a float[]
  GPU_PARAM m int[,]
  GPU_PARAM c u8[,,]
  GPU_PARAM s double
  GPU_SHARED_MEM tile float 16 16
  GPU_THREADS LEN(a), 4
  GPU_BLOCK 16, 16
  GPU_TARGET cpu
  GPU_THREAD_CODE:
      THREAD_ID -> x, y
      SET h = 0xFF + .5 * 1e-3 - 2.0   # hex, leading-dot and exponent literals
      IF x < 1:
          RETURN
      ELIF x < 2:
          SET h = 1
      ELIF x < 3:
          SET h = 2
      ELSE:
          SET h = 3
      FOR i IN 0..LEN(a) STEP 2:
          CONTINUE
      WHILE h > 0:
          BREAK
      ATOMIC_ADD m[y, x] 1 → old
      STORE h → a[x]
GPU_END
"""


def test_kernel_structure():
    program = parse_program(KERNEL, "k.px")
    (k,) = program.kernels
    assert k.name == "k" and k.target == "cpu" and k.block == (16, 16)
    assert [p.name for p in k.params] == ["a", "m", "c", "s"]
    assert [str(p.type) for p in k.params] == ["f32[]", "i32[,]", "u8[,,]", "f64"]
    assert k.shared[0].shape == (16, 16) and len(k.threads) == 2
    kinds = [type(s).__name__ for s in k.body]
    assert kinds == ["Assign", "Assign", "Assign", "If", "For", "While", "Atomic", "Store"]
    branch = k.body[3]
    assert len(branch.arms) == 3 and isinstance(branch.arms[0][1][0], ir.Return)
    assert branch.orelse[0].value.value == 3
    h = k.body[2].value
    assert isinstance(h, ir.Binary) and h.op == "sub"
    assert h.lhs.lhs.value == 255 and h.lhs.rhs.lhs.value == 0.5


def test_spans_point_at_the_source():
    k = parse_program(KERNEL, "k.px").kernels[0]
    store = k.body[-1]
    assert (store.span.file, store.span.line, store.span.col) == ("k.px", 27, 7)
    assert store.span.text == "      STORE h → a[x]"
    assert store.index[0].span.col == store.span.text.index("x]") + 1
    for s in ir.walk(k.body):
        assert s.span.line > 0
        for e in ir.stmt_exprs(s):
            for x in ir.subexprs(e):
                assert x.span.line == s.span.line or isinstance(s, (ir.If, ir.For))


@pytest.mark.parametrize("line,op", [("ADD a b → r", "add"), ("SHR a 2 -> r", "shr"),
                                     ("NOT a → r", "bnot"), ("NEG a → r", "neg")])
def test_instructions(line, op):
    src = f"GPU_KERNEL k\nGPU_PARAM a int\nGPU_PARAM b int\nGPU_THREAD_CODE:\n    {line}\nGPU_END\n"
    value = parse_program(src).kernels[0].body[0].value
    assert getattr(value, "op", None) == op


def test_host_statements():
    program = parse_program('''READ_FILE "in.raw" INTO raw AS u16
ALLOC a float SIZE 4, 5
ALLOC b LIKE a
FILL a -1.5
RANDOM a SEED 3 RANGE 0.0 2.0
SET n = LEN(a) * 2
RUN k a b 2 -1
REDUCE MAX a → top
SORT raw → sorted
PRINT "n =", n, a
VERIFY a == b TOL 1e-3
WRITE_FILE b TO "out.npy"
''')
    kinds = [type(s).__name__ for s in program.statements]
    assert kinds == ["ReadFile", "Alloc", "AllocLike", "Fill", "RandomFill", "Assign", "Run",
                     "Reduce", "Sort", "Print", "Verify", "WriteFile"]
    assert program.statements[0].as_type.name == "u16"
    assert program.statements[3].value.value == -1.5
    assert [a.value for a in program.statements[6].args[2:]] == [2, -1]


def test_precedence_is_pythons():
    e = parse_program("SET r = 1 + 2 * 3 ** 2 < 4 AND NOT 5 | 6 & 7").statements[0].value
    assert e.op == "and" and e.lhs.op == "lt" and e.rhs.op == "not"
    assert e.lhs.lhs.rhs.op == "mul" and e.lhs.lhs.rhs.rhs.fn == "pow"
    assert e.rhs.operand.op == "bor" and e.rhs.operand.rhs.op == "band"


@pytest.mark.parametrize("text,line,col", [
    ("SET x = 1 +", 1, 12),
    ("GPU_KERNEL k\nGPU_THREAD_CODE:\n    RETURN\n", 2, 1),
    ("GPU_KERNEL k\nGPU_THREAD_CODE:\n    IF 1:\n    RETURN\nGPU_END", 3, 5),
    ("GPU_KERNEL k\nGPU_THREAD_CODE:\n    RETURN\n        RETURN\nGPU_END", 4, 1),
    ("  SET x = 1", 1, 1),
    ("ALLOC x flaot SIZE 3", 1, 9),
])
def test_syntax_errors_have_positions(text, line, col):
    with pytest.raises(Exception) as err:
        parse_program(text, "e.px")
    assert err.value.span.line == line and err.value.span.col == col, str(err.value)
    assert isinstance(err.value, (PxSyntaxError,)) or "type" in type(err.value).__name__.lower()
