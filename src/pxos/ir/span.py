"""``pxos.ir.span`` is now ``pxos.span`` (the bottom layer, so that ``errors`` need not import
the IR); this name stays for code written against the old path."""

from pxos.span import NOWHERE, Span  # noqa: F401
