"""The memory-fault guard of a C kernel: a fault inside the kernel ends the launch, not the
process.

``codegen/c`` renders the block loop as ``#pragma omp parallel for … num_threads(T)``
followed by the loop. :func:`guard_block_loop` rewrites it so that every OpenMP thread
first sets its own jump buffer and arms it in the guard library (``backends/guard``), then
runs its share of the blocks (``omp for nowait``: a static schedule with no barrier to
skip when a thread leaves early):

    #pragma omp parallel num_threads(T)
    {
        sigjmp_buf pxos_jb;
        if (sigsetjmp(pxos_jb, 0) == 0) {
            pxos_guard_arm(&pxos_jb);
            #pragma omp for schedule(static) nowait
            for (…blocks…) { … }
        }
        pxos_guard_disarm();
    }

On SIGSEGV or SIGBUS the guard library's handler (on an alternate signal stack, so a stack
overflow is caught too) records the signal and ``siglongjmp``\\ s to the faulting thread's
buffer; that thread stops, the others finish their blocks, and the backend raises
``PxFaultError`` after the launch. The cost is one ``sigsetjmp`` (no system call: the
signal mask is not saved, the handler runs with ``SA_NODEFER``) per OpenMP thread per
launch.
"""

from __future__ import annotations

import re

DECLARATIONS = """#include <setjmp.h>
extern void pxos_guard_arm(sigjmp_buf *jb);
extern void pxos_guard_disarm(void);
"""

_PRAGMA = "#pragma omp parallel for"


def guard_block_loop(body: list[str]) -> list[str]:
    """``body`` (a kernel function's lines) with its block loop guarded as above.

    ``body`` holds one ``#pragma omp parallel for`` line; the loop it heads runs to the end
    of ``body``. A body without one is returned unchanged.
    """
    at = next((i for i, line in enumerate(body) if line.startswith(_PRAGMA)), None)
    if at is None:
        return body
    clauses = body[at][len(_PRAGMA):]
    team = re.search(r"num_threads\((?:[^()]|\((?:[^()]|\([^()]*\))*\))*\)", clauses)
    parallel = "#pragma omp parallel" + (f" {team.group(0)}" if team else "")
    rest = (clauses[:team.start()] + clauses[team.end():]) if team else clauses
    loop = ["    " + x if x and not x.startswith("#") else x for x in body[at + 1:]]
    return body[:at] + [
        parallel, "{",
        "    sigjmp_buf pxos_jb;",
        "    if (sigsetjmp(pxos_jb, 0) == 0) {",
        "        pxos_guard_arm(&pxos_jb);",
        f"#pragma omp for {' '.join(rest.split())} nowait".replace("  ", " "),
        *["    " + x if x and not x.startswith("#") else x for x in loop],
        "    }",
        "    pxos_guard_disarm();",
        "}",
    ]
