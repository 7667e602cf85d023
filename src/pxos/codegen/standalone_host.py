"""The text of an exported program: one CUDA C file in seven sections.

1. includes and ``CHECK``; 2. the GPU kernel (``codegen/cuda``, at global scope); 3. the CPU
reference (``codegen/c``, in ``namespace pxos_cpu``); 4. arrays and their initial contents,
plain C (``standalone_support``); 5. the problem: the kernel's arrays, scalars and launch,
generated from an :class:`~pxos.host.export.ExportPlan`; 6. verification and 7.
command-line options and ``main`` (``standalone_main``). ``#line`` directives point the
kernels at the `.px` file and everything after them back at the ``.cu`` file, so compiler
messages and ``CHECK`` name the right line.
"""

from __future__ import annotations

import re
import textwrap

import numpy as np

from pxos.codegen.c import CDialect, render_c
from pxos.codegen.cuda import CudaDialect, render_cuda
from pxos.codegen.dialect import c_string, comment
from pxos.codegen.signature import scalar_param_type
from pxos.codegen.standalone_main import MAIN, OPTIONS, VERIFY
from pxos.codegen.standalone_support import SUPPORT
from pxos.ir.types import BOOL, Scalar

# the C library headers sections 4 to 7 use
C_HEADERS = "".join(f"#include <{h}.h>\n" for h in ("errno", "math", "stdarg", "stdbool",
                                                      "stdint", "stdio", "stdlib", "string",
                                                      "time"))
BUILD = "nvcc -O3 -arch=native -fmad=false -Xcompiler -ffp-contract=off {cu} -o {exe}"
RESET_LINE = "#line @NEXT@"  # replaced by the .cu file's own next line number
_DEFINES = re.compile(r"^static [^=;{]*?\b(pxos_\w+)\s*\(", re.M)  # a function's name
# default float tolerance per element width in bytes: (rtol, atol); --rtol/--atol override
TOLERANCE = {2: (1e-3, 1e-5), 4: (1e-5, 1e-6), 8: (1e-12, 1e-14)}


def render_program(plan, output: str) -> str:
    """The ``.cu`` text of ``plan`` (an ``ExportPlan``) for a file named ``output``."""
    gpu = render_cuda(plan.kernel)
    cpu = render_c(plan.kernel)
    f16 = "__half" in gpu.source
    parts = [
        _header(plan, output), _banner(1, "Includes and CHECK"), _includes(f16),
        _banner(2, "The GPU kernel (pxos's CUDA dialect; #line points at the .px file)"),
        gpu.source.rstrip("\n"), RESET_LINE,
        _banner(3, "The CPU reference: the same kernel in pxos's C dialect"),
        "namespace pxos_cpu {", "",
        *[_cpu_code(text) + "\n" for _, text in cpu.intrinsics],
        _cpu_code(cpu.function).rstrip("\n"), "", "}  /* namespace pxos_cpu */", RESET_LINE,
    ]
    tail = [_banner(5, "The problem: the kernel's arrays, scalar arguments and launch, as "
                       f"{plan.program.file} has them at its RUN (line {plan.run.span.line})"),
            _problem(plan),
            _banner(6, "Verification: the GPU's results against the CPU reference"),
            VERIFY.strip("\n"), _banner(7, "Command line and main"), OPTIONS.strip("\n"),
            _main(plan)]
    parts += [_banner(4, "Arrays and their initial contents (plain C: also compiles alone "
                         "with a C compiler)"), used_support("\n".join(tail)), *tail]
    lines = "\n".join(parts).split("\n")
    name = c_string(output)
    return "\n".join(f'#line {n + 2} "{name}"' if line == RESET_LINE else line
                     for n, line in enumerate(lines)) + "\n"


def used_support(code: str) -> str:
    """``SUPPORT`` less the functions that neither ``code`` nor a kept block calls."""
    blocks = SUPPORT.strip("\n").split("\n\n")
    names = [m.group(1) if (m := _DEFINES.search(b)) else None for b in blocks]
    keep = {i for i, name in enumerate(names) if name is None}
    while True:
        text = code + "\n".join(blocks[i] for i in keep)
        more = {i for i, name in enumerate(names)
                if i not in keep and name and re.search(rf"\b{name}\b", text)}
        if not more:
            return "\n\n".join(b for i, b in enumerate(blocks) if i in keep)
        keep |= more


