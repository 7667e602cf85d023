"""Fuzzing the front end: whatever the text, parsing and checking raise only ``PxError``.

Generators: (a) arbitrary text, and random bytes read as a file, (b) programs built from
real `.px` tokens and lines (keyword soup), (c) mutations of the example programs.
``PXOS_FUZZ_COUNT`` sets the inputs per generator (default 100: a few seconds in all). For
every ``PxError`` with a span, ``render()`` names ``file:line:col`` inside the text and draws
the caret under that column; a program that checks renders C for every kernel. What fuzzing
found is kept as plain cases in test_fuzz_found.
"""

from __future__ import annotations

import contextlib
import os
import signal
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from pxos.codegen.c import render_c
from pxos.errors import PxError
from pxos.ir.check_host import check_program
from pxos.lang.px.parser import parse_file, parse_program


ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = {p.name: p.read_text(encoding="utf-8") for p in sorted((ROOT / "examples").glob("*.px"))}
FILE = "fuzz.px"

# Inputs per generator: a few seconds by default; PXOS_FUZZ_COUNT=100000 for a long run.
COUNT = int(os.environ.get("PXOS_FUZZ_COUNT", "100"))
FUZZ = settings(max_examples=COUNT, deadline=None, suppress_health_check=list(HealthCheck),
                database=None)


# ---------------------------------------------------------------------------- the property

@contextlib.contextmanager
def _time_limit(seconds: int = 5):
    """Fail any input whose parsing and checking takes more than ``seconds``."""
    def alarm(_signum, _frame):
        raise TimeoutError(f"parsing and checking took more than {seconds} s")

    old = signal.signal(signal.SIGALRM, alarm)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


def front_end(text: str):
    """Parse and check ``text``; return the program or the PxError. Anything else fails."""
    with _time_limit():
        try:
            program = check_program(parse_program(text, FILE))
        except PxError as err:
            assert_well_placed(err, text)
            return err
    for k in program.kernels:
        src = render_c(k).source
        assert f"k_{k.name}(" in src
    return program


def assert_well_placed(err: PxError, text: str, file: str = FILE) -> None:
    rendered = err.render()
    assert str(err) == rendered
    assert isinstance(rendered, str) and rendered
    if err.span is None:
        raise AssertionError(f"{type(err).__name__} without a position: {rendered}")
    span = err.span
    lines = [ln.removesuffix("\r") for ln in text.split("\n")]  # only \n ends a line
    assert 1 <= span.line <= len(lines), rendered
    assert span.file == file
    head = rendered.split("\n")[0]
    assert head.startswith(f"{file}:{span.line}:{span.col}: {err.kind}: "), rendered
    assert span.text == lines[span.line - 1], rendered
    assert 1 <= span.col <= len(span.text) + 1, rendered
    if span.text:
        gutter = f"{span.line:>5} | "
        out = rendered.split("\n")
        shown = "".join(ch if ch.isprintable() else " " for ch in span.text)
        assert out[1] == gutter + shown
        caret = out[2]
        assert caret.index("^") == len(gutter) + span.col - 1
        assert caret.strip() == "^" * max(1, span.length)


# ---------------------------------------------------------------------------- (a) any text

PX_BITS = ["GPU_KERNEL k\n", "GPU_PARAM a float[]\n", "GPU_THREAD_CODE:\n", "GPU_END\n",
           "    ", "\t", "\n", "→", "->", "THREAD_ID", " i", "[", "]", ",", ":", "#", '"',
           "SET", "=", "1.5", "0xFF", "IF", "ELSE:", "FOR", "IN", "..", "STORE", "LOAD",
           "RUN k", "ALLOC", "SIZE", "u8", "\r\n", "\x00", "\u2028", "é", "𝕏", "…"]

any_text = st.one_of(
    st.text(max_size=200),
    st.text(alphabet=st.sampled_from(list(" \t\n\r:#[],.=→-+*<>()\"0123456789abxyzIFSETGPU_")),
            max_size=200),
    st.lists(st.one_of(st.sampled_from(PX_BITS), st.text(max_size=5)), max_size=40).map("".join),
)


@FUZZ
@given(any_text)
def test_fuzz_arbitrary_text(text):
    front_end(text)


_BYTES_DIR = tempfile.TemporaryDirectory(prefix="pxos-fuzz-")  # removed at exit
BYTES_FILE = Path(_BYTES_DIR.name) / FILE


@FUZZ
@given(st.one_of(st.binary(max_size=300),
                 st.lists(st.sampled_from([b.encode() for b in PX_BITS] + [
                     b"\xff", b"\xc3", b"\xe2\x86", b"\xef\xbb\xbf", b"\x1b[31m", b"0"]),
                     max_size=40).map(b"".join)))
