"""``pxos profile``: where the time and memory of a program go (``docs/profiling.md``).

    pxos profile PROGRAM.px [-o DIR] [--device D]
    pxos profile script.py [ARGS...] [-o DIR]
    pxos profile ... --compare BASE/profile.json [--threshold 0.1] [--alpha 0.01]

writes ``trace.json``, ``flame.speedscope.json``, ``profile.json`` and ``report.html`` into
DIR (default ``pxos-profile``) and prints the top kernels and host lines. With
``--compare`` it then prints each kernel whose per-launch times changed significantly
(Mann-Whitney U) and exits 1 if one is slower by more than the threshold.
"""

from __future__ import annotations

import runpy
import sys
import traceback
from pathlib import Path
from typing import Optional

import typer

from pxos.cli.app import _load, _with_host_steps, app
from pxos.cli.options import DeviceOption
from pxos.cli.report import _guarded, out
from pxos.errors import PxError


@app.command("profile", context_settings={"allow_extra_args": True,
                                          "ignore_unknown_options": True})
@_guarded
def profile(
    ctx: typer.Context,
    file: Path = typer.Argument(..., metavar="FILE", show_default=False,
                                help="A .px program, or a Python script that calls pxos "
                                     "kernels (its arguments follow it)."),
    folder: Path = typer.Option(Path("pxos-profile"), "--out", "-o", metavar="DIR",
                                help="Folder for trace.json, report.html, profile.json "
                                     "and the flame graph."),
    rate: float = typer.Option(1000.0, "--rate", metavar="HZ",
                               help="Host samples per second."),
    memory: bool = typer.Option(False, "--memory",
                                help="Trace host allocations by line (tracemalloc; slows "
                                     "allocation-heavy code)."),
    all_threads: bool = typer.Option(False, "--all-threads",
                                     help="Sample every Python thread, not only the main "
                                          "one."),
    device: str = DeviceOption,
    base: Optional[Path] = typer.Option(None, "--compare", metavar="BASE.json",
                                        help="A profile.json to compare with; exit 1 on a "
                                             "regression."),
    threshold: float = typer.Option(0.10, "--threshold", metavar="FRACTION",
                                    help="With --compare: the median slowdown (0.1 = 10 %) "
                                         "a significant change must pass to fail."),
    alpha: float = typer.Option(0.01, "--alpha", help="With --compare: the p-value below "
                                                      "which a change is significant."),
):
    """Profile a .px program or a Python script: kernel events, host samples, memory."""
    from pxos.lib.profile import Profile
    from pxos.lib.profile.compare import load_profile

    if not rate > 0:
        raise PxError(f"--rate must be above 0 samples per second, got {rate:g}")
    baseline = load_profile(base) if base is not None else None  # fail before the run
    if not file.is_file():
        raise PxError(f"no such file: {file}")
    failed = None
    with Profile(folder, rate, memory, name=str(file), all_threads=all_threads) as p:
        if file.suffix == ".py":
            failed = _run_script(file, ctx.args)
        else:
            if ctx.args:
                raise PxError(f"a .px program takes no arguments; got {' '.join(ctx.args)}")
            _run_program(file, device, p)
    _print_top(p)
    out.print(f"wrote {', '.join(str(f) for f in p.files)}")
    if failed is not None:
        raise typer.Exit(failed)
    if baseline is not None and _print_compare(p.summary(), baseline, threshold, alpha):
        raise typer.Exit(1)


def _run_program(file: Path, device: str, p) -> None:
    from pxos.host import interrupt
    from pxos.host.program import ProgramRun

    interrupt.install()
    program = _load(file)
    # explain: the planner's predictions with measured times (a pinned device has none:
    # `pxos run --device interp --explain` fails, interp being never calibrated)
    result = ProgramRun(program, device=device, emit=out.print,
                        explain=device == "auto").run()
    p.add_decisions((d.statement, d) for d in _with_host_steps(result)
                    if d.predicted and not d.statement.startswith("RUN"))


def _run_script(file: Path, args: list[str]) -> int | None:
    """Run ``file`` as ``__main__`` with ``args``; its exit status if it is not 0."""
    saved = sys.argv
    sys.argv = [str(file), *args]
    sys.path.insert(0, str(file.resolve().parent))
    try:
        runpy.run_path(str(file), run_name="__main__")
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
        return code or None
    except PxError:
        raise
    except Exception:  # the script's own error: shown as Python shows it, profile kept
        sys.stderr.write(f"{file} raised:\n" + traceback.format_exc())
        return 1
    finally:
        sys.argv = saved
        sys.path.remove(str(file.resolve().parent))
    return None


def _print_top(p, limit: int = 5) -> None:
    out.print(f"{p.wall_s * 1e3:.1f} ms wall, {len(p.sampler.samples)} host samples")
    for k in p.kernels[:limit]:
        out.print(f"  {k.name:<20} {k.device:<7} {k.launches:>6} launches "
                  f"{k.total_s * 1e3:10.3f} ms  ({k.total_s / p.wall_s * 100:4.1f} % of wall)"
                  f"  mean {k.mean_s * 1e6:9.1f} µs")
    for r in p.lines[:limit]:
        where = f"{Path(r['file']).name}:{r['line']}" if r["file"] else "(pxos)"
        out.print(f"  {where:<28} {r['function']:<28} {r['seconds'] * 1e3:10.1f} ms "
                  f"({r['seconds'] / p.wall_s * 100:4.1f} % of wall)")


def _print_compare(new: dict, base: dict, threshold: float, alpha: float) -> bool:
    """Print the changes; True if there is a regression."""
    from pxos.lib.profile.compare import compare, line_changes

    changes = compare(new, base, alpha, threshold)
    for c in changes:
        if c.verdict == "same":
            continue
        detail = "" if c.ratio is None else (
            f" median ×{c.ratio:.3f}, p = {c.p:.2g}, effect {c.effect:.2f}"
            if c.p is not None else f" median ×{c.ratio:.3f}")
        out.print(f"  {c.verdict:<11} {c.name} on {c.device}:{detail}")
    for r in line_changes(new, base, threshold):
        out.print(f"  line changed {Path(r['file']).name}:{r['line']} {r['function']}: "
                  f"{r['base_share'] * 100:.1f} % -> {r['new_share'] * 100:.1f} % of wall")
    bad = [c for c in changes if c.verdict == "regression"]
    out.print(f"{len(bad)} regression{'s' * (len(bad) != 1)} "
              f"(p < {alpha:g} and median slower by > {threshold * 100:g} %)")
    return bool(bad)
