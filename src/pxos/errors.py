"""User-facing errors of pxos.

Every error a user can cause is a :class:`PxError` (or a subclass) that carries a
:class:`~pxos.span.Span`. Its message names ``file:line:col``, shows the source line with a
caret under the offending column, and says what was expected (spec/px-language.md, "Errors").
Anything else that escapes is a bug of pxos and may show a traceback.
"""

from __future__ import annotations

from pxos.span import Span


class PxError(Exception):
    """An error in the user's program or input.

    Args:
        message: what went wrong and what was expected, one sentence.
        span: where in the user's source; ``None`` for errors with no source position
            (a missing command-line file, say).
        hint: an optional second line telling how to fix it.
    """

    kind = "error"

    def __init__(self, message: str, span: Span | None = None, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.span = span
        self.hint = hint

    def __str__(self) -> str:
        return self.render()

    def render(self) -> str:
        """The full message: ``file:line:col: kind: message``, the source line and a caret."""
        head = f"{self.kind}: {self.message}"
        if self.span is None:
            lines = [head]
        else:
            lines = [f"{self.span.where()}: {head}"]
            if self.span.text:
                width = max(1, self.span.length)
                gutter = f"{self.span.line:>5} | "
                # one column per character: tabs and control characters show as spaces
                shown = "".join(c if c.isprintable() else " " for c in self.span.text)
                lines.append(gutter + shown)
                lines.append(" " * (len(gutter) + self.span.col - 1) + "^" * width)
        if self.hint:
            lines.append(f"hint: {self.hint}")
        return "\n".join(lines)


class PxSyntaxError(PxError):
    """The text is not a well-formed `.px` program."""

    kind = "syntax error"


class PxTypeError(PxError):
    """An operation gets operands of types it does not accept, or a type is unknown."""

    kind = "type error"


class PxNameError(PxError):
    """An undefined, duplicate or reserved name."""

    kind = "name error"


class PxArgumentError(PxError):
    """A kernel launch with the wrong number, types or shapes of arguments."""

    kind = "argument error"


class PxShapeError(PxError):
    """Arrays whose shapes or dtypes do not match where they must."""

    kind = "shape error"


class PxBarrierError(PxError):
    """``SYNC_THREADS`` where not every thread of a block reaches it."""

    kind = "barrier error"


class PxFileError(PxError):
    """A file that is missing, unreadable, of an unknown format, or outside the allowed folders."""

    kind = "file error"


class PxRuntimeError(PxError):
    """A program that failed while running: a failed VERIFY, a bad launch size."""

    kind = "runtime error"


class PxBoundsError(PxRuntimeError):
    """An array index out of bounds, found in checked mode."""

    kind = "bounds error"


class PxBackendError(PxError):
    """A backend that is not available here, or a compiler that refused generated code."""

    kind = "backend error"


class PxPackageError(PxError):
    """An optional Python package an operation needs is not installed; the hint names the
    pip extra that installs it (``pxos.extras``)."""

    kind = "missing package"


class PxFaultError(PxRuntimeError):
    """A kernel that crashed with a memory fault (SIGSEGV/SIGBUS) on the ``c`` backend,
    caught by its fault guard; the process goes on (docs/backends.md, "Memory faults")."""

    kind = "memory fault"
