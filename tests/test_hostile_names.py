"""Hostile identifiers: words of C, C++/CUDA, OpenCL, libc and `.px` itself, as every kind of name.

spec/px-language.md, "Lexical rules": identifiers are never a keyword nor a reserved word of C,
CUDA C or OpenCL C, "so generated code can never be injected into". Each hostile name is
refused with a ``PxNameError`` (or a ``PxSyntaxError`` for a `.px` keyword the grammar cannot
take as a name) on the line that holds it; a name that is accepted appears in the generated C
only inside a longer, prefixed identifier (``v_<name>``, ``k_<name>``, ``d0_<name>``).
"""

from __future__ import annotations

import re

import numpy as np
import pytest

from pxos import backends
from pxos.backends.base import make_launch
from pxos.codegen.c import render_c
from pxos.errors import PxError, PxNameError, PxSyntaxError
from pxos.ir.check_host import check_program
from pxos.ir.reserved import MAX_NAME, RESERVED
from pxos.lang.px.parser import parse_program

C_WORDS = ["int", "return", "while", "goto", "restrict", "_Bool", "void", "float", "double",
           "sizeof", "static", "register", "volatile", "bool", "true", "inline", "typeof"]
CPP_CUDA_WORDS = ["class", "template", "namespace", "operator", "new", "delete", "this",
                  "__global__", "__shared__", "__device__", "threadIdx", "blockIdx",
                  "blockDim", "atomicAdd", "__syncthreads", "dim3", "warpSize"]
OPENCL_WORDS = ["__kernel", "kernel", "global", "local", "private", "constant",
                "get_global_id", "get_local_id", "barrier", "half", "read_only"]
LIBC_WORDS = ["printf", "malloc", "free", "exit", "system", "sqrt", "sqrtf", "fmaf", "memcpy",
              "abs", "errno", "main", "NULL", "NAN", "INFINITY", "int32_t", "size_t", "fabsf"]
PX_WORDS = ["LOAD", "STORE", "SET", "IF", "ELSE", "FOR", "IN", "STEP", "TRUE", "FALSE", "LEN",
            "SUM", "RUN", "GPU_END", "GPU_KERNEL", "SYNC_THREADS", "THREAD_ID", "ATOMIC_ADD",
            "AND", "NOT"]
IMPLEMENTATION_WORDS = ["__x", "a__b", "x__", "__", "_Upper", "_X1", "__asm__", "_Pragma",
                        "x" * (MAX_NAME + 1), "a" + "_" * 64]
HOSTILE = C_WORDS + CPP_CUDA_WORDS + OPENCL_WORDS + LIBC_WORDS + PX_WORDS + IMPLEMENTATION_WORDS
# Not on the reserved list, but words of <math.h>, <stdint.h>, OpenMP or pxos's own generated
# code: accepted, so they must come out prefixed.
SNEAKY_ACCEPTED = ["M_PI", "EOF", "HUGE_VAL", "INT32_MAX", "INT64_C", "UINT64_C", "log2",
                   "cbrt", "trunc", "copysignf", "isfinite", "signbit", "omp_get_thread_num",
                   "pxos_nx", "pxos_l", "pxos_end", "pxos_block", "d0_a", "v_a", "k_k",
                   "x" * MAX_NAME]

# Programs with one '@' where the name goes. The first four point at the name exactly.
_HEAD = "GPU_KERNEL k\nGPU_PARAM a float[]\nGPU_THREAD_CODE:\n    THREAD_ID → i\n"
POSITIONS = {
    "kernel name": "GPU_KERNEL @\nGPU_PARAM a float[]\nGPU_THREAD_CODE:\n    THREAD_ID → i\n"
                   "    STORE 1.0 → a[i]\nGPU_END\n",
    "array parameter": "GPU_KERNEL k\nGPU_PARAM @ float[]\nGPU_THREAD_CODE:\n"
                       "    THREAD_ID → i\nGPU_END\n",
    "scalar parameter": "GPU_KERNEL k\nGPU_PARAM a float[]\nGPU_PARAM @ int\n"
                        "GPU_THREAD_CODE:\n    THREAD_ID → i\n    STORE 1.0 → a[i]\nGPU_END\n",
    "shared array": "GPU_KERNEL k\nGPU_PARAM a float[]\nGPU_SHARED_MEM @ float 64\n"
                    "GPU_BLOCK 64\nGPU_THREAD_CODE:\n    LOCAL_ID → l\nGPU_END\n",
    "local variable (SET)": _HEAD + "    SET @ = 1.0\nGPU_END\n",
    "FOR variable": _HEAD + "    FOR @ IN 0..3:\n        STORE 1.0 → a[i]\nGPU_END\n",
    "LOAD target": _HEAD + "    LOAD a[i] → @\nGPU_END\n",
    "THREAD_ID target": "GPU_KERNEL k\nGPU_PARAM a float[]\nGPU_THREAD_CODE:\n"
                        "    THREAD_ID → @\nGPU_END\n",
    "instruction result": _HEAD + "    ADD i 1 → @\nGPU_END\n",
    "CAST result": _HEAD + "    CAST i f32 → @\nGPU_END\n",
    "atomic old value": "GPU_KERNEL k\nGPU_PARAM a int[]\nGPU_THREAD_CODE:\n"
                        "    THREAD_ID → i\n    ATOMIC_ADD a[0] 1 → @\nGPU_END\n",
    "host ALLOC": "ALLOC @ float SIZE 3\n",
    "host SET": "SET @ = 3\n",
    "host ALLOC LIKE": "ALLOC a float SIZE 3\nALLOC @ LIKE a\n",
    "host READ_FILE": 'READ_FILE "x.npy" INTO @\n',
    "host REDUCE": "ALLOC a float SIZE 3\nREDUCE SUM a → @\n",
    "host SORT": "ALLOC a float SIZE 3\nSORT a → @\n",
}
EXACT = ("kernel name", "array parameter", "scalar parameter", "shared array")
PLACEHOLDER = "zq_placeholder_zq"


