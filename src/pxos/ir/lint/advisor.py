"""The advisor's per-kernel rules (``stride``, ``reuse``, ``block``, ``divergence``,
``contention``), over the kernel's array access sites and the thread-value analysis of
``ir/analysis/access``; ``ir/lint`` runs them with the barrier rule."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, fields

from pxos.ir import nodes as ir
from pxos.ir.analysis.access import WARP, ThreadValues, index_pattern
from pxos.ir.analysis.features import kernel_features
from pxos.ir.lint.finding import CODES, HINTS, Lint
from pxos.span import Span

_THREAD_BUILTINS = ("thread_id", "local_id")
_REUSE_SITES = 3  # loads of one array at this many places (with different offsets): a stencil


@dataclass(frozen=True)
class _Site:
    """One array access with its context in the thread code."""

    array: str
    kind: str  # load, store or atomic
    index: tuple[ir.Expr, ...]
    span: Span
    loops: tuple[str, ...]  # variables of the enclosing FOR loops, outermost first
    guards: tuple[ir.Expr, ...]  # conditions of the enclosing IF/ELIF arms


class Advisor:
    """The per-kernel checks (each a method ``_<code>``), over the kernel's access sites."""

    def __init__(self, kernel: ir.Kernel, source: str | None):
        self.k = kernel
        self.source = source
        self.values = ThreadValues(kernel)
        self.shared = {s.name for s in kernel.shared}
        self.defs: dict[str, list[ir.Expr]] = {}
        self.atomic_results: set[str] = set()
        self.sites: list[_Site] = []
        self.shared_stores: list[ir.Store] = []
        self._walk(kernel.body, (), ())

    def run(self, out: list[Lint]) -> None:
        for code in CODES[:-1]:
            getattr(self, "_" + code)(out)

    # -- the kernel's sites and definitions
    def _walk(self, body: ir.Body, loops: tuple, guards: tuple) -> None:
        for s in body:
            for e in ir.stmt_exprs(s):
                for x in ir.subexprs(e):
                    if isinstance(x, ir.Load):
                        self.sites.append(_Site(x.array, "load", x.index, x.span, loops,
                                                guards))
            if isinstance(s, ir.Assign):
                self.defs.setdefault(s.name, []).append(s.value)
            elif isinstance(s, ir.Store):
                self.sites.append(_Site(s.array, "store", s.index,
                                        _target_span(s.span, s.array, True), loops, guards))
                if s.array in self.shared:
                    self.shared_stores.append(s)
            elif isinstance(s, ir.Atomic):
                self.sites.append(_Site(s.array, "atomic", s.index,
                                        _target_span(s.span, s.array, False), loops, guards))
                if s.result is not None:
                    self.atomic_results.add(s.result)
            elif isinstance(s, ir.If):
                for cond, arm in s.arms:
                    self._walk(arm, loops, guards + (cond,))
                self._walk(s.orelse, loops, guards)
            elif isinstance(s, ir.For):
                self.defs.setdefault(s.var, []).extend(
                    e for e in (s.start, s.stop, s.step) if e is not None)
                self._walk(s.body, loops + (s.var,), guards)
            elif isinstance(s, ir.While):
                self._walk(s.body, loops, guards)

    def sources(self, expr: ir.Expr, stop=frozenset()) -> set[tuple]:
        """What ``expr`` depends on, through the variables it reads (transitively, but not
        through the variables in ``stop``): ``("thread",)`` for THREAD_ID/LOCAL_ID,
        ``("load", array)``, ``("atomic", name)``, ``("var", name)`` for a name in ``stop``,
        and ``("float",)`` if some value on the way is a float."""
        out: set[tuple] = set()
        seen: set[str] = set()
        todo = [expr]
        while todo:
            for x in ir.subexprs(todo.pop()):
                if x.type is not None and x.type.is_float:
                    out.add(("float",))
                if isinstance(x, ir.Builtin) and x.name in _THREAD_BUILTINS:
                    out.add(("thread",))
                elif isinstance(x, ir.Load):
                    out.add(("load", x.array))
                elif isinstance(x, ir.Var):
                    if x.name in stop:
                        out.add(("var", x.name))
                    elif x.name in self.atomic_results:
                        out.add(("atomic", x.name))
                    elif x.name not in seen:
                        seen.add(x.name)
                        todo.extend(self.defs.get(x.name, ()))
        return out

    def pattern(self, site: _Site) -> str:
        return index_pattern(self.values, site.index)[0]

    # -- the lints
    def _stride(self, out: list[Lint]) -> None:
        for site in self.sites:
            if site.array in self.shared or self.pattern(site) != "strided":
                continue
            _, stride = index_pattern(self.values, site.index)
            if stride is not None:
                apart = f"{abs(stride)} elements apart"
            elif any(self.values.of(i).stride != 0 for i in site.index[:-1]):
                apart = "a row apart"
            else:
                apart = "a stride apart"
            verb = {"load": "read", "store": "write", "atomic": "update"}[site.kind]
            out.append(Lint(
                "stride", "warning",
                f"neighbouring threads {verb} {site.array!r} {apart}: each thread of a warp "
                "needs its own memory transaction (the access is not coalesced)",
                site.span, HINTS["stride"]))

    def _reuse(self, out: list[Lint]) -> None:
        staged = {src[1] for s in self.shared_stores for src in self.sources(s.value)
                  if src[0] == "load"}
        by_array: dict[str, list[_Site]] = {}
        for site in self.sites:
            if site.kind == "load" and site.array not in self.shared \
                    and site.array not in staged \
                    and self.pattern(site) in ("unit", "interleaved"):
                by_array.setdefault(site.array, []).append(site)
        for array, sites in by_array.items():
            looped = [s for s in sites if self._loop_stencil(s)]
            moving = [i for i in range(len(sites[0].index))
                      if any(self.values.of(s.index[i]).varying for s in sites)]
            offsets = {tuple(_shape(s.index[i]) for i in moving) for s in sites}
            if looped:
                why = f"in a loop over {', '.join(looped[0].loops)}"
            elif len(sites) >= _REUSE_SITES and len(offsets) > 1:
                why = f"at {len(sites)} places with {len(offsets)} different offsets"
            else:
                continue
            out.append(Lint(
                "reuse", "warning",
                f"{array!r} is read {why}: neighbouring threads load each other's elements "
                "again from global memory (a stencil) and the kernel has no shared-memory "
                "tile for it", sites[0].span, HINTS["reuse"]))

    def _loop_stencil(self, site: _Site) -> bool:
        """One index moves with an enclosing FOR variable and with the thread (``a[y + dy,
        x + dx]``). A thread that walks its own row or column (``A[i, k]``, ``A[k, j]``)
        moves each index with one of them only: no neighbour reads its elements."""
        for index in site.index:
            found = self.sources(index, frozenset(site.loops))
            if ("thread",) in found and any(("var", v) in found for v in site.loops):
                return True
        return False

    def _block(self, out: list[Lint]) -> None:
        threads = math.prod(self.k.block)
        if threads % WARP == 0:
            return
        warps = -(-threads // WARP)
        idle = warps * WARP - threads
        sizes = ", ".join(map(str, self.k.block))
        out.append(Lint(
            "block", "warning",
            f"GPU_BLOCK {sizes} gives {threads} threads per block, not a multiple of the warp "
            f"size ({WARP}): {idle} of the {warps * WARP} lanes of each block's {warps} warps "
            "idle", self._block_span(), HINTS["block"]))

    def _block_span(self) -> Span:
        """The kernel's ``GPU_BLOCK`` line, found in the source; else the kernel's name."""
        k = self.k
        if not self.source:
            return k.span
        lines = self.source.split("\n")
        for number in range(k.span.line, len(lines)):  # the lines after GPU_KERNEL
            text = lines[number].removesuffix("\r")
            m = re.match(r"\s*(GPU_BLOCK)\b", text)
            if m:
                return Span(k.span.file, number + 1, m.start(1) + 1,
                            len(text.split("#")[0].strip()), text)
            if re.match(r"\s*GPU_THREAD_CODE\s*:", text):
                break
        return k.span

    def _divergence(self, out: list[Lint]) -> None:
        divergent = {span for span, kind in kernel_features(self.k).branches
                     if kind == "divergent"}
        for s in ir.walk(self.k.body):
            if isinstance(s, ir.If):
                conds = [c for c, _ in s.arms]
            elif isinstance(s, ir.While):
                if self.values.branch(s.cond) != "divergent" and any(
                        isinstance(x, ir.If) and any(self.values.branch(c) == "divergent"
                                                     for c, _ in x.arms)
                        for x in ir.walk(s.body)):
                    continue  # left by a BREAK under a divergent IF: that IF is reported
                conds = [s.cond]
            elif isinstance(s, ir.For):
                conds = [] if self._grid_stride(s) else [s.start, s.stop]
            else:
                continue
            for cond in conds:
                if cond.span not in divergent:
                    continue
                divergent.discard(cond.span)
                out.append(self._divergence_lint(s, cond))

    def _grid_stride(self, s: ir.For) -> bool:
        """``FOR i IN tid..n STEP nt`` (start affine in the thread, stop the same for all,
        a step of at least a warp or not a literal): the trip counts of a warp's threads
        differ by at most one, as at a boundary guard."""
        start, stop = self.values.of(s.start), self.values.of(s.stop)
        step = self.values.of(s.step) if s.step is not None else None
        return (start.varying and not start.gather and not stop.varying and step is not None
                and not step.varying and (step.value is None or abs(step.value) >= WARP))

    def _divergence_lint(self, s: ir.Stmt, cond: ir.Expr) -> Lint:
        word = ir.keyword(s)
        what = f"the {'bound' if isinstance(s, ir.For) else 'condition'} of this {word}"
        found = self.sources(cond)
        if any(src[0] in ("load", "atomic", "float") for src in found):
            return Lint("divergence", "warning",
                        f"{what} depends on values each thread computes or loads: threads of "
                        "a warp that disagree run both paths, one after the other",
                        cond.span, HINTS["divergence-data"])
        return Lint("divergence", "warning",
                    f"{what} differs between neighbouring threads of a warp: the warp runs "
                    "every path its threads take, one after the other", cond.span,
                    HINTS["divergence"])

    def _contention(self, out: list[Lint]) -> None:
        for site in self.sites:
            if site.kind != "atomic" or site.array in self.shared \
                    or self.pattern(site) != "uniform" \
                    or any(self._one_lane(g) for g in site.guards):
                continue
            out.append(Lint(
                "contention", "warning",
                f"every thread of a warp updates the same element of {site.array!r}: the "
                "atomics to it run one at a time", site.span, HINTS["contention"]))

    def _one_lane(self, cond: ir.Expr) -> bool:
        """``cond`` holds for at most one lane of a warp (``lid == 0``, also within AND)."""
        if isinstance(cond, ir.Binary) and cond.op == "and":
            return self._one_lane(cond.lhs) or self._one_lane(cond.rhs)
        if not (isinstance(cond, ir.Binary) and cond.op == "eq"):
            return False
        lhs, rhs = self.values.of(cond.lhs), self.values.of(cond.rhs)
        for a, b in ((lhs, rhs), (rhs, lhs)):
            if not a.gather and a.stride not in (0, None) and not b.varying:
                return True
        return False


def _target_span(span: Span, array: str, after_arrow: bool) -> Span:
    """The span of ``array[…]`` in a STORE (``after_arrow``) or an ATOMIC statement; the
    statement's span if it is not found."""
    text = span.text
    start = span.col - 1
    if after_arrow:
        arrow = max(text.find("→", start), text.find("->", start))
        start = arrow if arrow >= 0 else start
    m = re.compile(rf"(?<![A-Za-z0-9_]){re.escape(array)}\s*\[").search(text, start)
    if m is None:
        return span
    close = text.find("]", m.end())
    end = close + 1 if close >= 0 else m.end()
    return span.at(m.start() + 1, end - m.start())


def _shape(e: ir.Expr) -> tuple:
    """``e`` without source positions (two sites compare equal if they read alike)."""
    parts: list = [type(e).__name__]
    for f in fields(e):
        if f.name in ("span", "type"):
            continue
        v = getattr(e, f.name)
        if isinstance(v, ir.Expr):
            v = _shape(v)
        elif isinstance(v, tuple):
            v = tuple(_shape(x) if isinstance(x, ir.Expr) else x for x in v)
        parts.append(v)
    return tuple(parts)