def _banner(number: int, title: str) -> str:
    return f"\n/* {'=' * 86}\n * {number}. {_safe(title)}\n */\n"


def _safe(text: str) -> str:
    """``text`` made safe inside a C block comment."""
    return comment(text)[3:-3]


def _quote(text: str) -> str:
    return f'"{c_string(text)}"'


def _cpu_code(text: str) -> str:
    """C dialect code as C++ for the host compiler: ``_Float16`` (C only) becomes CUDA's
    host-side ``__half`` (directives and comments left alone)."""
    return "\n".join(line if line.lstrip().startswith(("#", "/*")) else
                     re.sub(r"\b_Float16\b", "__half", line) for line in text.split("\n"))


def _header(plan, output: str) -> str:
    k, exe = plan.kernel, output.rsplit(".", 1)[0]
    size = (f"N: the size, default {plan.size.value} ({plan.size.label}); the thread "
            "counts and array extents follow it." if plan.size else
            f"N is refused: the sizes are fixed ({plan.fixed_why}).")
    files = [a.recipe[1] for a in plan.arrays if a.recipe[0] == "file"]
    lines = [
        f"{output}: kernel {k.name} of {plan.program.file} as a standalone CUDA program,",
        "written by `pxos export --standalone`. It needs nothing of pxos.", "",
        f"Build:  {BUILD.format(cu=output, exe=exe)}",
        "        -fmad=false and -ffp-contract=off: .px forbids contracting a * b + c into an",
        "        FMA, on the GPU and in the CPU reference alike. Add -Xcompiler -fopenmp -lgomp",
        "        to run the CPU reference on every core; name an -arch (sm_90) to build",
        "        without a GPU.",
        f"Run:    ./{exe} [N] [--input NAME=FILE.npy]... [--repeat R] [--rtol X] [--atol X]",
        "        [--plan]   (--help says more)",
        *textwrap.wrap(size, 80, initial_indent=" " * 8, subsequent_indent=" " * 8),
        *([f"Inputs: {', '.join(files)}: saved by pxos export; keep beside this file or the",
           "        program, or give other files with --input."] if files else []),
        "Prints: the problem, the device, the kernel's time (cudaEvent, best of R launches) and",
        "        effective bandwidth, the comparison of every array the kernel writes with the",
        "        CPU reference, then PASS or FAIL.",
        "Exit:   0 PASS, 1 FAIL, 2 an error (arguments, input files, CUDA).", "",
        "Sections: 1 includes and CHECK; 2 the GPU kernel; 3 the CPU reference (OpenMP over",
        "blocks with -fopenmp); 4 arrays and their initial contents; 5 the problem: sizes,",
        "inputs, scalar arguments, launch; 6 verification; 7 command line and main.",
    ]
    return "/*\n" + "\n".join(f" * {_safe(x)}".rstrip() for x in lines) + "\n */"


def _includes(f16: bool) -> str:
    return "\n".join([C_HEADERS.rstrip("\n"), "#include <cuda_runtime.h>",
                      *(["#include <cuda_fp16.h>"] if f16 else []), "", """\
/* Every CUDA call is checked: on failure, print where and why, and exit with status 2. */
#define CHECK(call)                                                               \\
    do {                                                                          \\
        const cudaError_t pxos_status = (call);                                   \\
        if (pxos_status != cudaSuccess) {                                         \\
            fprintf(stderr, "%s:%d: CUDA error: %s (%s)\\n", __FILE__, __LINE__,  \\
                    cudaGetErrorString(pxos_status), #call);                      \\
            exit(2);                                                              \\
        }                                                                         \\
    } while (0)"""])


