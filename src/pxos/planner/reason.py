"""Decisions in words: why a statement runs where it does."""

from __future__ import annotations

from pxos.ir import nodes as ir
from pxos.planner.model import Copies, Estimate
from pxos.units import format_bytes as size
from pxos.units import format_seconds as seconds


def host_reason(stmt: ir.Stmt, copies: Copies) -> str:
    """Why a host statement runs on the host."""
    back = f"; copies {size(copies.down_bytes)} back from the device" if copies.down else ""
    if isinstance(stmt, ir.ReadFile) and stmt.chunk is not None:
        return "host: file I/O, streamed in chunks through the statements that take it"
    if isinstance(stmt, (ir.ReadFile, ir.WriteFile)):
        return "host: file I/O" + back
    if isinstance(stmt, (ir.Alloc, ir.AllocLike)):
        return "no placement: zeros are made where the array is first used, without a copy"
    if isinstance(stmt, (ir.Fill, ir.RandomFill)):
        return "host: fills on the host (the same values on every backend)" + back
    if isinstance(stmt, (ir.Print, ir.Verify)):
        return "host: prints and compares on the host" + back
    if isinstance(stmt, (ir.For, ir.While, ir.If, ir.Break, ir.Continue)):
        return "host: control flow (the body's statements are placed one by one)" + back
    if isinstance(stmt, ir.Swap):
        return "no placement: the two names exchange their arrays where they are, no copy"
    if isinstance(stmt, (ir.Crypt, ir.Hash, ir.Codec, ir.Validate, ir.ReadEnv)):
        return ("host: the CPU's libraries (cryptography, hashlib, zstandard, lz4, zlib, "
                "crc32c); when it runs, ENCRYPT, DECRYPT and HASH weigh them against pxos's "
                "kernels by the data's size (`pxos run --explain` shows it); `--device "
                "c|opencl|cuda` pins the kernels") + back
    if isinstance(stmt, ir.ConstDef):
        return "no placement: a constant, put into every use when the program is checked"
    return "host: a host scalar" + back


def _work_words(features: dict) -> str:
    if "threads" in features:
        per = features["per_thread"]
        ops = (per["ops"] + per["transcendental"]) * features["threads"]
        return (f"{features['threads']:,} threads, {size(features['memory_bytes'])} of memory "
                f"traffic, {ops:.3g} operations")
    return f"{features['elements']:,} elements ({size(features['bytes'])})"


def explain_choice(machine, step, device: str, local: dict[str, Estimate], pin: str | None,
                   saved: float, features: dict, kernel_devices: list[str]) -> str:
    """The reason for placing ``step`` on ``device``, given each candidate's estimate
    there (``local``) and what the whole-program plan saved by not taking the locally
    fastest device (``saved`` seconds)."""
    chosen = local[device]
    share = ""
    if chosen.split is not None:
        cpu, other = device.split("+")
        share = (f"; HYBRID: {chosen.split:.0%} of the elements on {cpu}, the rest on "
                 f"{other}, at once")
    if pin is not None:
        return (f"pinned by {pin}; predicted {seconds(chosen.seconds)} ({chosen.bound}-bound)"
                + share)
    others = sorted((e for d, e in local.items() if d != device), key=lambda e: e.seconds)
    what = _work_words(features)
    cpu_only = not any(machine.is_gpu(d) for d in kernel_devices)
    note = (" (no GPU here: chose among the CPU backends " + ", ".join(kernel_devices) + ")"
            if cpu_only else "")
    if not others:
        return f"{device}: the only candidate; {what}{note}"
    runner = others[0]
    if runner.seconds < chosen.seconds:
        return (f"{device}: {runner.device} alone would take {seconds(runner.seconds)} vs "
                f"{seconds(chosen.seconds)}, but the program's data stays where the next "
                f"statements need it, which saves {seconds(saved)} in all")
    ratio = runner.seconds / max(chosen.seconds, 1e-12)
    text = (f"{device}: predicted {seconds(chosen.seconds)} vs {runner.device} "
            f"{seconds(runner.seconds)} ({ratio:.1f}× faster); {what}{share}")
    if runner.bound in ("launch", "copies", "compile") and runner.work_s < runner.overhead_s:
        text += (f"; on {runner.device} the {runner.bound} time ({seconds(runner.overhead_s)} "
                 f"with launch and copies) outweighs the work ({seconds(runner.work_s)})")
    else:
        text += f"; {chosen.bound}-bound on {device}"
    return text + note
