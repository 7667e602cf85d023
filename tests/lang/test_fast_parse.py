"""The fast path of the `.px` line parser (``lang/px/fast_parse``) against its reference,
the Lark parser of grammar.lark (``lines.parse_line_lark``): on every line it gives either
None (the line goes to Lark) or IR identical to Lark's, spans included; and where Lark
raises, it gives None, so errors, hints and carets stay Lark's."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from functools import cache, partial
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pxos.errors import PxError
from pxos.lang.px import fast_parse, lexer
from pxos.lang.px.fast_parse import parse_fast
from pxos.lang.px.lines import MAX_DEPTH, MAX_LINE, _literals, parse_line_lark
from pxos.span import Span

ROOT = Path(__file__).resolve().parents[2]


def _compare(text: str):
    """The fast path's IR of ``text`` (None where it leaves it), after checking it against
    Lark's; the same length and nesting limits as ``parse_line`` apply first."""
    if text.count("(") > MAX_DEPTH or len(text) > MAX_LINE:
        return None
    base = Span("t.px", 7, 1, 1, text)
    fast = parse_fast(text, base)
    try:
        want = parse_line_lark(text, base)
    except PxError as err:
        assert fast is None, f"{text!r}: Lark raises {err}, the fast path gave {fast!r}"
        return None
    if fast is not None:
        # repr tells 1 from True and 1.0, which == does not
        assert fast == want and repr(fast) == repr(want), text
    return fast


def _corpus() -> list[str]:
    """Every line of the .px files under examples/ and tests/, of the code blocks of docs/
    and README.md, and every inline code span of docs/language.md (the spec's examples)."""
    lines = []
    for path in sorted([*ROOT.glob("examples/**/*.px"), *ROOT.glob("tests/**/*.px")]):
        lines += path.read_text(encoding="utf-8").split("\n")
    for path in sorted([*ROOT.glob("docs/*.md"), ROOT / "README.md"]):
        text = path.read_text(encoding="utf-8")
        for block in re.findall(r"^```[^\n]*\n(.*?)^```", text, re.M | re.S):
            lines += block.split("\n")
    lines += re.findall(r"`([^`\n]+)`", (ROOT / "docs/language.md").read_text("utf-8"))
    return [line for line in lines if line.strip() and not line.strip().startswith("#")]


def test_every_example_line_takes_the_fast_path_with_lark_s_ir():
    px = []
    for path in sorted([*ROOT.glob("examples/**/*.px"), *ROOT.glob("tests/**/*.px")]):
        px += [ln for ln in path.read_text("utf-8").split("\n")
               if ln.strip() and not ln.strip().startswith("#")]
    assert len(px) > 300
    refused = [line for line in px if _compare(line) is None]
    assert refused == []


def test_whole_programs_are_the_same_without_the_fast_path(monkeypatch):
    from pxos.lang.px import lines
    from pxos.lang.px.parser import parse_file

    paths = sorted([*ROOT.glob("examples/**/*.px"), *ROOT.glob("tests/**/*.px")])
    fast = [parse_file(path) for path in paths]
    monkeypatch.setattr(lines, "parse_fast", lambda text, base: None)
    for path, program in zip(paths, fast):
        assert parse_file(path) == program, path


def test_every_documented_line_gives_none_or_lark_s_ir():
    lines = _corpus()
    taken = sum(_compare(line) is not None for line in lines)
    assert len(lines) > 1000 and taken > 600