# ---------------------------------------------------------------------------- 5. the problem
def _problem(plan) -> str:
    names = [a.name for a in plan.arrays]
    usage = [f"  N, --size N            the size (default {plan.size.value}, from "
             f"{plan.size.label})" if plan.size else
             f"  N, --size N            refused: {plan.fixed_why}",
             f"  --input NAME=FILE.npy  initial contents of an array ({', '.join(names)})",
             "  --repeat R             timed launches (default 10)",
             "  --rtol X, --atol X     float tolerance: |gpu - cpu| <= atol + rtol * |cpu|",
             "                         (default " + "; ".join(
                 f"f{8 * w} {r:g}, {a:g}" for w, (r, a) in TOLERANCE.items()) + ")",
             "  --plan                 print the problem and stop before using the GPU"]
    out = [
        f"enum {{ {', '.join(f'ARR_{n}' for n in names)}, PXOS_ARRAYS }};  "
        "/* the kernel's arrays */",
        "static const char *const pxos_array_names[PXOS_ARRAYS] = "
        f"{{{', '.join(_quote(n) for n in names)}}};",
        f"#define PXOS_ARRAY_LIST {_quote(', '.join(names))}",
        f"#define PXOS_SIZE_DEFAULT INT64_C({plan.size.value if plan.size else -1})",
        f"#define PXOS_SIZE_FIXED {_quote(plan.fixed_why or '')}  /* why N is refused */",
        f"#define PXOS_ORDER_DEPENDENT {int(plan.order_dependent)}  "
        "/* results depend on the order of threads (atomics' old values, ATOMIC_EXCH) */",
        "#define PXOS_USAGE \\\n" + " \\\n".join(f'    "{c_string(u)}\\n"' for u in usage),
        "",
        "typedef struct {",
        "    int64_t n;                    /* the size N (-1: fixed) */",
        "    int64_t nx, ny, nz;           /* threads requested per axis (GPU_THREADS) */",
        *[f"    {_c_type(scalar_param_type(b.param.type))} v_{b.param.name};  "
          f"/* scalar argument {b.param.name} ({b.param.type}) */" for b in _scalars(plan)],
        "    pxos_array arr[PXOS_ARRAYS];",
        "} pxos_problem;", "",
        "/* Extents, scalar arguments and thread counts for size n. */",
        "static void pxos_problem_init(pxos_problem *p, int64_t n)",
        "{",
        "    memset(p, 0, sizeof *p);",
        "    p->n = n;",
        *[_array_init(a) for a in plan.arrays],
        *[f"    p->v_{b.param.name} = {_scalar_value(b)};" for b in _scalars(plan)],
        *[f"    p->n{axis} = {t};" for axis, t in
          zip("xyz", list(plan.threads_c) + ["1"] * (3 - len(plan.threads_c)))],
        "    if (p->nx < 0 || p->ny < 0 || p->nz < 0 || (p->ny && p->nz && (p->nz > "
        "PXOS_MAX_ELEMENTS / p->ny",
        "            || p->nx > PXOS_MAX_ELEMENTS / p->ny / p->nz)))",
        "        pxos_fail(\"the kernel would launch %lld x %lld x %lld threads; at most %lld "
        "in all\",",
        "                  (long long)p->nx, (long long)p->ny, (long long)p->nz, "
        "(long long)PXOS_MAX_ELEMENTS);",
        "}", "",
        "/* Initial contents: an --input file if given, else as the program makes them. */",
        "static void pxos_problem_inputs(pxos_problem *p, const char *const *input, "
        "const char *dir)",
        "{",
        *[line for a in plan.arrays for line in _array_inputs(a)],
        "}", "",
        "static void pxos_print_problem(const pxos_problem *p)",
        "{",
        f"    printf(\"kernel %s of %s, as at its RUN (line {plan.run.span.line})\\n\", "
        f"{_quote(plan.kernel.name)}, {_quote(plan.program.file)});",
        "    if (p->n >= 0) printf(\"size N = %lld\\n\", (long long)p->n);",
        "    else printf(\"size: fixed (%s)\\n\", PXOS_SIZE_FIXED);",
        "    for (int i = 0; i < PXOS_ARRAYS; ++i) "
        f"pxos_print_array(&p->arr[i], {max(len(n) for n in names)});",
        *[f"    printf(\"  {b.param.name} = {_format(b.param.type)} ({b.param.type})\\n\", "
          f"{_print_cast(b.param.type)}p->v_{b.param.name});" for b in _scalars(plan)],
        f"    printf(\"  threads %lld x %lld x %lld in blocks of "
        f"{' x '.join(map(str, _block(plan)))}\\n\", (long long)p->nx, (long long)p->ny, "
        "(long long)p->nz);",
        "}",
    ]
    return "\n".join(out)


def _scalars(plan):
    return [b for b in plan.bindings if not isinstance(b, int)]


def _c_type(t: Scalar) -> str:
    return CudaDialect().type_name(t)