def test_fuzz_random_bytes_as_a_file(data):
    BYTES_FILE.write_bytes(data)
    with _time_limit():
        try:
            check_program(parse_file(BYTES_FILE))
        except PxError as err:
            if err.span is not None:
                assert_well_placed(err, data.decode("utf-8"), str(BYTES_FILE))


# ---------------------------------------------------------------------------- (b) .px vocabulary

NAMES = ["a", "b", "out", "i", "j", "x", "y", "v", "tid", "k", "tile", "n", "lid", "acc", "s",
         "int", "LOAD", "_Bad", "x__y"]
TYPES = ["float", "float[]", "int", "int[]", "u8[]", "u8[,]", "f64", "f32[,]", "u8[,,]",
         "i64[]", "u32[]", "bool", "f16", "f16[]", "double[,]", "uint", "flot", "i32[,,,]"]
NUMS = ["0", "1", "2", "-1", "0xFF", "2.0", "1e-3", ".5", "255", "1024", "65536", "3", "128",
        "99999999999999999999", "1e40", "-0.0", "0x7FFFFFFF", "2147483648", "07", "00",
        "1e39", "3.5e38", "0x" + "F" * 4000, "1" + "0" * 4400, "18446744073709551616"]
BINOPS = ["+", "-", "*", "/", "%", "**", "<", "<=", ">", ">=", "==", "!=", "&", "|", "^",
          "<<", ">>", "AND", "OR"]
FUNCS1 = ["sqrt", "abs", "exp", "floor", "f32", "i32", "u8", "f64", "u64", "bool", "f16",
          "tanh", "rsqrt", "round", "log"]
FUNCS2 = ["min", "max", "pow", "rotl", "rotr"]
OPCODES = ["ADD", "SUB", "MUL", "DIV", "MOD", "MIN", "MAX", "POW", "FMA", "NEG", "ABS", "SQRT",
           "RSQRT", "EXP", "LOG", "SIN", "COS", "TANH", "FLOOR", "CEIL", "ROUND", "AND", "OR",
           "XOR", "SHL", "SHR", "ROTL", "ROTR", "NOT", "SELECT"]

name = st.sampled_from(NAMES)
num = st.sampled_from(NUMS)
arrow = st.sampled_from(["→", "->"])
atom = st.one_of(
    name, num, st.sampled_from(["TRUE", "FALSE"]),
    st.builds("{}[{}]".format, name, st.one_of(name, num)),
    st.builds("{}[{}, {}]".format, name, name, name),
    st.builds("{}({})".format, st.sampled_from(["LEN", "ROWS", "COLS"]), name),
)
expr = st.recursive(atom, lambda inner: st.one_of(
    st.builds("{} {} {}".format, inner, st.sampled_from(BINOPS), inner),
    st.builds("({})".format, inner),
    st.builds("{}{}".format, st.sampled_from(["-", "~", "NOT "]), inner),
    st.builds("{}({})".format, st.sampled_from(FUNCS1), inner),
    st.builds("{}({}, {})".format, st.sampled_from(FUNCS2), inner, inner),
    st.builds("select({}, {}, {})".format, inner, inner, inner),
    st.builds("fma({}, {}, {})".format, inner, inner, inner),
), max_leaves=6)
operand = st.one_of(name, num, st.builds("{}[{}]".format, name, name))

simple_line = st.one_of(
    st.builds("THREAD_ID {} {}".format, arrow, name),
    st.builds("THREAD_ID {} {}, {}".format, arrow, name, name),
    st.builds("{} {} {}".format, st.sampled_from(["LOCAL_ID", "BLOCK_ID", "BLOCK_SIZE",
                                                  "NUM_THREADS"]), arrow, name),
    st.builds("SET {} = {}".format, name, expr),
    st.builds("LOAD {}[{}] {} {}".format, name, expr, arrow, name),
    st.builds("STORE {} {} {}[{}]".format, expr, arrow, name, expr),
    st.builds("STORE {} {} {}[{}, {}]".format, expr, arrow, name, name, name),
    st.builds(lambda op, xs, a, r: f"{op} {' '.join(xs)} {a} {r}", st.sampled_from(OPCODES),
              st.lists(operand, max_size=4), arrow, name),
    st.builds("CAST {} {} → {}".format, operand, st.sampled_from(["u8", "f32", "i64", "bool",
                                                                  "flot"]), name),
    st.builds(lambda op, a, i, v, r: f"ATOMIC_{op} {a}[{i}] {v}" + (f" → {r}" if r else ""),
              st.sampled_from(["ADD", "MIN", "MAX", "AND", "OR", "XOR", "EXCH"]), name, name,
              operand, st.one_of(st.none(), name)),
    st.sampled_from(["BREAK", "CONTINUE", "RETURN", "SYNC_THREADS", "# a comment", "",
                     "GPU_THREAD_CODE:", "GPU_PARAM q float"]),
)
compound_line = st.one_of(
    st.builds("IF {}:".format, expr), st.builds("ELIF {}:".format, expr), st.just("ELSE:"),
    st.builds("WHILE {}:".format, expr),
    st.builds(lambda v, a, b, s: f"FOR {v} IN {a}..{b}" + (f" STEP {s}" if s else "") + ":",
              name, expr, expr, st.one_of(st.none(), num, name)),
)
thread_code = st.lists(st.tuples(st.integers(0, 3), st.one_of(simple_line, compound_line)),
                       min_size=1, max_size=10).map(
    lambda rows: ["    " * (1 + depth) + line for depth, line in rows])
