"""Every test of the suite that runs on ``webgpu``, on this machine's adapter, safely: the test
files run in batches, each batch in its own process group under a hard time limit, so a shader
that hangs the driver costs one batch, not the run. Prints one line per batch and every failed
test by name; writes JSON.

    python3 benchmarks/webgpu_tests.py [--nvidia-egl] [--unverified] [--batch 1]
        [--timeout 120] [--files tests/a.py tests/b.py …] [--out $OUT/webgpu-tests.json]

The tests are those whose pytest id holds ``webgpu`` (``-k webgpu``: the parametrised ones and
``tests/backends/test_webgpu.py``), found by ``pytest --collect-only`` unless ``--files`` names
them. ``--nvidia-egl``: run on NVIDIA's Vulkan driver in a container without a display
(docs/backends.md, "WGSL and the webgpu backend"): an ICD file naming ``libEGL_nvidia.so.0``
and a private ``XDG_RUNTIME_DIR``. ``--unverified``: ``PXOS_WEBGPU_UNVERIFIED=1``, to verify an
adapter that ``backends/webgpu.VERIFIED`` does not name yet. ``PXOS_REQUIRE_BACKENDS=webgpu``
is set, so ``tests/backends/test_required.py`` fails where the adapter is missing (the
parametrised tests would then have no ``webgpu`` case to run). Not a timing benchmark:
it lives here because it runs on the GPU machine like the benchmarks.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NVIDIA_EGL_ICD = {"file_format_version": "1.0.0",
                  "ICD": {"library_path": "libEGL_nvidia.so.0", "api_version": "1.3"}}


def environment(nvidia_egl: bool, scratch: Path, unverified: bool = False) -> dict[str, str]:
    """The tests' environment: this checkout's ``src`` first on ``PYTHONPATH``; with
    ``nvidia_egl``, NVIDIA's EGL ICD file (written under ``scratch``) and its settings; with
    ``unverified``, ``PXOS_WEBGPU_UNVERIFIED=1``."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [str(ROOT / "src"), os.environ.get("PYTHONPATH", "")]), PXOS_REQUIRE_BACKENDS="webgpu")
    if nvidia_egl:
        icd = scratch / "nvidia_egl_icd.json"
        icd.write_text(json.dumps(NVIDIA_EGL_ICD))
        xdg = scratch / "xdg"
        xdg.mkdir(mode=0o700, exist_ok=True)
        env.update(VK_ICD_FILENAMES=str(icd), XDG_RUNTIME_DIR=str(xdg))
    if unverified:
        env["PXOS_WEBGPU_UNVERIFIED"] = "1"
    return env


def run_bounded(cmd: list[str], env: dict, seconds: float, log: Path) -> tuple[int | None, float]:
    """Run ``cmd`` in a new process group with stdout and stderr to ``log``; kill the whole
    group (SIGKILL) after ``seconds``. Returns (exit status or None if killed, wall seconds)."""
    t0 = time.perf_counter()
    with open(log, "wb") as out:
        p = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
                             start_new_session=True)
        try:
            rc = p.wait(timeout=seconds)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()
            rc = None
    return rc, time.perf_counter() - t0


def collect(env: dict, seconds: float, scratch: Path) -> list[str]:
    """The test files holding at least one test selected by ``-k webgpu``, in suite order."""
    log = scratch / "collect.log"
    rc, _ = run_bounded([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                         "--collect-only", "-k", "webgpu", "tests"], env, seconds, log)
    ids = [line for line in log.read_text(errors="replace").splitlines() if "::" in line]
    if not ids:
        sys.exit(f"no webgpu test collected (exit {rc}):\n"
                 + log.read_text(errors="replace")[-3000:])
    if rc != 0:  # e.g. a module that cannot be imported here: run the others
        print(f"collection exit {rc}:\n" + log.read_text(errors="replace")[-1500:], flush=True)
    return list(dict.fromkeys(i.split("::")[0] for i in ids))