# one line of each rule, and the corners of positions and precedence
ACCEPTED = [
    "GPU_KERNEL k", "  GPU_PARAM a float[,]", "GPU_PARAM s double", "GPU_PARAM c u8[,,]",
    "GPU_SHARED_MEM tile float 16 16", "GPU_SHARED_MEM t i32 4 4 4", "GPU_THREADS LEN(a), 4",
    "GPU_THREADS n, m, 2", "GPU_BLOCK 16, 16", "GPU_TARGET cpu", "GPU_THREAD_CODE:",
    "GPU_END", "THREAD_ID -> x, y", "LOCAL_ID → l", "BLOCK_ID → b, c, d", "BLOCK_SIZE → w",
    "NUM_THREADS → n", "LOAD a[i, j] → v", "STORE h → a[x]", "ADD a -1 → r", "NEG a → r",
    "FMA a b 2.5 → r", "SELECT c a b → r", "CAST x f32 → y", "CAST m[i] u8 → y",
    "ATOMIC_ADD m[y, x] 1 → old", "ATOMIC_MAX m[i] v", "IF x < 1:", "ELIF x >= 2:",
    "ELSE:", "FOR i IN 0..LEN(a) STEP 2:", "FOR dy IN -2..3:", "WHILE h > 0:", "BREAK",
    "CONTINUE", "RETURN", "SYNC_THREADS", "SET h = 0xFF + .5 * 1e-3 - 2.0   # comment",
    'READ_FILE "data/a.png" INTO photo', 'READ_FILE "a.u8" INTO b AS u8 CHUNK 4096 * 2',
    'WRITE_FILE gray8 TO "out/gray.png"', "ALLOC g float SIZE ROWS(p), COLS(p)",
    "ALLOC b LIKE a", "FILL a 0", "FILL a -1.5", "RANDOM a SEED 1", "RANDOM a SEED 7 RANGE -1 1.5",
    "RUN k a b 0.1 TRUE FALSE m[0]", "RUN k", "REDUCE MAX a → hottest", "REDUCE SUM a -> s",
    "SORT a → b", 'PRINT "photo:", ROWS(p), "×", COLS(p)', "VERIFY a == b TOL 1e-6",
    "VERIFY s | 1 == 3", "SWAP a b", "CONST STEPS = 500", 'READ_ENV "KEY" INTO k AS hex',
    'ENCRYPT d WITH aes_gcm KEY k NONCE n → c', 'DECRYPT c WITH chacha KEY "00ff" NONCE n → d',
    "HASH ROWS OF a WITH sha256 → h", "HASH a WITH blake2b -> h",
    "COMPRESS a WITH zstd LEVEL 3 → z", "DECOMPRESS z WITH lz4 → a",
    'VALIDATE a WITH crc32 = "abc"', "VALIDATE a WITH crc32 = 12", "VALIDATE a AS utf8",
    "SET v = (a) + b", "SET v = +x * ((y))", "SET v = -(a + b) ** 2", "SET v = a**-b**c",
    "SET v = - -1", "SET v = -1.5e3", "SET v = ~a & b | c ^ d << 2 >> 1 % 3",
    "SET v = NOT NOT a < b AND c != d OR e == f", "SET v = f32(a) / sqrt(b) + pow(a, 2)",
    "SET v = min(max(a, 0), ROWS(src) - 1)", "SET v = DIM(a, 2) + LEN(b)", "SET t = TRUE",
    "SET v = a[(i), j + 1, k]", "SET v = (x < y) == (y < z)", "IF (a < b):",
    "SET v = 1 - 2 - 3 * 4 / 5 % 6", "STORE +1 → a[0]", "SET v = a ^ b & c ^ d | e",
    "SET v = a OR b OR c AND d AND e",
    "SET v = a << b + c >> d * e", "SET v = a & b << c", "SET v = a | b ^ c",
]


@pytest.mark.parametrize("line", ACCEPTED)
def test_each_rule_takes_the_fast_path(line):
    assert _compare(line) is not None


REFUSED = [
    "SET LEVEL = 1",  # a keyword as a name: Lark's contextual lexer takes it
    "RUNN k", "SETacc = 1", "SET x = 1abc", "IF 1AND y:",  # glued words
    "SET x = (", "SET x = foo(1) +", "SET x = a < b < c", "GPU_BLOCK 1, 2, 3, 4",
    "SET x = foo(1)", "SET x = 07", "ADD a → r", "GPU_PARAM a float[][]", "x = 1",
    "SET x = a[1, 2, 3, 4]", "SET x = 1 @ 2", "SET x = " + "-" * 120 + "1",
    "GPU_PARAM a nosuchtype", "SET x = 1e999", "ELSE", "",
]


