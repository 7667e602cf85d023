"""A streamed pipeline file to file, against each of its stages measured alone.

    python3 benchmarks/pipeline_e2e.py [--mib 1024] [--chunk-mib 16] [--device host|c|cuda]
                                       [--compress] [--dir DIR] [--write-behind-mib 8]
                                       [--out pipeline_e2e.json]

The program streams a file of ``--mib`` MiB (log-like text) through ``ENCRYPT … WITH
aes256ctr`` (with ``--compress``, ``COMPRESS … WITH zstd`` first) into a file, on
``--device`` (``host``: ``cryptography``; a backend: the pxos kernel there). Each stage is
also timed alone over the same chunks, in the same run:

- ``disk_read``: the file through the ring buffer (``stream.read_chunks``); the file was
  just written, so this is the page cache's rate unless the machine dropped it;
- ``disk_write``: the bytes the pipeline writes (with ``--compress``, the compressed
  chunks) through ``StreamOutput`` (temporary file, fsync, rename), per byte of input;
- ``compress``: the zstd filter alone, in memory (on ``cuda``: nvCOMP's, as a program
  pinned to cuda streams its ``COMPRESS``: upload, encode, packing, download per chunk);
- ``encrypt``: the cipher alone, in memory, as the stream runs it (without ``--compress``:
  the engine of ``slot_stream`` over its ring of slots, on cuda the pinned slots with an
  upload, kernel and download per chunk on the slot's stream; with ``--compress``: the
  ``KeystreamFilter``); on ``cuda`` also ``pcie_up``/``pcie_down`` (pinned host memory ↔
  device, one chunk at a time, CuPy) and ``kernel`` (the AES kernel on device-resident
  data, no copies).

It prints each rate (GB/s of the input file), the slowest stage, the pipeline's rate and
its ratio to the slowest stage (the issue's goal: ≥ 0.8, i.e. within 80 % of the slowest
stage). Each timed write, of the pipeline and of ``disk_write`` alone, goes to a new file
(the one before deleted and ``sync``-ed untimed): a rename over a file of gigabytes frees
its pages and blocks inside the rename (0.08 s for 256 MiB on the 2-core VM), a cost of
the file replaced, not of the stream. ``pipeline_replacing`` is the rate with it (each
run's output replacing the run before's). Without ``--compress`` it also runs the stream once more through
``slot_stream.stream_keystream`` directly and prints how busy each thread was (seconds in
``readinto``, in launching, in ``write``, in the final ``fsync`` and rename, and the
caller's wait for read chunks, beside the wall time): the thread whose work fills the wall
is the one that sets the rate. Timings on a shared machine are noisy: the JSON records the
load average. Output: JSON with the machine's name.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from collections import deque  # noqa: E402

from pxos.host.pipeline import filters, slot_stream, stream  # noqa: E402
from pxos.host.pipeline.cores import CorePool, cpu_count  # noqa: E402
from pxos.host.pipeline.nvcomp_stream import NvcompFilter  # noqa: E402
from pxos.host.pipeline.stream import StreamOutput, read_chunks  # noqa: E402
from pxos.host.program import ProgramRun  # noqa: E402
from pxos.ir.check_host import check_program  # noqa: E402
from pxos.lang.px.parser import parse_program  # noqa: E402

KEY, CTR_IV = bytes(range(32)), bytes(range(16))
PROGRAM = """READ_ENV "PXOS_BENCH_KEY" INTO key AS hex
READ_FILE "nonce.bin" INTO nonce
READ_FILE "input.bin" INTO data AS u8 CHUNK {chunk}
{compress}ENCRYPT {source} WITH aes256ctr KEY key NONCE nonce → sealed
WRITE_FILE sealed TO "sealed.bin"
"""


def write_input(path: Path, nbytes: int) -> None:
    """Web-server log lines, written 16 MiB at a time."""
    block = b"".join(b"%08d GET /data/%d HTTP/1.1 200 %d\n" % (i, i % 977, (i * 7919) % 65536)
                     for i in range((16 << 20) // 30 + 1))[:16 << 20]
    with open(path, "wb") as f:
        for lo in range(0, nbytes, len(block)):
            f.write(block[:min(len(block), nbytes - lo)])


def timed(fn, repeat: int, before=None) -> float:
    """The median seconds of ``repeat`` calls of ``fn``, each after ``before()`` (untimed)."""
    times = []
    for _ in range(repeat):
        if before is not None:
            before()
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def stage_rates(path: Path, folder: Path, chunk: int, device: str, compress: bool,
                repeat: int) -> dict[str, float]:
    """GB/s of each stage alone, of the input file's bytes."""
    nbytes = path.stat().st_size
    rates = {"disk_read": nbytes / timed(lambda: sum(len(v) for v in read_chunks(path, chunk)),
                                         repeat) / 1e9}
    chunks = [np.fromfile(path, np.uint8, count=min(chunk, nbytes - lo), offset=lo)
              for lo in range(0, nbytes, chunk)]

    def write():
        out = StreamOutput(folder / "write_alone.bin").open()
        for c in chunks:
            out.append(c)
        out.commit()
    with CorePool() as pool:
        if compress:
            def pack():  # as the program's COMPRESS: nvCOMP when pinned to cuda
                f = (NvcompFilter("zstd", 3) if device == "cuda"
                     else filters.CodecFilter("zstd", False, 3, pool.workers))
                return [f.push(c) for c in chunks] + [f.close()]
            packed = pack()
            rates["compress"] = nbytes / timed(pack, repeat) / 1e9
            chunks = [np.frombuffer(p, np.uint8) for p in packed if len(p)]

        if compress:  # the program's ENCRYPT takes the filter (host/pipeline_stream)
            def encrypt():
                f = filters.KeystreamFilter("aes256ctr", KEY, CTR_IV, device, pool)
                for c in chunks:
                    f.push(c)
                f.close()
        else:  # the program's ENCRYPT takes the slots (slot_stream)
            engine = make_engine(device, pool)
            engine.allocate(slot_stream.SLOTS, chunk)
            for slot_input in engine.inputs:
                slot_input[:len(chunks[0])] = chunks[0]

            def encrypt():
                slot_rounds(engine, nbytes, chunk)
        encrypt()  # compiles the kernel on a backend
        rates["encrypt"] = nbytes / timed(encrypt, repeat) / 1e9
        if not compress:
            engine.close()
    # what the pipeline writes, into a new file each time (as the pipeline's runs)
    rates["disk_write"] = nbytes / timed(write, repeat,
                                         lambda: remove(folder / "write_alone.bin")) / 1e9
    if device == "cuda":
        rates.update(cuda_rates(chunk, nbytes, repeat))
    return rates


