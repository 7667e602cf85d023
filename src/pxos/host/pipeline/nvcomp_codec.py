"""COMPRESS on an NVIDIA GPU through nvCOMP (``nvidia-nvcomp-cu13``, the ``pipelines-gpu``
extra), with output that the standard CPU decoders read.

nvCOMP's batched codecs compress many independent chunks at once. pxos cuts the data into
chunks of ``CHUNK`` (64 KiB, nvCOMP's default), has nvCOMP compress them as ``RAW``
bitstreams (no nvCOMP header) into slots of a fixed stride on the GPU, and closes the gaps
with the ``frame_kernel.pack_chunks`` kernel, so the result is one standard stream:

- ``lz4``: one LZ4 frame (``lz4_frame``) of independent 64 KiB blocks, with the content
  size in its header; a chunk that does not shrink is stored. ``lz4 -d`` and
  ``lz4.frame.decompress`` read it.
- ``zstd``: one zstd frame per chunk, back to back. RFC 8878 (section 3) makes a zstd
  stream any sequence of frames; ``zstd -d`` and ``codecs.decompress`` read them all.
- ``deflate``: one gzip member per chunk (``gzip_members``: each nvCOMP deflate chunk is
  a final raw deflate stream, which cannot be joined into one zlib stream, but a gzip file
  is any sequence of members, RFC 1952). So the GPU's deflate is **gzip**, not the zlib
  container of the CPU path; ``gzip -d`` and ``codecs.decompress`` read it.

nvCOMP has no levels, so a ``LEVEL`` other than the codec's default runs on the host. Data and result stay on the
GPU for a CuPy array; a NumPy array is uploaded, and its result downloaded.
"""

from __future__ import annotations

import numpy as np

from pxos.errors import PxArgumentError, PxRuntimeError
from pxos.host.pipeline import lz4_frame

CHUNK = 64 << 10  # bytes per nvCOMP chunk: its default, and LZ4's 64 KiB block size
PIECE = 1 << 30  # bytes per nvCOMP call: the slots of one call stay below 2 GiB (i32)
ALGORITHMS = {"lz4": "LZ4", "zstd": "Zstd", "deflate": "Deflate"}
HEAD = {"lz4": 4, "zstd": 0, "deflate": 10}  # bytes of record header before a chunk's data
TAIL = {"lz4": 0, "zstd": 0, "deflate": 8}  # bytes after it (gzip: CRC-32 and length)
_codecs: dict = {}


def installed() -> bool:
    """Whether nvCOMP's Python module and CuPy are installed (found, not imported: cheap)."""
    from importlib.util import find_spec

    try:
        return find_spec("cupy") is not None and find_spec("nvidia.nvcomp") is not None
    except ModuleNotFoundError:  # no ``nvidia`` namespace at all
        return False


def available() -> bool:
    """Whether nvCOMP's Python module and CuPy import and a CUDA device is present."""
    if not installed():
        return False
    try:
        import cupy
        from cupy.cuda.runtime import CUDARuntimeError
        from nvidia import nvcomp  # noqa: F401
    except (ImportError, OSError):  # not installed, or its libraries not found
        return False
    try:
        return cupy.cuda.runtime.getDeviceCount() > 0
    except CUDARuntimeError:  # no driver or no device
        return False


def _bound(codec: str, n: int) -> int:
    """The most bytes a chunk of ``n`` bytes can compress to: LZ4_compressBound
    (lz4.h), and ZSTD_compressBound (zstd.h), which is above zlib's deflateBound too."""
    if codec == "lz4":
        return n + n // 255 + 16
    return n + (n >> 8) + (((128 << 10) - n) >> 11 if n < (128 << 10) else 0)


def _codec(codec: str, stream: int):
    """The nvCOMP Codec for ``codec`` on ``stream`` (kept per thread would be nvCOMP's
    rule; pxos calls it from one thread at a time per stream)."""
    from nvidia import nvcomp

    key = (codec, stream)
    if key not in _codecs:
        _codecs[key] = nvcomp.Codec(algorithm=ALGORITHMS[codec], cuda_stream=stream,
                                    bitstream_kind=nvcomp.BitstreamKind.RAW,
                                    uncomp_chunk_size=CHUNK)
    return _codecs[key]


