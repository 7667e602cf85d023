"""Random kernels with shared memory and barriers for differential fuzzing
(tests/test_fuzz_kernels): blocks of :data:`BLOCK` threads that take turns writing their own
element of a shared array ``tile`` and reading any element of it, with ``SYNC_THREADS``
between the turns, at the top level and in uniform ``FOR`` loops.

Between two barriers a thread either writes ``tile[lid]`` or reads ``tile`` (never both),
so no turn races, and the first turn writes (shared memory starts undefined on a GPU); the statements around are the integer kernels of
``tests/random_kernels`` without ``RETURN`` (a thread that left would miss a barrier). The
C backend splits such a kernel at its barriers into loops over the block's threads
(``ir/passes/fission``), keeping the values that cross a barrier per thread; the GPU
backends run it as written. A kernel is a list of *segments*: ``("stmts", body)``,
``("sync",)`` or ``("loop", name, trips, segments)``.
"""

from __future__ import annotations

from tests.random_kernels import BINS, Generator, lines, params

BLOCK = 64


class BarrierGenerator(Generator):
    """A :class:`Generator` of block-synchronous kernels (segments, module docstring)."""

    def __init__(self, seed: int):
        super().__init__(seed)
        self.lockstep = False
        self.returns = False
        self.types["lid"] = "i32"
        self.fixed |= {"lid"}
        self.loop_depth = 0
        self.written = False  # shared memory starts undefined on a GPU: write it first

    def segments(self, count: int) -> list:
        """``count`` turns: a write of ``tile[lid]`` or reads of ``tile``, each after a
        few private statements and followed by a barrier; now and then a uniform loop of
        turns."""
        out = []
        for _ in range(count):
            first = not out and not self.loop_depth and not self.written
            if self.r.random() < 0.25 and self.loop_depth < 2 and not first:
                name = self.name("s")
                self.types[name] = "i32"
                self.fixed.add(name)
                self.loop_depth += 1
                inner = self.segments(self.r.randint(1, 2))
                self.loop_depth -= 1
                del self.types[name]  # read inside the loop only (C's ends one past)
                out.append(("loop", name, self.r.randint(0, 3), inner))
                continue
            body = self.body(1, self.r.randint(0, 2))
            if first or self.r.random() < 0.5:
                body.append(("store", self.expr(2), "tile[lid]"))
                self.written = True
            else:
                v = self.r.choice(sorted(set(self.types) - self.fixed - self.counters()))
                index = ("bin", "i32", "&", self.expr(2), ("lit", "i32", BLOCK - 1))
                body.append(("set", v, ("tile", "i32", index)))
            out += [("stmts", body), ("sync",)]
        return out

    def kernel(self) -> list:
        *start, last = super().kernel()  # the variables, a body and a final store
        segments = self.segments(self.r.randint(1, 4))
        zeros = [("set", c, ("lit", "i32", 0)) for c in sorted(self.counters())]
        return [("stmts", zeros + start)] + segments + [("stmts", [last])]


def barrier_lines(segments: list, indent: int, g: BarrierGenerator) -> list:
    """The segments as ``.px`` lines."""
    pad, out = " " * indent, []
    for seg in segments:
        if seg[0] == "sync":
            out.append(pad + "SYNC_THREADS")
        elif seg[0] == "loop":
            out.append(f"{pad}FOR {seg[1]} IN 0..{seg[2]}:")
            out += barrier_lines(seg[3], indent + 4, g)
        else:
            out += lines(seg[1], indent, g)
    return out


def barrier_program(seed: int) -> tuple[str, list, BarrierGenerator]:
    """Seed ``seed``'s block-synchronous kernel: its ``.px`` text, segments and generator."""
    g = BarrierGenerator(seed)
    segments = g.kernel()
    head = ["GPU_KERNEL fuzz", *params(g, "    GPU_PARAM {n} {t}[]"),
            f"    GPU_SHARED_MEM tile int {BLOCK}", f"    GPU_BLOCK {BLOCK}",
            "GPU_THREAD_CODE:", "    THREAD_ID → i", "    LOCAL_ID → lid",
            f"    SET atom = {g.arrays['hist']}(0)"]
    assert BINS == 16
    return "\n".join(head + barrier_lines(segments, 4, g) + ["GPU_END", ""]), \
        segments, g