def _block(plan) -> tuple[int, int, int]:
    """GPU_BLOCK, x first, with 1 for each axis the launch does not have."""
    block = tuple(plan.kernel.block)
    return block + (1,) * (3 - len(block))


def _array_init(a) -> str:
    ext = list(a.extents) + ["0"] * (3 - len(a.extents))
    kind = "b" if a.elem == BOOL else a.elem.kind
    return (f"    pxos_array_init(&p->arr[ARR_{a.name}], {_quote(a.name)}, '{kind}', "
            f"{a.elem.bits // 8}, \"{a.access}\", {len(a.shape)}, {', '.join(ext)});")


def _array_inputs(a) -> list[str]:
    ref = f"&p->arr[ARR_{a.name}]"
    kind = a.recipe[0]
    origin = f"{a.recipe[1]}: {a.origin}" if kind == "file" else a.origin
    lead = "    " if kind in ("file", "zeros") else "    if (!"
    head = (f"{lead}pxos_input_file({ref}, input[ARR_{a.name}], "
            f"{_quote(a.recipe[1]) if kind == 'file' else 'NULL'},\n"
            f"{' ' * (len(lead) + 16)}{_quote(origin)}, dir)")
    if kind in ("file", "zeros"):
        return [f"{head};"]
    if kind == "fill":
        make = f"pxos_fill({ref}, UINT64_C({a.recipe[1]:#x}));"
    elif a.elem.is_float:
        _, seed, lo, hi = a.recipe
        make = f"pxos_random_float({ref}, UINT64_C({seed}), {_double(lo)}, {_double(hi)});"
    else:
        _, seed, lo, width = a.recipe
        make = (f"pxos_random_int({ref}, UINT64_C({seed}), UINT64_C({lo & (2**64 - 1)}), "
                f"UINT64_C({width}));")
    return [f"{head})", f"        {make}"]


def _double(v: float) -> str:
    return CDialect().literal(v, Scalar("f64", "f", 64))


def _scalar_value(b) -> str:
    t = b.param.type
    if b.c_value is None:
        return CDialect().literal(np.asarray(b.value).item(), scalar_param_type(t))
    if t.is_float:
        return f"({_c_type(scalar_param_type(t))})({b.c_value})"
    if t == BOOL:
        return f"({b.c_value}) != 0"
    info = np.iinfo(t.dtype)
    return (f"({_c_type(t)})pxos_fit({b.c_value}, INT64_C({max(int(info.min), -2**63)}), "
            f"INT64_C({min(int(info.max), 2**63 - 1)}), \"argument {b.param.name}\")")


def _format(t: Scalar) -> str:
    return "%.9g" if t.is_float else "%llu" if t.kind == "u" else "%lld"


def _print_cast(t: Scalar) -> str:
    return "(double)" if t.is_float else "(unsigned long long)" if t.kind == "u" \
        else "(long long)"


# ---------------------------------------------------------------------------- 7. main
def _call(plan, entry: str, ptrs: str) -> str:
    """The kernel's call with arrays at ``ptrs[ARR_x]``, in ``codegen/signature`` order:
    thread counts, then per parameter its value, or its pointer and extents."""
    groups = ["p->nx, p->ny, p->nz"]
    for param, b in zip(plan.kernel.params, plan.bindings):
        if not isinstance(b, int):
            groups.append(f"p->v_{param.name}")
            continue
        a = plan.arrays[b]
        groups.append(", ".join([f"({_c_type(a.elem)} *){ptrs}[ARR_{a.name}]"] + [
            f"p->arr[ARR_{a.name}].shape[{d}]" for d in range(len(a.shape))]))
    return f"    {entry}(\n" + ",\n".join(f"        {g}" for g in groups) + ");"


def _main(plan) -> str:
    bx, by, bz = _block(plan)
    entry = f"k_{plan.kernel.name}"
    return MAIN.format(
        launch=_call(plan, f"{entry}<<<grid, block>>>", "d"),
        reference=_call(plan, f"pxos_cpu::{entry}", "h"), bx=bx, by=by, bz=bz,
        rtol="{" + ", ".join(str(TOLERANCE[w][0]) for w in (2, 4, 8)) + "}",
        atol="{" + ", ".join(str(TOLERANCE[w][1]) for w in (2, 4, 8)) + "}")