@pytest.mark.parametrize("line", REFUSED)
def test_lines_for_lark(line):
    base = Span("t.px", 1, 1, 1, line)
    assert parse_fast(line, base) is None
    _compare(line)


def test_keywords_and_symbols_are_the_grammar_s():
    literals = set(_literals().values())
    keywords = {w for w in literals if re.fullmatch(r"[A-Z_][A-Z0-9_]*", w)}
    assert lexer._KEYWORDS == keywords
    assert set(lexer._SYMBOLS) == (literals - keywords) | {"->", "→"}


@cache
def _grammar():
    import lark

    from pxos.lang.px import tables

    return lark.Lark(tables.grammar(), parser="lalr", lexer="basic")


def _first_words() -> set[str]:
    """The words a line of the grammar can start with, from Lark's compiled rules."""
    rules = _grammar().rules
    words = set()
    for rule in rules:
        if rule.origin.name in ("kernel_line", "thread_line", "host_line"):
            head = rule.expansion[0]
            words |= {head.name} if head.is_term else {
                r.expansion[0].name for r in rules if r.origin.name == head.name}
    return words


def test_every_line_of_the_grammar_has_its_fast_rule():
    assert set(fast_parse._LINES) == _first_words()


@pytest.mark.parametrize("word", sorted(fast_parse._OPCODES | fast_parse._ATOMICS))
def test_every_instruction_takes_the_fast_path(word):
    if word.startswith("ATOMIC_"):
        lines = [f"{word} m[i] 1 → old", f"{word} m[i, j] -2"]
    else:  # the line of the instruction's arity: Lark accepts only that one
        lines = [f"{word} a → r", f"{word} a 2 → r", f"{word} a b 1.5 → r"]
    assert sum(_compare(line) is not None for line in lines) >= 1


@cache
def _lines_strategy():
    from hypothesis.extra.lark import from_lark

    grammar = _grammar()
    explicit = {t.name: st.just(f" {t.pattern.value} ") for t in grammar.terminals
                if t.pattern.type == "str"}
    spaced = lambda s: f" {s} "  # noqa: E731
    explicit.update(
        NAME=st.sampled_from(["x", "acc", "f32", "u8", "min", "sqrt", "foo", "DIM", "set",
                              "int", "pow"]).map(spaced),
        INT=st.sampled_from(["0", "2", "7", "0x1F", "07", "1" * 21]).map(spaced),
        FLOAT=st.from_regex(r"[0-9]{1,3}\.[0-9]{1,3}([eE][+-]?[0-9]{1,3})?|\.[0-9]",
                            fullmatch=True).map(spaced),
        STRING=st.sampled_from(['"a b"', '""', '"×"']).map(spaced),
        ARROW=st.sampled_from(["→", "->"]).map(spaced),
        COMMENT=st.just(""), __IGNORE_1=st.just(" "))
    return st.tuples(st.sampled_from(["", "    "]), from_lark(grammar, explicit=explicit),
                     st.sampled_from(["", "  # note"])).map("".join)