def make_engine(device: str, pool):
    """The engine a streamed ENCRYPT … WITH aes256ctr uses on ``device``."""
    return slot_stream.make_engine("aes256ctr", KEY, CTR_IV, device, pool)


def slot_rounds(engine, nbytes: int, chunk: int) -> None:
    """``nbytes`` through ``engine``'s slots in memory, as ``stream_keystream`` launches
    them (every slot in flight before the oldest is waited for), without disk."""
    pending: deque = deque()
    slots = len(engine.inputs)
    for k, lo in enumerate(range(0, nbytes, chunk)):
        if len(pending) == slots:
            ready = pending.popleft()
            ready and ready()
        pending.append(engine.launch(k % slots, min(chunk, nbytes - lo), lo // engine.unit))
    while pending:
        ready = pending.popleft()
        ready and ready()


def thread_times(folder: Path, chunk: int, device: str) -> dict:
    """One run of ``stream_keystream`` (the path a streamed ENCRYPT takes) with its threads'
    busy seconds (``slot_stream.StreamTimes``)."""
    with CorePool() as pool:
        out = StreamOutput(folder.resolve() / "threads.bin").open()
        try:
            t = slot_stream.stream_keystream(folder / "input.bin", out, make_engine(device, pool),
                                             chunk)
            out.commit()
        except BaseException:
            out.discard()
            raise
    return {"wall": t.wall + out.seconds["commit"], "read": t.read, "launch": t.launch,
            "write": t.write, "commit": out.seconds["commit"], "wait_for_reads": t.wait_full,
            "chunks": t.chunks}


def cuda_rates(chunk: int, nbytes: int, repeat: int) -> dict[str, float]:
    """PCIe each way (pinned host memory, one chunk per copy) and the AES kernel alone on
    device-resident data, scaled to the input's bytes."""
    import cupy
    import cupyx

    from pxos.host.pipeline.ciphers import run_keystream

    host = cupyx.zeros_pinned(chunk, np.uint8)
    dev = cupy.empty(chunk, cupy.uint8)
    out = cupy.empty(chunk // 4, cupy.uint32)
    sync = cupy.cuda.runtime.deviceSynchronize
    per = nbytes / chunk

    def up():
        dev.set(host)
        sync()

    def down():
        dev.get(out=host)
        sync()

    def kernel():
        run_keystream(dev.view(cupy.uint32), out, "aes256ctr", KEY, CTR_IV, "cuda")
        sync()
    kernel()
    return {"pcie_up": nbytes / (timed(up, repeat * 3) * per) / 1e9,
            "pcie_down": nbytes / (timed(down, repeat * 3) * per) / 1e9,
            "kernel": nbytes / (timed(kernel, repeat * 3) * per) / 1e9}


def pipeline_rate(folder: Path, chunk: int, device: str, compress: bool,
                  repeat: int) -> tuple[float, float]:
    """GB/s of the program's runs (input bytes), each writing a new output file, and each
    replacing the output of the run before (as a second run of a program does)."""
    text = PROGRAM.format(chunk=chunk, source="packed" if compress else "data",
                          compress="COMPRESS data WITH zstd LEVEL 3 → packed\n"
                          if compress else "")
    (folder / "prog.px").write_text(text)
    program = check_program(parse_program(text, str(folder / "prog.px")))
    os.environ["PXOS_BENCH_KEY"] = KEY.hex()
    os.environ["PXOS_NO_PROGRESS"] = "1"
    nbytes = (folder / "input.bin").stat().st_size
    run = lambda: ProgramRun(program, device=device, emit=lambda _: None).run()  # noqa: E731
    run()  # warm-up: the kernel compiled, the page cache filled
    fresh = nbytes / timed(run, repeat, lambda: remove(folder / "sealed.bin")) / 1e9
    return fresh, nbytes / timed(run, repeat) / 1e9


def remove(path: Path) -> None:
    """``path`` deleted where it exists and the disk given its blocks back (``sync``), so
    that a timed write starts as the first one did: replacing a file of gigabytes frees
    its pages and blocks inside the rename (measured apart: ``pipeline_replacing``)."""
    path.unlink(missing_ok=True)
    os.sync()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mib", type=int, default=1024)
    parser.add_argument("--chunk-mib", type=int, default=16)
    parser.add_argument("--device", default="host")
    parser.add_argument("--compress", action="store_true")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--dir", default=None, help="folder for the files (default: a temp)")
    parser.add_argument("--write-behind-mib", type=int, default=stream.WRITE_BEHIND >> 20,
                        help="start the disk's write-back every this many MiB (0: never, "
                        "the page cache holds all until the final fsync)")
    parser.add_argument("--out", default="pipeline_e2e.json")
    args = parser.parse_args()
    chunk, load = args.chunk_mib << 20, os.getloadavg()
    stream.WRITE_BEHIND = (args.write_behind_mib << 20) or 1 << 62
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        folder = Path(tmp)
        write_input(folder / "input.bin", args.mib << 20)
        (folder / "nonce.bin").write_bytes(CTR_IV)
        rates = stage_rates(folder / "input.bin", folder, chunk, args.device, args.compress,
                            args.repeat)
        slowest = min(rates, key=rates.get)
        for stage, rate in sorted(rates.items(), key=lambda kv: kv[1]):
            print(f"stage {stage:12s} {rate:8.2f} GB/s" +
                  ("   (slowest)" if stage == slowest else ""), flush=True)
        whole, replacing = pipeline_rate(folder, chunk, args.device, args.compress,
                                         args.repeat)
        print(f"pipeline           {whole:8.2f} GB/s   = {whole / rates[slowest]:.2f} of "
              f"{slowest} ({rates[slowest]:.2f} GB/s; goal 0.8)", flush=True)
        print(f"pipeline replacing {replacing:8.2f} GB/s   (its output there from the run "
              f"before: = {replacing / rates[slowest]:.2f} of {slowest})", flush=True)
        threads = None if args.compress else thread_times(folder, chunk, args.device)
    out = {"machine": {"node": platform.node(),
                       "cpu": platform.processor() or platform.machine(),
                       "cores": cpu_count(), "python": platform.python_version()},
           "mib": args.mib, "chunk_mib": args.chunk_mib, "device": args.device,
           "compress": args.compress, "write_behind_mib": args.write_behind_mib,
           "stage_GBps": rates, "slowest_stage": slowest,
           "pipeline_GBps": whole, "ratio_to_slowest": whole / rates[slowest], "goal": 0.8,
           "pipeline_replacing_GBps": replacing,
           "thread_seconds": threads,
           "load_average_before": load, "load_average_after": os.getloadavg()}
    tmp = Path(args.out).with_suffix(".tmp")
    tmp.write_text(json.dumps(out, indent=2))
    tmp.replace(args.out)
    if threads:
        print("threads, seconds: " + ", ".join(f"{k} {v:.2f}" if isinstance(v, float)
                                                else f"{k} {v}" for k, v in threads.items()))
    print(f"load average before {load[0]:.2f}, after {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
