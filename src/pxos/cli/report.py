"""What every command shares: the console it prints to and the guard that turns errors
into exit codes. Its own module, so that a command group (``cli/ternary``,
``cli/pipeline`` …) and ``cli/main`` import it without importing each other.

Exit codes: 0 success; 2 an error in the user's program or input (a ``PxError``, printed
as ``file:line:col``, the source line and a caret); 130 interrupted (Ctrl-C); 1 an internal
fault of pxos (printed with its traceback, to be reported).
"""

from __future__ import annotations

import os
import sys
import traceback
from functools import wraps

import typer

from pxos.errors import PxError, PxFaultError, PxRuntimeError


class _Console:
    """The commands' Rich console, made at its first use: importing ``rich.console``
    costs ~50 ms, which ``pxos --help`` need not pay. Every attribute (``print``,
    ``status``, ``flush`` …) is the Rich ``Console``'s; it has no markup, no highlighting
    and no wrapping, so paths and carets print exactly as they are.
    """

    def __init__(self):
        self._console = None

    def __getattr__(self, name):
        return getattr(self.console(), name)

    def console(self):
        """The Rich ``Console`` itself (made now if not yet)."""
        if self._console is None:
            from rich.console import Console

            self._console = Console(highlight=False, markup=False, soft_wrap=True)
        return self._console


out = _Console()


def guarded(fn):
    """Run a command; map PxError to exit 2 and any other exception to exit 1."""
    @wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except PxError as e:
            sys.stderr.write(e.render() + "\n")
            if isinstance(e, PxFaultError):  # stores before the fault may have corrupted
                sys.stdout.flush()  # the heap: leave before teardown frees anything
                sys.stderr.flush()
                os._exit(2)
            raise typer.Exit(2) from None
        except KeyboardInterrupt:  # Ctrl-C between kernels (host/interrupt: during one)
            from pxos.host.interrupt import EXIT_CODE, message

            sys.stderr.write(message() + "\n")
            raise typer.Exit(EXIT_CODE) from None
        except (typer.Exit, typer.Abort):
            raise
        except MemoryError as err:  # outside a program's statements (which name their line)
            sys.stderr.write(PxRuntimeError(f"out of memory ({err})", hint="free memory, or "
                                            "work on smaller inputs").render() + "\n")
            raise typer.Exit(2) from None
        except Exception:  # a pxos bug: show everything
            sys.stderr.write("internal error in pxos (please report it):\n"
                             + traceback.format_exc())
            raise typer.Exit(1) from None
    return wrapper


_guarded = guarded  # the name the command modules use
