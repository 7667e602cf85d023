"""The options every command shares, worded once, and how ``--help`` shows them.

Flags (``--checked``, ``--json`` …) show no metavar; options that take a value show what the
value is (``FILE``, ``DEVICE``, ``DIR``, ``NAME``, ``TARGET``); ``pxos --version`` prints
``pxos <version>`` (``pxos/version.py``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from typer.core import TyperCommand, TyperGroup

from pxos import registry

ProgramArgument = typer.Argument(..., metavar="FILE", help="The .px program.",
                                 show_default=False)

DeviceOption = typer.Option(
    "auto", "--device", "-d", metavar="DEVICE",
    help="Where kernels run: auto (a kernel's GPU_TARGET, else where the planner predicts "
         "the program runs fastest; see `pxos explain`), " + ", ".join(registry.names())
         + ".")

AllowPathOption: Optional[list[Path]] = typer.Option(
    None, "--allow-path", metavar="DIR",
    help="Another folder whose files the program may read and write, besides its own "
         "folder and the working directory (repeat the option for more).")


def _no_flag_metavar(param):
    """``param`` with an empty metavar if it is a flag (Typer would show ``<bool>``), and
    its value taken as Click gives it (:class:`_FlagValue`)."""
    if param is not None and getattr(param, "is_flag", False):
        if param.metavar is None:
            param.metavar = ""
        descriptor = getattr(param, "type_descriptor", None)
        if getattr(descriptor, "annotation", None) is bool and \
                getattr(param, "_runtime_param", False) is None:
            param._runtime_param = _FlagValue()
    return param


class _FlagValue:
    """The coercion of a flag's value (Click's ``True``, ``False`` or ``None``): none.

    Typer 0.29 coerces every parameter through a Pydantic ``TypeAdapter`` that it builds on
    first use, except a flag whose value is already a bool; ``--help``'s value is ``None``
    unless given, so every command imported Pydantic (~0.3 s of ``pxos calibrate``, issue
    14). Set on Typer's flag parameters where that Typer has the lazy ``_runtime_param``
    slot; other Typer versions are left alone."""

    @staticmethod
    def coerce(value, param=None, ctx=None):
        """``value`` unchanged."""
        return value


class PxCommand(TyperCommand):
    """A command whose flags, ``--help`` included, show no metavar in its help."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for param in self.params:
            _no_flag_metavar(param)

    def get_help_option(self, ctx):  # noqa: D102 - as TyperCommand's
        return _no_flag_metavar(super().get_help_option(ctx))


class PxGroup(TyperGroup):
    """The ``pxos`` group: as :class:`PxCommand`, for its own options."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for param in self.params:
            _no_flag_metavar(param)

    def get_help_option(self, ctx):  # noqa: D102 - as TyperGroup's
        return _no_flag_metavar(super().get_help_option(ctx))


class PxApp(typer.Typer):
    """A Typer app whose commands are :class:`PxCommand` unless told otherwise.

    Help is formatted by Click, not Rich (``rich_markup_mode=None``), and exceptions are
    not pretty-printed: Typer's Rich help and tracebacks import ``rich.markdown``,
    ``pygments`` and ``rich.traceback`` (~170 ms of ``pxos --help``, issue 14). Commands
    that print tables or progress import Rich themselves (``cli/report.out``).
    """

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("rich_markup_mode", None)
        kwargs.setdefault("pretty_exceptions_enable", False)
        super().__init__(*args, **kwargs)

    def command(self, *args, cls=None, **kwargs):  # noqa: D102 - as typer.Typer's
        return super().command(*args, cls=cls or PxCommand, **kwargs)


def version_text() -> str:
    """``pxos <version>`` (``pxos/version.py``, also when pxos runs from a source tree)."""
    from pxos.version import __version__

    return f"pxos {__version__}"


def _print_version(value: bool) -> None:
    if value:
        typer.echo(version_text())
        raise typer.Exit(0)


VersionOption = typer.Option(False, "--version", is_eager=True, callback=_print_version,
                             help="Print pxos's version and exit.")