header_line = st.one_of(
    st.builds("GPU_PARAM {} {}".format, name, st.sampled_from(TYPES)),
    st.builds("GPU_SHARED_MEM {} {} {}".format, name, st.sampled_from(["float", "int", "u8",
                                                                       "f64", "bad"]),
              st.sampled_from(["64", "256", "16 16", "0", "100000", "4 4 4"])),
    st.builds("GPU_THREADS {}".format, expr),
    st.builds("GPU_THREADS {}, {}".format, expr, expr),
    st.sampled_from(["GPU_BLOCK 64", "GPU_BLOCK 256", "GPU_BLOCK 16, 16", "GPU_BLOCK 0",
                     "GPU_BLOCK 2048", "GPU_TARGET cpu", "GPU_TARGET auto", "GPU_TARGET tpu",
                     "GPU_TARGET cuda"]),
)
kernel_lines = st.builds(
    lambda kname, headers, indent, body, end: [f"GPU_KERNEL {kname}"]
    + [("    " if indent else "") + h for h in headers] + ["GPU_THREAD_CODE:"] + body
    + (["GPU_END"] if end else []),
    st.sampled_from(["k", "scale", "k2", "int"]), st.lists(header_line, max_size=5),
    st.booleans(), thread_code, st.sampled_from([True, True, True, False]))
host_line = st.one_of(
    st.builds("ALLOC {} {} SIZE {}".format, name, st.sampled_from(["float", "int", "u8", "f64",
                                                                    "u32", "bool", "flot"]),
              st.sampled_from(["3", "16", "2, 3", "2, 3, 4", "n", "LEN(a)", "-1", "0", "1.5"])),
    st.builds("ALLOC {} LIKE {}".format, name, name),
    st.builds("FILL {} {}".format, name, operand),
    st.builds("RANDOM {} SEED {}".format, name, num),
    st.builds("RANDOM {} SEED {} RANGE {} {}".format, name, num, num, num),
    st.builds("SET {} = {}".format, name, expr),
    st.builds(lambda k, xs: f"RUN {k} {' '.join(xs)}", st.sampled_from(["k", "scale", "nope"]),
              st.lists(operand, max_size=4)),
    st.builds("REDUCE {} {} → {}".format, st.sampled_from(["SUM", "MIN", "MAX", "PROD", "AVG"]),
              name, name),
    st.builds("SORT {} → {}".format, name, name),
    st.builds(lambda xs: "PRINT " + ", ".join(xs),
              st.lists(st.one_of(expr, st.just('"label"')), min_size=1, max_size=3)),
    st.builds(lambda a, b, t: f"VERIFY {a} == {b}" + (f" TOL {t}" if t else ""), expr, expr,
              st.one_of(st.none(), num)),
    st.builds(lambda p, n, t: f'READ_FILE "{p}" INTO {n}' + (f" AS {t}" if t else ""),
              st.sampled_from(["a.npy", "img.png", "raw.bin", "../x.npy"]), name,
              st.one_of(st.none(), st.sampled_from(["u8", "f32", "flot"]))),
    st.builds('WRITE_FILE {} TO "{}"'.format, name, st.sampled_from(["o.npy", "o.png", "o.bin"])),
)
program = st.lists(
    st.one_of(kernel_lines, host_line.map(lambda s: [s]),
              st.tuples(st.integers(0, 2), host_line).map(lambda t: [" " * t[0] + t[1]])),
    min_size=1, max_size=6,
).map(lambda parts: "\n".join(line for part in parts for line in part) + "\n")


@FUZZ
@given(program)
def test_fuzz_px_vocabulary(text):
    front_end(text)