def where(template: str) -> tuple[int, int]:
    """1-based line and column of the '@' in ``template``."""
    before = template[: template.index("@")]
    return before.count("\n") + 1, len(before) - (before.rfind("\n") + 1) + 1


def compile_program(template: str, name: str):
    return check_program(parse_program(template.replace("@", name), "t.px"))


def strip_comments(c: str) -> str:
    """C source without comments, ``#line`` directives and string literals."""
    c = re.sub(r"/\*.*?\*/", " ", c, flags=re.S)
    c = re.sub(r"//[^\n]*", " ", c)
    c = re.sub(r"^#line .*$", " ", c, flags=re.M)
    return re.sub(r'"(?:[^"\\\n]|\\.)*"', '""', c)


def bare(word: str, code: str) -> list[int]:
    """Offsets where ``word`` stands in ``code`` as a whole identifier."""
    return [m.start() for m in re.finditer(
        rf"(?<![A-Za-z0-9_]){re.escape(word)}(?![A-Za-z0-9_])", code)]


def same_code(src: str, ref: str, name: str) -> bool:
    """``src`` is ``ref`` with the placeholder replaced by ``name``, up to the order of lines
    (declarations are sorted by name)."""
    return sorted(src.splitlines()) == sorted(ref.replace(PLACEHOLDER, name).splitlines())


def assert_only_prefixed(template: str, name: str) -> None:
    """The C of every kernel of ``template`` with ``name`` is the C with a neutral placeholder,
    the placeholder replaced; and the placeholder never stands alone in code."""
    with_name = compile_program(template, name)
    with_placeholder = compile_program(template, PLACEHOLDER)
    for k_name, k_placeholder in zip(with_name.kernels, with_placeholder.kernels):
        src = render_c(k_name).source
        ref = render_c(k_placeholder).source
        assert same_code(src, ref, name)
        code = strip_comments(ref)
        for pos in bare(PLACEHOLDER, code):
            raise AssertionError(f"user name {name!r} appears unprefixed in the C: "
                                 f"{code[max(0, pos - 40):pos + 40]!r}")
        for m in re.finditer(re.escape(PLACEHOLDER), code):
            prefix = code[max(0, m.start() - 3):m.start()]
            assert re.search(r"(?:\bv_|\bk_|\bd\d_)$", prefix), (name, prefix)


def refused_or_prefixed(position: str, name: str) -> PxError | None:
    template = POSITIONS[position]
    line, col = where(template)
    text = template.replace("@", name)
    try:
        compile_program(template, name)
    except PxError as err:
        allowed = (PxNameError, PxSyntaxError) if name in PX_WORDS else (PxNameError,)
        assert type(err) in allowed, f"{position} {name!r}: {type(err).__name__}: {err}"
        assert err.span is not None and err.span.file == "t.px"
        assert err.span.line == line, f"{position} {name!r}: {err}"
        # the caret covers the name
        assert err.span.col <= col < err.span.col + max(1, err.span.length), \
            f"{position} {name!r}: {err}"
        rendered = err.render().splitlines()
        assert rendered[0].startswith(f"t.px:{line}:{err.span.col}: ")
        assert rendered[1].endswith(text.splitlines()[line - 1])
        return err
    assert_only_prefixed(template, name)
    return None


# ---------------------------------------------------------------------------- refusals

