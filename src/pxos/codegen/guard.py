"""The memory-fault guard of a C kernel, and its launch on the block pool: a fault inside
the kernel ends the launch, not the process.

``codegen/c`` renders a kernel as constants, then ``#pragma omp parallel for …
num_threads(T)`` and the block loop. :func:`guarded_function` renders it instead as:

* ``<entry>_blocks``: the constants, then the block loop over blocks ``[lo, hi)``;
* ``<entry>_piece``: the parameters from a struct, and the call of ``_blocks`` with a
  jump buffer of the calling thread armed in the guard library (``backends/guard``);
* the entry itself: the constants, the struct, then the blocks in one piece on the
  calling thread where the team ``T`` is one thread (one block, ``OMP_NUM_THREADS=1``),
  else the block pool of the guard library (``pxos_run_blocks``,
  ``backends/block_pool``), else (the pool declines) an OpenMP loop over the team's
  static shares:

    static void __attribute__((noinline)) k_saxpy_blocks(<params>, int64_t pxos_lo,
                                                         int64_t pxos_hi) {
        <constants>
        for (…blocks from pxos_lo to pxos_hi…) { … }
    }
    struct k_saxpy_args { <params>; };
    static void k_saxpy_piece(const void *pxos_p, int64_t pxos_lo, int64_t pxos_hi) {
        sigjmp_buf pxos_jb;
        if (sigsetjmp(pxos_jb, 0) == 0) {
            pxos_guard_arm(&pxos_jb);
            k_saxpy_blocks(<the struct's fields>, pxos_lo, pxos_hi);
        }
        pxos_guard_disarm();
    }
    void k_saxpy(<params>) {
        <constants>
        const struct k_saxpy_args pxos_args = {<params>};
        if (T <= 1) k_saxpy_piece(&pxos_args, 0, blocks);
        else if (!pxos_run_blocks(k_saxpy_piece, &pxos_args, blocks, T)) {
    #pragma omp parallel for schedule(static) num_threads(T)
            for (member…) k_saxpy_piece(&pxos_args, <member's share>);
        }
    }

The loop stays in a function of its own because a function that calls ``sigsetjmp`` is
compiled with fewer optimisations (its locals may not stay in registers); so the loop is
compiled exactly as without the guard, its parameters as before (``restrict`` ones
too). On SIGSEGV or SIGBUS the guard library's handler (on an alternate signal stack, so
a stack overflow is caught too) records the signal and ``siglongjmp``\\ s to the faulting
thread's buffer; that piece stops, the others run, and the backend raises
``PxFaultError`` after the launch. The cost is one call and one ``sigsetjmp`` (no system
call: the signal mask is not saved, the handler runs with ``SA_NODEFER``) per piece.
"""
from __future__ import annotations

import re

DECLARATIONS = """#include <setjmp.h>
extern void pxos_guard_arm(sigjmp_buf *jb);
extern void pxos_guard_disarm(void);
extern int pxos_run_blocks(void (*fn)(const void *, int64_t, int64_t), const void *args,
                           int64_t n, int team);
"""

_PRAGMA = "#pragma omp parallel for"
# the head of the block loop (codegen/c._block_loop): type, variable, count
_LOOP = re.compile(r"for \((int32_t|int64_t) (pxos_\w+) = 0; \2 < (.+); \+\+\2\) \{$")


def guarded_function(header: str, name: str, params: list[str], body: list[str],
                     around: tuple[list[str], list[str]] = ([], [])) -> str:
    """The guarded C text of kernel function ``name`` (see the module docstring).

    Args:
        header: its comment line; params: its parameter declarations (``float *v_a``).
        body: its lines (indented by the caller), with one ``#pragma omp parallel for``
            line followed by the block loop's head (``for (int64_t pxos_block = 0;
            pxos_block < <count>; ++pxos_block) {``), the loop running to the end of
            ``body``; a body without one (no loop) is rendered as one plain function.
        around: lines of the blocks function before its loop and after it (which may
            read ``pxos_lo`` and ``pxos_hi``: ``codegen/own_atomics``).
    """
    def indent(lines):
        return ["    " + x if x and not x.startswith("#") else x for x in lines]
    signature = ", ".join(params)
    at = next((i for i, line in enumerate(body) if line.startswith(_PRAGMA)), None)
    if at is None:
        return "\n".join([header, f"void {name}({signature})", "{", *indent(body), "}", ""])
    loop = _LOOP.match(body[at + 1])
    if loop is None:
        raise ValueError(f"{name}: the line after the OpenMP pragma is not a block loop: "
                         f"{body[at + 1]!r}")
    kind, var, count = loop.groups()
    team = re.search(r"num_threads\(((?:[^()]|\((?:[^()]|\([^()]*\))*\))*)\)", body[at])
    names = [re.findall(r"\w+", p)[-1] for p in params]
    blocks = [f"static void __attribute__((noinline)) {name}_blocks({signature}, "
              "int64_t pxos_lo, int64_t pxos_hi)", "{", *indent(body[:at] + around[0]),
              f"    for ({kind} {var} = ({kind})pxos_lo; {var} < ({kind})pxos_hi; ++{var}) {{",
              *indent(body[at + 2:] + around[1]), "}"]
    piece = [f"struct {name}_args {{", *(f"    {p};" for p in params), "};",
             f"static void {name}_piece(const void *pxos_p, int64_t pxos_lo, int64_t pxos_hi)",
             "{", f"    const struct {name}_args *pxos_a = (const struct {name}_args *)pxos_p;",
             "    sigjmp_buf pxos_jb;", "    if (sigsetjmp(pxos_jb, 0) == 0) {",
             "        pxos_guard_arm(&pxos_jb);",
             f"        {name}_blocks({''.join(f'pxos_a->{n}, ' for n in names)}"
             "pxos_lo, pxos_hi);", "    }", "    pxos_guard_disarm();", "}"]
    entry = [f"void {name}({signature})", "{", *indent(body[:at] + [
        f"const int64_t pxos_nblk = (int64_t)({count});",
        f"const int pxos_team = {team.group(1) if team else 1};",
        f"const struct {name}_args pxos_args = {{{', '.join(names)}}};",
        "if (pxos_team <= 1)", f"    {name}_piece(&pxos_args, 0, pxos_nblk);",
        f"else if (!pxos_run_blocks({name}_piece, &pxos_args, pxos_nblk, pxos_team)) {{",
        "#pragma omp parallel for schedule(static) num_threads(pxos_team)",
        "    for (int pxos_m = 0; pxos_m < pxos_team; ++pxos_m)",
        f"        {name}_piece(&pxos_args, pxos_nblk * pxos_m / pxos_team,",
        "                     pxos_nblk * (pxos_m + 1) / pxos_team);", "}"]), "}"]
    return "\n".join([DECLARATIONS, header, *blocks, *piece, *entry, ""])
