"""The typed IR: plain frozen dataclasses, each with a source span.

The `.px` front-end (``lang/px``) builds these nodes with ``type=None``; the checker
(``ir/check``) returns the same tree with every expression's ``type`` filled in and each
kernel's variables, array accesses and launch shape resolved. Codegen, the interpreter and
the host runtime read only checked trees.

Its nodes live in ``ir/expressions``, ``ir/statements`` (kernel statements and kernels),
``ir/host_statements`` (the host program) and ``ir/traversal`` (reading them); this module
gathers them into the one name space the rest of pxos uses: ``from pxos.ir import nodes as
ir``, then ``ir.Binary``, ``ir.Kernel``, ``ir.walk``.
"""

from pxos.ir.expressions import *  # noqa: F401,F403
from pxos.ir.host_statements import *  # noqa: F401,F403
from pxos.ir.statements import *  # noqa: F401,F403
from pxos.ir.traversal import assigned_names, keyword, stmt_exprs, subexprs  # noqa: F401