@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_name_refused_everywhere(name):
    for position in POSITIONS:
        err = refused_or_prefixed(position, name)
        # every hostile word of this list is on the reserved list or breaks the C rules
        assert err is not None, f"{name!r} accepted as {position}"


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_name_caret_exactly_under_declared_names(name):
    for position in EXACT:
        line, col = where(POSITIONS[position])
        err = refused_or_prefixed(position, name)
        assert (err.span.line, err.span.col) == (line, col), f"{position}: {err}"
        assert err.span.length == len(name)
        assert type(err) is PxNameError


@pytest.mark.parametrize("position", [p for p in POSITIONS if p not in EXACT])
def test_hostile_name_caret_under_the_name_in_statements(position):
    line, col = where(POSITIONS[position])
    err = refused_or_prefixed(position, "printf")
    assert (err.span.line, err.span.col, err.span.length) == (line, col, len("printf"))


def test_messages_say_why():
    err = refused_or_prefixed("local variable (SET)", "int")
    assert "reserved" in err.message and "'int'" in err.message
    err = refused_or_prefixed("array parameter", "a__b")
    assert "__" in err.message
    err = refused_or_prefixed("kernel name", "x" * 65)
    assert "65" in err.message and str(MAX_NAME) in err.message


def test_the_lists_cover_the_brief():
    for word in ["int", "return", "while", "goto", "restrict", "_Bool", "class", "template",
                 "__global__", "__shared__", "threadIdx", "blockIdx", "atomicAdd",
                 "__syncthreads", "__kernel", "kernel", "global", "local", "get_global_id",
                 "barrier", "half", "printf", "malloc", "exit", "system", "sqrt", "sqrtf",
                 "fmaf", "memcpy", "abs", "errno"]:
        assert word in RESERVED, word


# ---------------------------------------------------------------------------- accepted names

@pytest.mark.parametrize("name", SNEAKY_ACCEPTED)
def test_sneaky_accepted_names_are_prefixed(name):
    accepted = 0
    for position in POSITIONS:
        if refused_or_prefixed(position, name) is None:
            accepted += 1
    assert accepted == len(POSITIONS), f"{name!r} refused somewhere"


# A kernel using a name in every role, so each shows up in the generated C; '@K' etc. are
# the kernel, array, scalar, shared array, local variable and FOR variable.
SLOTS = ("@K", "@A", "@S", "@H", "@V", "@F")
NEUTRAL = {"@K": "kern", "@A": "arr", "@S": "factor", "@H": "tile", "@V": "acc", "@F": "j"}
SHARED_KERNEL = """GPU_KERNEL @K
GPU_PARAM @A float[]
GPU_PARAM @S float
GPU_SHARED_MEM @H float 64
GPU_BLOCK 64
GPU_THREAD_CODE:
    THREAD_ID → tid
    LOCAL_ID → lid
    SET @V = 0.0
    FOR @F IN 0..3:
        SET @V = @V + f32(@F)
    IF tid < LEN(@A):
        STORE @A[tid] → @H[lid]
    SYNC_THREADS
    IF tid < LEN(@A):
        STORE @H[lid] * @S + @V → @A[tid]
GPU_END
"""
PLAIN_KERNEL = """GPU_KERNEL @K
GPU_PARAM @A float[]
GPU_PARAM @S float
GPU_THREAD_CODE:
    THREAD_ID → tid
    SET @V = 0.0
    FOR @F IN 0..3:
        SET @V = @V + f32(@F)
    STORE @A[tid] * @S + @V → @A[tid]
GPU_END
"""


def fill(template: str, names: dict[str, str]) -> str:
    for slot in SLOTS:
        template = template.replace(slot, names.get(slot, NEUTRAL[slot]))
    return template


def build(template: str, names: dict[str, str]):
    return check_program(parse_program(fill(template, names), "t.px")).kernels[0]


def run_c(kernel, n: int = 100) -> np.ndarray:
    c = backends.get("c")
    a = np.arange(n, dtype=np.float32)
    c.launch(c.compile(kernel), [a, np.float32(2.0)], make_launch(kernel, (n,)))
    c.synchronize()
    return a


def expected(n: int = 100) -> np.ndarray:
    return np.arange(n, dtype=np.float32) * np.float32(2.0) + np.float32(3.0)


@pytest.fixture
def no_reserved_check(monkeypatch):
    """Switch the checker's reserved-word rule off, to test codegen's own defence (v_ prefix)."""
    monkeypatch.setattr("pxos.ir.check.check_name", lambda *args, **kwargs: None)
    monkeypatch.setattr("pxos.ir.check_host.check_name", lambda *args, **kwargs: None)


CODEGEN_NAMES = [n for n in HOSTILE if n not in PX_WORDS and re.fullmatch(r"[A-Za-z_]\w*", n)]