# A narrower generator whose programs usually check, so the checker and C rendering are
# exercised past the first error.
good_kernel = st.builds(
    lambda stmts, extra: "\n".join([
        "GPU_KERNEL k", "GPU_PARAM a float[]", "GPU_PARAM b int[]", "GPU_PARAM s float",
        "GPU_THREAD_CODE:", "    THREAD_ID → i", "    SET x = a[i]", "    SET n = b[i]",
        *stmts, "    STORE x → a[i]", "    STORE n → b[i]", "GPU_END",
        "ALLOC a float SIZE 8", "ALLOC b int SIZE 8", "RUN k a b 2.0", *extra]) + "\n",
    st.lists(st.one_of(
        st.builds("    SET x = x {} {}".format, st.sampled_from(["+", "-", "*", "/", "%"]),
                  st.sampled_from(["s", "1.5", "x", "f32(n)", "a[i]", "sqrt(x)", "min(x, s)"])),
        st.builds("    SET n = n {} {}".format,
                  st.sampled_from(["+", "-", "*", "/", "%", "&", "|", "^", "<<", ">>"]),
                  st.sampled_from(["1", "n", "i", "b[i]", "i32(x)", "0xFF", "LEN(a)"])),
        st.builds("    IF {} {} {}:\n        SET n = n + 1\n    ELSE:\n        SET x = -x".format,
                  st.sampled_from(["x", "n", "i"]), st.sampled_from(["<", ">=", "==", "!="]),
                  st.sampled_from(["0", "s", "n"])),
        st.builds("    FOR j IN 0..{}:\n        SET x = x + f32(j)".format,
                  st.sampled_from(["3", "n", "i", "LEN(b)"])),
        st.sampled_from(["    ATOMIC_ADD b[0] 1", "    ATOMIC_MAX b[i] n → old",
                         "    CAST x i32 → q", "    SELECT TRUE x s → x", "    FMA x s x → x",
                         "    ROTL n 3 → n", "    WHILE n > 100:\n        SET n = n / 2",
                         "    STORE u8(x) → a[i]", "    SET x = n", "    SET n = x"]),
    ), max_size=8),
    st.lists(st.sampled_from(["REDUCE SUM a → t", "SORT b → c", "PRINT \"t\", LEN(a)",
                              "VERIFY a == a", "SET m = LEN(a) * 2", "FILL a 1.0",
                              "FILL b 2.5", "RUN k b a 1.0", "RUN k a b 2"]), max_size=3),
)


@FUZZ
@given(good_kernel)
def test_fuzz_mostly_valid_kernels(text):
    front_end(text)


# ---------------------------------------------------------------------------- (c) mutations

CHARS = list(" \t:#[],.=→-+*<>()\"0123456789aiXZ_é\u00a0")
TOKENS = ["GPU_END", "GPU_KERNEL k", "SYNC_THREADS", "RETURN", "BREAK", "IF i > 0:", "ELSE:",
          "→", "->", "float", "u8", "int[]", "[", "]", ",", "SET", "LOAD", "STORE", "0xFF",
          "1e-3", "THREAD_ID → i"]


@st.composite
def mutated_example(draw):
    text = draw(st.sampled_from(sorted(EXAMPLES.values())))
    lines = text.split("\n")
    for _ in range(draw(st.integers(1, 3))):
        if not lines:
            lines = [""]
        i = draw(st.integers(0, len(lines) - 1))
        op = draw(st.sampled_from(["delete", "duplicate", "swap", "char", "indent", "dedent",
                                   "tab", "token", "truncate"]))
        if op == "delete":
            del lines[i]
        elif op == "duplicate":
            lines.insert(i, lines[i])
        elif op == "swap":
            j = draw(st.integers(0, len(lines) - 1))
            lines[i], lines[j] = lines[j], lines[i]
        elif op == "char":
            line = lines[i]
            p = draw(st.integers(0, len(line)))
            new = draw(st.one_of(st.sampled_from(CHARS), st.characters()))
            lines[i] = line[:p] + new + line[p + 1:]
        elif op == "indent":
            lines[i] = " " * draw(st.integers(1, 5)) + lines[i]
        elif op == "dedent":
            lines[i] = lines[i][draw(st.integers(1, 4)):]
        elif op == "tab":
            lines[i] = "\t" + lines[i].lstrip(" ")
        elif op == "token":
            words = lines[i].split(" ")
            p = draw(st.integers(0, len(words)))
            words.insert(p, draw(st.sampled_from(TOKENS)))
            lines[i] = " ".join(words)
        else:
            lines[i] = lines[i][:draw(st.integers(0, len(lines[i])))]
    return "\n".join(lines)


@FUZZ
@given(mutated_example())
def test_fuzz_mutated_examples(text):
    front_end(text)


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_examples_pass_the_front_end(name):
    program = front_end(EXAMPLES[name])
    assert not isinstance(program, PxError), program