def _stride(codec: str, nv, piece) -> int:
    """Bytes per slot: nvCOMP's bound for one chunk (or the format's, if larger),
    rounded up to 16 (nvCOMP's alignment)."""
    from nvidia import nvcomp

    theirs = nv.get_max_comp_buffer_size(nvcomp.as_array(piece[:CHUNK]))
    return -(-max(theirs, _bound(codec, CHUNK)) // 16) * 16


def compress_piece(piece, codec: str, lead: int = 0, tail: int = 0):
    """The records of ``piece`` (a CuPy u8 array of at most PIECE bytes): for lz4 the
    block records, for zstd the frames, as a CuPy u8 array with ``lead`` bytes left free
    before them and ``tail`` after (for the LZ4 frame's header and end mark)."""
    import cupy as cp
    from nvidia import nvcomp

    from pxos.host.pipeline.frame_kernel import pack_chunks

    stream = cp.cuda.get_current_stream().ptr
    nv = _codec(codec, stream)
    n = -(-len(piece) // CHUNK)
    lengths = [min(CHUNK, len(piece) - i * CHUNK) for i in range(n)]
    stride = _stride(codec, nv, piece)
    slots = cp.empty(n * stride, cp.uint8)
    srcs = nvcomp.as_arrays(piece, [i * CHUNK for i in range(n)], lengths, stream)
    out = nvcomp.as_arrays(slots, [i * stride for i in range(n)], [stride] * n, stream)
    done = nv.encode(srcs, out=out)
    sizes = np.asarray(done.buffer_sizes, np.int64)  # waits for the batch
    if len(sizes) != n or (sizes <= 0).any() or (sizes >= stride).any():
        raise PxRuntimeError(f"nvCOMP {ALGORITHMS[codec]} returned chunk sizes outside "
                             f"1 … {stride - 1} bytes (a pxos bug; please report it)")
    if codec == "lz4":  # a block that did not shrink is stored
        sizes = np.where(sizes < lengths, sizes, -np.asarray(lengths, np.int64))
    head = HEAD[codec]
    records = np.abs(sizes) + head + TAIL[codec]
    starts = np.cumsum(records) - records + head + lead
    packed = cp.empty(lead + int(records.sum()) + tail, cp.uint8)
    span = max(head, int(np.abs(sizes).max()))  # threads per chunk
    pack_chunks(slots, piece, packed, cp.asarray(sizes.astype(np.int32)),
                cp.asarray(starts.astype(np.int32)), stride, CHUNK, head, span,
                device="cuda", threads=(n * span,))
    if codec == "deflate":  # each chunk a gzip member: its header and trailer
        from pxos.host.pipeline.gzip_members import member_bytes

        at, values = member_bytes(piece, CHUNK, starts, sizes, "cuda")
        packed[cp.asarray(at)] = cp.asarray(values)
    return packed


def gpu_compress(data, codec: str, level: int | None = None):
    """``data`` (a 1-D u8 CuPy or NumPy array) compressed by nvCOMP on the current CUDA
    device into the standard stream of ``codec`` (module docstring), as an array of the
    data's module.

    Raises:
        PxArgumentError: a ``level`` other than the codec's default (nvCOMP has none).
    """
    import cupy as cp

    from pxos.host.pipeline.codecs import LEVELS

    if level is not None and level != LEVELS[codec][1]:
        raise PxArgumentError(f"nvCOMP has no {codec} levels; LEVEL {level} runs on the "
                              "host only (leave it out, or use device host)")
    on_gpu = not isinstance(data, np.ndarray)
    src = cp.ascontiguousarray(data) if on_gpu else cp.asarray(data)
    if src.data.ptr % 16:  # nvCOMP's chunks must be aligned (a view into an array)
        src = src.copy()
    if not len(src):  # the host writes the empty stream (zstd: one empty frame)
        import gzip

        from pxos.host.pipeline.codecs import compress
        out = (np.frombuffer(gzip.compress(b"", mtime=0), np.uint8) if codec == "deflate"
               else compress(np.zeros(0, np.uint8), codec))
        return cp.asarray(out) if on_gpu else out
    head = lz4_frame.header(CHUNK, len(src)) if codec == "lz4" else b""
    tail = lz4_frame.END_MARK if codec == "lz4" else b""
    pieces = range(0, len(src), PIECE)
    parts = [compress_piece(src[lo:lo + PIECE], codec, len(head) if lo == 0 else 0,
                            len(tail) if lo + PIECE >= len(src) else 0) for lo in pieces]
    out = parts[0] if len(parts) == 1 else cp.concatenate(parts)
    if head:
        out[:len(head)] = cp.asarray(np.frombuffer(head, np.uint8))
        out[len(out) - len(tail):] = cp.asarray(np.frombuffer(tail, np.uint8))
    cp.cuda.get_current_stream().synchronize()
    return out if on_gpu else out.get()
