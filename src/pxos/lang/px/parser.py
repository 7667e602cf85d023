"""`.px` text to an (unchecked) :class:`~pxos.ir.nodes.Program`.

Lines are parsed one at a time by Lark (``lines.py``); this module does the block structure
the spec gives: blocks indented under a line ending in ``:`` (spaces only), in thread code
and in the host program alike (``IF``/``FOR``/``WHILE``), kernels from ``GPU_KERNEL`` to
``GPU_END`` whose header lines may be indented or not, and ``CONST`` only at top level.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pxos import registry
from pxos.errors import PxSyntaxError
from pxos.ir import nodes as ir
from pxos.span import Span
from pxos.lang.px.lines import Header, parse_line


@dataclass
class _Line:
    number: int
    indent: int
    item: ir.Stmt | Header

    @property
    def span(self) -> Span:
        return self.item.span


_COMPOUND = ("if", "elif", "else", "for", "while")
MAX_NESTING = 32  # nested IF/FOR/WHILE blocks
_HEADER_KINDS = ("param", "shared", "threads", "block", "target")


def parse_file(path: str | Path) -> ir.Program:
    """Read and parse a `.px` file.

    Raises:
        PxFileError: the file cannot be read or is not UTF-8.
        PxSyntaxError: see :func:`parse_program`.
    """
    from pxos.errors import PxFileError

    try:
        # no newline translation: only \n (or \r\n) ends a line, as in parse_program
        text = Path(path).read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise PxFileError(f"no such file: {path}") from None
    except (OSError, UnicodeDecodeError) as err:
        raise PxFileError(f"cannot read {path}: {err}") from None
    return parse_program(text, str(path))


def parse_program(text: str, file: str = "<string>") -> ir.Program:
    """Parse `.px` source text.

    Args:
        text: the whole program.
        file: the name errors show for it.

    Raises:
        PxSyntaxError: malformed line, bad indentation (tabs, unexpected indent or dedent),
            misplaced ELIF/ELSE, kernel without ``GPU_THREAD_CODE:`` or ``GPU_END``.
        PxTypeError: an unknown type name.
    """
    lines = _split(text, file)
    kernels: list[ir.Kernel] = []
    statements: list[ir.Stmt] = []
    pos = 0
    while pos < len(lines):
        line = lines[pos]
        if isinstance(line.item, Header) and line.item.kind == "kernel":
            kernel, pos = _kernel(lines, pos, file)
            kernels.append(kernel)
            continue
        if _is(line, "end"):
            raise PxSyntaxError("GPU_END without a GPU_KERNEL before it", line.span)
        if line.indent != 0:
            raise PxSyntaxError("unexpected indentation; host statements start in column 1",
                                line.span.at(1, line.indent))
        body, pos = _block(lines, pos, 0, host=True)
        statements.extend(body)
    return ir.Program(file, tuple(kernels), tuple(statements), text)


def _split(text: str, file: str) -> list[_Line]:
    out = []
    # only \n ends a line (str.splitlines would also split at \f, \v, U+2028 …)
    for number, raw in enumerate(text.split("\n"), start=1):
        raw = raw.removesuffix("\r")
        stripped = raw.lstrip(" \t")
        if not stripped or stripped.startswith("#"):
            continue
        lead = raw[: len(raw) - len(stripped)]
        if "\t" in lead:
            col = lead.index("\t") + 1
            raise PxSyntaxError("tab in indentation; indent with spaces only",
                                Span(file, number, col, 1, raw))
        out.append(_Line(number, len(lead), parse_line(raw, number, file)))
    return out


def _kernel(lines: list[_Line], pos: int, file: str) -> tuple[ir.Kernel, int]:
    head = lines[pos]
    name, name_span = head.item.args
    params: list[ir.Param] = []
    shared: list[ir.Shared] = []
    threads = block = None
    target = "auto"
    pos += 1
    while True:
        if pos >= len(lines):
            raise PxSyntaxError(f"kernel {name!r} has no GPU_THREAD_CODE: line",
                                head.span, "add 'GPU_THREAD_CODE:' and the thread code")
        item = lines[pos].item
        if not isinstance(item, Header) or item.kind not in _HEADER_KINDS + ("code",):
            raise PxSyntaxError(
                "expected a kernel header line (GPU_PARAM, GPU_SHARED_MEM, GPU_THREADS, "
                "GPU_BLOCK, GPU_TARGET) or GPU_THREAD_CODE:", item.span)
        if item.kind == "code":
            break
        if item.kind == "param":
            params.append(item.args[0])
        elif item.kind == "shared":
            shared.append(item.args[0])
        elif item.kind == "threads":
            threads = _once(threads, item, "GPU_THREADS")
        elif item.kind == "block":
            block = _once(block, item, "GPU_BLOCK")
        elif item.kind == "target":
            target = item.args[0]
            allowed = ("auto", "cpu", *registry.device_backends())
            if target not in allowed:
                raise PxSyntaxError(f"unknown GPU_TARGET {target!r}; expected "
                                    f"{', '.join(allowed[:-1])} or {allowed[-1]}",
                                    item.args[1])
        pos += 1
    code = lines[pos]
    pos += 1
    if pos >= len(lines) or _is(lines[pos], "end"):
        raise PxSyntaxError(f"kernel {name!r} has no thread code", code.span,
                            "indent the thread code under GPU_THREAD_CODE:")
    if lines[pos].indent <= code.indent:
        raise PxSyntaxError("expected an indented block of thread code", lines[pos].span)
    body, pos = _block(lines, pos, lines[pos].indent, host=False)
    if pos >= len(lines) or not _is(lines[pos], "end"):
        where = lines[pos].span if pos < len(lines) else code.span
        raise PxSyntaxError(f"kernel {name!r} is not closed by GPU_END", where)
    kernel = ir.Kernel(name, tuple(params), tuple(shared), threads, block, target, body,
                       name_span)
    return kernel, pos + 1


def _once(current, item: Header, word: str):
    if current is not None:
        raise PxSyntaxError(f"{word} given twice", item.span)
    return item.args


def _is(line: _Line, kind: str) -> bool:
    return isinstance(line.item, Header) and line.item.kind == kind


def _block(lines: list[_Line], pos: int, indent: int, host: bool,
           depth: int = 0) -> tuple[list, int]:
    """Statements at ``indent`` from ``pos`` until a dedent (or, for host code, a kernel)."""
    if depth > MAX_NESTING:
        raise PxSyntaxError(f"blocks nested more than {MAX_NESTING} deep", lines[pos].span)
    body: list[ir.Stmt] = []
    while pos < len(lines):
        line = lines[pos]
        item = line.item
        if line.indent < indent or (isinstance(item, Header) and item.kind in ("end", "kernel")):
            break
        if line.indent > indent:
            raise PxSyntaxError("unexpected indentation", line.span.at(1, line.indent))
        if host and depth > 0 and isinstance(item, ir.ConstDef):
            raise PxSyntaxError("CONST is only allowed at top level, outside loops and IF",
                                item.span, "move the CONST line to the start of the program")
        if isinstance(item, Header):
            if item.kind == "multi":
                body.extend(item.args)
                pos += 1
                continue
            if item.kind in ("elif", "else"):
                raise PxSyntaxError(f"{item.kind.upper()} without an IF before it", item.span)
            if item.kind not in _COMPOUND:
                raise PxSyntaxError("a kernel header line outside GPU_KERNEL … GPU_THREAD_CODE:",
                                    item.span)
            stmt, pos = _compound(lines, pos, indent, host, depth)
            body.append(stmt)
            continue
        body.append(item)
        pos += 1
    return body, pos


def _child(lines: list[_Line], pos: int, indent: int, host: bool,
           depth: int) -> tuple[tuple, int]:
    head = lines[pos]
    if pos + 1 >= len(lines) or lines[pos + 1].indent <= indent:
        raise PxSyntaxError("expected an indented block after ':'", head.span)
    body, end = _block(lines, pos + 1, lines[pos + 1].indent, host, depth + 1)
    return tuple(body), end


def _compound(lines: list[_Line], pos: int, indent: int, host: bool,
              depth: int) -> tuple[ir.Stmt, int]:
    head = lines[pos].item
    body, pos = _child(lines, pos, indent, host, depth)
    if head.kind == "for":
        var, start, stop, step = head.args
        return ir.For(head.span, var, start, stop, step, body), pos
    if head.kind == "while":
        return ir.While(head.span, head.args[0], body), pos
    arms = [(head.args[0], body)]
    orelse: tuple = ()
    while pos < len(lines) and lines[pos].indent == indent and _is(lines[pos], "elif"):
        cond = lines[pos].item.args[0]
        body, pos = _child(lines, pos, indent, host, depth)
        arms.append((cond, body))
    if pos < len(lines) and lines[pos].indent == indent and _is(lines[pos], "else"):
        orelse, pos = _child(lines, pos, indent, host, depth)
    return ir.If(head.span, tuple(arms), orelse), pos