_SETTINGS = settings(max_examples=300, deadline=None, database=None,
                     suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@_SETTINGS
@given(st.data())
def test_generated_lines_give_lark_s_ir(data):
    _compare(data.draw(_lines_strategy()))


_ATOMS = st.sampled_from(["a", "1", "2.5", "TRUE", "m[i, 1]", "f32(x)", "LEN(a)", "min(a, b)"])
_OPERATORS = ["OR", "AND", "<", "<=", ">", ">=", "==", "!=", "|", "^", "&", "<<", ">>", "+",
              "-", "*", "/", "%", "**"]


def test_every_pair_of_operators_nests_as_in_lark():
    """Precedence and associativity, pair by pair, with prefixes and parentheses."""
    taken = 0
    for first in _OPERATORS:
        for second in _OPERATORS:
            for form in ("a {} b {} c", "-a {} ~b {} +c", "NOT a {} b {} (c)", "(a {} b) {} c",
                         "+(a) {} -(b {} c)", "a ** b {} c {} d ** -e"):
                taken += _compare("SET v = " + form.format(first, second)) is not None
    assert taken > 2000


@_SETTINGS
@given(st.data(), st.sampled_from(["SET v = ", "IF ", "STORE "]))
def test_generated_expressions_give_lark_s_trees(data, head):
    """Operands joined by a few operators (so that each pair meets often), with prefixes
    and parentheses drawn: the grammar's precedence and associativity decide the tree."""
    k = data.draw(st.integers(0, len(_OPERATORS) - 2))
    near = _OPERATORS[k + 1:k + 4]  # neighbours in precedence meet most often
    operators = st.sampled_from([_OPERATORS[k], data.draw(st.sampled_from(near)),
                                 data.draw(st.sampled_from(_OPERATORS))])
    operand = st.tuples(st.sampled_from(["", "", "", "-", "~", "+"]), _ATOMS).map("".join)
    terms = data.draw(st.lists(st.tuples(operand, operators), min_size=2, max_size=8))
    if data.draw(st.booleans()):
        terms[0] = ("NOT " + terms[0][0], terms[0][1])
    words = [w for term in terms for w in term][:-1]
    for _ in range(data.draw(st.integers(0, 2))):  # parentheses around a run of terms
        i = 2 * data.draw(st.integers(0, len(terms) - 1))
        j = 2 * data.draw(st.integers(i // 2, len(terms) - 1))
        words[i] = "(" + words[i]
        words[j] = words[j] + ")"
    tail = {"SET v = ": "", "IF ": ":", "STORE ": " → out[i]"}[head]
    _compare(head + " ".join(words) + tail)


_NOISE = list(" ()[],:-+*=<>!.#\"aZ0_→\t\vé") + ["->", "..", "**", "SET", "1e", "0x"]


@_SETTINGS
@given(st.data())
def test_mutated_lines_give_none_or_lark_s_ir(data):
    line = data.draw(_lines_strategy())
    for _ in range(data.draw(st.integers(1, 3))):
        i = data.draw(st.integers(0, len(line)))
        j = data.draw(st.integers(i, min(len(line), i + 4)))
        how = data.draw(st.sampled_from(["delete", "insert", "repeat", "lower", "squeeze"]))
        if how == "delete":
            line = line[:i] + line[j:]
        elif how == "insert":
            line = line[:i] + data.draw(st.sampled_from(_NOISE)) + line[i:]
        elif how == "repeat":
            line = line[:j] + line[i:j] + line[j:]
        elif how == "lower":
            line = line[:i] + line[i:j].lower() + line[j:]
        else:
            line = re.sub(" +", data.draw(st.sampled_from(["", " "])), line)
    _compare(line)


def test_a_well_formed_file_parses_without_lark(tmp_path):
    code = ("import sys\nfrom pxos.lang.px.parser import parse_file\n"
            f"p = parse_file({str(ROOT / 'examples' / 'edges.px')!r})\n"
            "print(len(p.kernels), 'lark' in sys.modules)\n"
            "from pxos.lang.px.parser import parse_program\n"
            "try:\n    parse_program('SET x = (\\n')\nexcept Exception as e:\n"
            "    print(type(e).__name__, 'lark' in sys.modules)\n")
    env = dict(os.environ, PXOS_CACHE_DIR=str(tmp_path), PYTHONPATH=os.pathsep.join(
        [str(ROOT / "src"), os.environ.get("PYTHONPATH", "")]))
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n")[:2] == ["4 False", "PxSyntaxError True"]
