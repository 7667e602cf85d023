"""A kernel function as written: its syntax tree, the source span of each node, and the
objects its free names stand for.

The function's text comes from ``inspect.getsourcelines``; an indented function (a method,
a kernel defined inside another function) is parsed under an ``if 1:`` line instead of
being dedented, so every column of the syntax tree is a column of the file and spans need
no mapping back beyond the line offset (and UTF-8 byte offsets to characters).
"""

from __future__ import annotations

import ast
import builtins
import inspect

from pxos.errors import PxSyntaxError
from pxos.span import Span

# what the error messages call the constructs a kernel cannot hold
CONSTRUCTS: dict[type, str] = {
    ast.List: "a list", ast.Tuple: "a tuple", ast.Dict: "a dict", ast.Set: "a set",
    ast.ListComp: "a list comprehension", ast.SetComp: "a set comprehension",
    ast.DictComp: "a dict comprehension", ast.GeneratorExp: "a generator expression",
    ast.Lambda: "a lambda", ast.JoinedStr: "an f-string", ast.NamedExpr: "':='",
    ast.Await: "await", ast.Yield: "yield", ast.YieldFrom: "yield from",
    ast.Starred: "a starred argument", ast.Slice: "a slice",
    ast.With: "with", ast.AsyncWith: "async with", ast.Try: "try", ast.Raise: "raise",
    ast.Assert: "assert", ast.Delete: "del", ast.Import: "import", ast.ImportFrom: "import",
    ast.Global: "global", ast.Nonlocal: "nonlocal", ast.FunctionDef: "a nested def",
    ast.AsyncFunctionDef: "a nested def", ast.ClassDef: "a class definition",
    ast.AsyncFor: "async for", ast.Match: "match",
}
if hasattr(ast, "TryStar"):  # Python 3.11+
    CONSTRUCTS[ast.TryStar] = "try"


def construct(node: ast.AST) -> str:
    """How an error message names the construct ``node``."""
    return CONSTRUCTS.get(type(node), type(node).__name__.lower())


class FunctionSource:
    """The source of a kernel function.

    Args:
        fn: a plain Python function (``def``), defined in a file or a notebook cell.

    Attributes:
        fn: the function.
        file: the path errors name (``inspect.getsourcefile``).
        tree: its ``ast.FunctionDef``.

    Raises:
        PxSyntaxError: the source cannot be read, or is not a ``def``.
    """

    def __init__(self, fn):
        self.fn = fn
        name = getattr(fn, "__name__", repr(fn))
        try:
            lines, first = inspect.getsourcelines(fn)
        except (OSError, TypeError) as err:
            raise PxSyntaxError(f"cannot read the source of {name!r} ({err}); a kernel must "
                                "be a def in a file or a notebook cell") from None
        code = getattr(fn, "__code__", None)
        self.file = inspect.getsourcefile(fn) or (code.co_filename if code else "<unknown>")
        self.lines = [line.rstrip("\r\n") for line in lines]
        self.first = max(first, 1)
        text = "".join(lines)
        self._shift = 1 if lines and lines[0][:1].isspace() else 0
        try:
            module = ast.parse("if 1:\n" + text if self._shift else text)
        except SyntaxError as err:
            raise PxSyntaxError(f"cannot parse the source of {name!r}: {err.msg}") from None
        node = module.body[0].body[0] if self._shift else module.body[0]
        if not _defines(node, name):  # the text a pseudo-file (<string>) shows elsewhere
            raise PxSyntaxError(f"cannot read the source of {name!r} (the text at "
                                f"{self.file}:{self.first} does not define it); a kernel "
                                "must be a def in a file or a notebook cell") from None
        if not isinstance(node, ast.FunctionDef):
            raise PxSyntaxError(f"a kernel must be a plain def function; {name!r} is not",
                                self.span(node))
        self.tree = node

    def span(self, node: ast.AST) -> Span:
        """The span of ``node``: its first line, its column, and its length on that line."""
        row = node.lineno - 1 - self._shift
        text = self.lines[row] if 0 <= row < len(self.lines) else ""
        col = _chars(text, node.col_offset)
        if getattr(node, "end_lineno", None) == node.lineno:
            length = _chars(text, node.end_col_offset) - col
        else:
            length = len(text) - col
        return Span(self.file, self.first + row, col + 1, max(1, length), text)

    def name_span(self) -> Span:
        """The span of the function's name in its ``def`` line."""
        span = self.span(self.tree)
        at = span.text.find(self.tree.name, span.col - 1)
        return span.at(at + 1, len(self.tree.name)) if at >= 0 else span

    def outside(self, name: str) -> tuple[bool, object]:
        """What free name ``name`` stands for: the closure, then the module's globals, then
        the builtins. Returns (found, object)."""
        fn = self.fn
        if name in fn.__code__.co_freevars:
            closure = closure_of(fn)
            return name in closure, closure.get(name)
        if name in fn.__globals__:
            return True, fn.__globals__[name]
        table = fn.__globals__.get("__builtins__", builtins)
        table = table if isinstance(table, dict) else vars(table)
        if name in table:
            return True, table[name]
        return False, None



def closure_of(fn) -> dict[str, object]:
    """The closure variables of ``fn`` that have a value, by name."""
    out = {}
    for name, cell in zip(fn.__code__.co_freevars, fn.__closure__ or ()):
        try:
            out[name] = cell.cell_contents
        except ValueError:  # assigned later in the enclosing function
            pass
    return out


def _chars(text: str, byte_offset: int) -> int:
    """The character index of a UTF-8 byte offset into ``text``."""
    return len(text.encode("utf-8")[:byte_offset].decode("utf-8", errors="ignore"))


def _defines(node: ast.AST, name: str) -> bool:
    """Whether statement ``node`` can be the definition of a function called ``name``: a
    ``def`` or class of that name, or (``<lambda>``) a statement holding a ``lambda``. Python 3.13 keeps
    ``python -c``'s text as the source of ``<string>``, which an ``eval``'d function's
    source lookup then finds (pytest-xdist starts its workers so)."""
    if name == "<lambda>":
        return any(isinstance(n, ast.Lambda) for n in ast.walk(node))
    return isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) \
        and node.name == name