@pytest.mark.parametrize("template", [SHARED_KERNEL, PLAIN_KERNEL], ids=["shared", "plain"])
def test_codegen_prefixes_every_user_name_even_unchecked(no_reserved_check, template):
    """Even if the reserved list missed a word, the C has it only as v_/k_/d0_<word>."""
    for name in CODEGEN_NAMES:
        for slot in SLOTS:
            src = render_c(build(template, {slot: name})).source
            ref = render_c(build(template, {slot: PLACEHOLDER})).source
            assert same_code(src, ref, name), (slot, name)
            code = strip_comments(ref)
            assert not bare(PLACEHOLDER, code), (slot, name)


@pytest.mark.skipif("c" not in backends.available(), reason="no C compiler")
@pytest.mark.parametrize("template", [SHARED_KERNEL, PLAIN_KERNEL], ids=["shared", "plain"])
@pytest.mark.parametrize("names", [
    ["int", "return", "printf", "__shared__", "while", "for"],
    ["main", "float", "sqrtf", "threadIdx", "exit", "goto"],
    ["__global__", "restrict", "NULL", "barrier", "errno", "system"],
    ["x" * 65, "memcpy", "INFINITY", "_Bool", "abs", "int32_t"],
], ids=["set1", "set2", "set3", "set4"])
def test_unchecked_hostile_names_compile_and_run_in_c(no_reserved_check, template, names):
    kernel = build(template, dict(zip(SLOTS, names)))
    np.testing.assert_array_equal(run_c(kernel), expected())


# ---------------------------------------------------------------------------- ordinary names

ORDINARY = [
    {"@K": "my_kernel", "@A": "integer", "@S": "printf_count", "@H": "shared_tile",
     "@V": "returned", "@F": "int_i"},
    {"@K": "kernel_size", "@A": "global_sum", "@S": "half_width", "@H": "local_buf",
     "@V": "while_acc", "@F": "for_j"},
    {"@K": "sqrt_all", "@A": "mallocated", "@S": "exit_code", "@H": "barrier_tile",
     "@V": "threadIdx_x", "@F": "_lower"},
    {"@K": "k" * MAX_NAME, "@A": "Int", "@S": "RETURN_value", "@H": "Float",
     "@V": "v_acc", "@F": "d0_j"},
]


@pytest.mark.skipif("c" not in backends.available(), reason="no C compiler")
@pytest.mark.parametrize("template", [SHARED_KERNEL, PLAIN_KERNEL], ids=["shared", "plain"])
@pytest.mark.parametrize("names", ORDINARY, ids=lambda d: d["@A"])
def test_ordinary_names_containing_hostile_words_compile_and_run(template, names):
    kernel = build(template, names)
    src = render_c(kernel).source
    for slot, name in names.items():
        prefix = "k_" if slot == "@K" else "v_"
        assert slot not in template or prefix + name in src
    np.testing.assert_array_equal(run_c(kernel), expected())
    # and the interpreter agrees
    interp = backends.get("interp")
    a = np.arange(100, dtype=np.float32)
    interp.launch(interp.compile(kernel), [a, np.float32(2.0)], make_launch(kernel, (100,)))
    np.testing.assert_array_equal(a, expected())


def test_ordinary_host_names_run(tmp_path):
    from pxos.host.program import ProgramRun

    text = fill(PLAIN_KERNEL, ORDINARY[0]) + (
        "ALLOC integer_data float SIZE 10\nSET printf_count = 2.0\n"
        "RUN my_kernel integer_data printf_count\nREDUCE SUM integer_data → returned_sum\n"
        "SORT integer_data → sorted_exit\n")
    path = tmp_path / "names.px"
    path.write_text(text, encoding="utf-8")
    program = check_program(parse_program(text, str(path)))
    result = ProgramRun(program, device="interp", emit=lambda _t: None).run()
    assert float(result.values["returned_sum"]) == 30.0


# ---------------------------------------------------------------------------- file names

@pytest.mark.parametrize("file", ["evil*/x.px", "a*/int main(void){return 0;}/*.px"])
def test_hostile_file_name_stays_in_comments(file):
    text = fill(PLAIN_KERNEL, {})
    kernel = check_program(parse_program(text, file)).kernels[0]
    code = strip_comments(render_c(kernel).source)
    assert "x.px" not in code and "main" not in code and ".px" not in code


@pytest.mark.parametrize("file", ['quo"te.px', "back\\slash.px", "new\nline.px"])
def test_hostile_file_name_in_line_directives_is_escaped(file):
    text = fill(PLAIN_KERNEL, {})
    kernel = check_program(parse_program(text, file)).kernels[0]
    src = render_c(kernel).source
    for line in src.splitlines():
        if line.startswith("#line"):
            assert re.fullmatch(r'#line \d+ "(?:[^"\\]|\\.)*"', line), line