def outcomes(junit: Path) -> dict[str, list[str]]:
    """Test ids by outcome (``passed``, ``failed``, ``skipped``) from a JUnit XML report; a
    failed one with the first 160 characters of its message."""
    out: dict[str, list[str]] = {"passed": [], "failed": [], "skipped": []}
    for case in ET.parse(junit).iter("testcase"):
        name = f"{case.get('classname', '')}::{case.get('name', '')}"
        bad = [child for child in case if child.tag in ("failure", "error")]
        if bad:
            message = " ".join((bad[0].get("message") or "").split())[:160]
            out["failed"].append(f"{name}: {message}")
        else:
            out["skipped" if case.find("skipped") is not None else "passed"].append(name)
    return out


def last_started(log: Path) -> str:
    """The last test that ``pytest -v`` began (the one running when a batch was killed)."""
    lines = [s for s in log.read_text(errors="replace").splitlines() if "::" in s]
    return lines[-1].split(" ")[0] if lines else "(none started)"


def run_batch(files: list[str], env: dict, seconds: float, scratch: Path, n: int) -> dict:
    """Run the ``-k webgpu`` tests of ``files`` in one bounded pytest; a summary dict."""
    junit, log = scratch / f"batch{n}.xml", scratch / f"batch{n}.log"
    rc, wall = run_bounded([sys.executable, "-m", "pytest", "-v", "-p", "no:cacheprovider",
                            "-k", "webgpu", f"--junitxml={junit}", *files], env, seconds, log)
    row = {"files": files, "exit": rc, "seconds": round(wall, 1)}
    if rc is None:
        row.update(killed=True, running=last_started(log))
    elif junit.exists():
        row.update(outcomes(junit))
    if rc not in (0, 5, None) and not row.get("failed"):
        row["log_tail"] = log.read_text(errors="replace")[-2000:]  # e.g. a collection error
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--nvidia-egl", action="store_true", help="NVIDIA's Vulkan driver via EGL")
    ap.add_argument("--unverified", action="store_true",
                    help="PXOS_WEBGPU_UNVERIFIED=1: an adapter not yet verified")
    ap.add_argument("--batch", type=int, default=1, help="test files per process")
    ap.add_argument("--timeout", type=float, default=120, help="seconds per batch (hard kill)")
    ap.add_argument("--files", nargs="*", help="test files (default: collect -k webgpu)")
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="pxos-webgpu-tests-") as tmp:
        scratch = Path(tmp)
        env = environment(args.nvidia_egl, scratch, args.unverified)
        files = args.files or collect(env, args.timeout, scratch)
        rows = []
        for n in range(0, len(files), args.batch):
            row = run_batch(files[n:n + args.batch], env, args.timeout, scratch, n)
            rows.append(row)
            counts = " ".join(f"{k} {len(row.get(k, []))}" for k in ("passed", "failed",
                                                                      "skipped"))
            state = f"KILLED after {row['seconds']} s in {row['running']}" \
                if row.get("killed") else f"exit {row['exit']}, {row['seconds']} s"
            print(f"{counts}; {state}: {' '.join(row['files'])}", flush=True)
            for name in row.get("failed", []):
                print(f"  FAILED {name}", flush=True)
            if "log_tail" in row:
                print("  " + row["log_tail"][-600:].replace("\n", "\n  "), flush=True)
    total = {k: sum(len(r.get(k, [])) for r in rows) for k in ("passed", "failed", "skipped")}
    killed = [r["running"] for r in rows if r.get("killed")]
    print(f"TOTAL passed {total['passed']} failed {total['failed']} skipped "
          f"{total['skipped']} killed batches {len(killed)}", flush=True)
    if args.out:
        report = {"machine": platform.node(), "python": platform.python_version(),
                  "nvidia_egl": args.nvidia_egl, "total": total, "killed": killed,
                  "batches": rows}
        tmp_out = args.out.with_suffix(".tmp")
        tmp_out.write_text(json.dumps(report, indent=1))
        os.replace(tmp_out, args.out)
    sys.exit(1 if total["failed"] or killed else 0)


if __name__ == "__main__":
    main()
