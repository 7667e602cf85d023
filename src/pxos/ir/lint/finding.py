"""One finding of the kernel advisor (:class:`Lint`), the lint codes and their hints
(``docs/lint.md``)."""

from __future__ import annotations

from dataclasses import dataclass

from pxos.errors import PxError
from pxos.span import Span

CODES = ("stride", "reuse", "block", "divergence", "contention", "barrier")

HINTS = {
    "stride": "make the thread's x index the last (fastest-moving) index of the array, or "
              "stage the data through GPU_SHARED_MEM (read coalesced, write transposed)",
    "reuse": "load a tile of the array (with its halo) into GPU_SHARED_MEM once per block, "
             "SYNC_THREADS, then read the neighbours from the tile",
    "block": "use a multiple of 32 threads per block, e.g. GPU_BLOCK 128 or 256 "
             "(GPU_BLOCK 32, 8 in 2-D)",
    "divergence": "make the condition the same for all 32 threads of a warp (e.g. branch on "
                  "tid / 32 and give each warp work of one kind), or compute both sides and "
                  "SELECT",
    "divergence-data": "this is often inherent (an escape-time loop, a data-dependent test); "
                       "keep the branch bodies short, or group work so that the 32 threads "
                       "of a warp agree",
    "contention": "reduce within the block in GPU_SHARED_MEM first, then let one thread per "
                  "block do the atomic (IF lid == 0)",
}


@dataclass(frozen=True)
class Lint:
    """One finding of the advisor.

    Attributes:
        code: one of :data:`CODES`.
        severity: ``"warning"`` (slow but correct) or ``"error"`` (wrong: a barrier that
            some threads miss).
        message: what was found, one sentence.
        span: where in the source (file, line, column).
        hint: how to fix it, or None.
    """

    code: str
    severity: str
    message: str
    span: Span
    hint: str | None = None

    def render(self) -> str:
        """``file:line:col: warning[code]: message``, the source line with a caret under the
        column (as :meth:`PxError.render`), and ``  hint: …``."""
        shown = PxError(self.message, self.span)
        shown.kind = f"{self.severity}[{self.code}]"
        text = shown.render()
        return text + (f"\n  hint: {self.hint}" if self.hint else "")

    def as_dict(self) -> dict:
        """``{code, severity, message, line, col, hint, file}`` (``pxos lint --json``)."""
        return {"code": self.code, "severity": self.severity, "message": self.message,
                "line": self.span.line, "col": self.span.col, "hint": self.hint,
                "file": self.span.file}
