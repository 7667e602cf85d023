"""The pipeline kernels as CUDA C: each compiles with NVRTC (no GPU needed); on a machine
with the cuda backend, data resident on the GPU (CuPy) stay there and match the host."""

from __future__ import annotations

import numpy as np
import pytest

from tests.codegen.test_cuda_codegen import nvrtc
from tests.conftest import BACKENDS

from pxos.codegen.cuda import render_cuda
from pxos.host import pipeline
from pxos.host.pipeline.aes_kernel import aes256_ctr_blocks
from pxos.host.pipeline.chacha_kernel import chacha20_blocks
from pxos.host.pipeline.crc32c_kernel import crc32c_chunks
from pxos.host.pipeline.frame_kernel import pack_chunks
from pxos.host.pipeline.ghash_kernel import ghash_chunks
from pxos.host.pipeline.sha256_kernel import sha256_padded_rows

U32, U64, U8 = np.zeros(64, np.uint32), np.zeros(8, np.uint64), np.zeros(64, np.uint8)
CALLS = {
    "aes256_ctr": (aes256_ctr_blocks, (U32, U32, U32, U32, U32) + (np.uint32(0),) * 4 + (0,)),
    "chacha20": (chacha20_blocks, (U32, U32, U32[:8], U32[:3], np.uint32(0))),
    "sha256": (sha256_padded_rows, (U32.reshape(4, 16), U32.reshape(8, 8), U32, U32[:8])),
    "crc32c": (crc32c_chunks, (U8, U32, U32, 4, 0)),
    "pack_chunks": (pack_chunks, (U8, U8, U8, U32.view(np.int32), U32.view(np.int32), 8, 8, 4,
                                  8)),
    "ghash": (ghash_chunks, (U64, U64, np.uint64(1), np.uint64(2), 4, 0, 1)),
}


@pytest.mark.parametrize("checked", [False, True], ids=["plain", "checked"])
@pytest.mark.parametrize("name", sorted(CALLS))
def test_kernels_compile_with_nvrtc(name, checked):
    compile_cubin = nvrtc()
    kern, args = CALLS[name]
    path, _ = compile_cubin(render_cuda(kern.ir(*args, threads=(4,)), checked), "90")
    assert path.read_bytes()[:4] == b"\x7fELF"


@pytest.mark.skipif("cuda" not in BACKENDS, reason="no cuda backend here")
def test_device_resident_data_stay_on_the_gpu():
    import cupy
    rng = np.random.default_rng(5)
    data = rng.integers(0, 256, 1 << 20, dtype=np.uint8)
    key, nonce = rng.integers(0, 256, 32, dtype=np.uint8), bytes(12)
    on_gpu = cupy.asarray(data)
    for cipher in pipeline.CIPHERS:
        n = bytes(16) if cipher == "aes256ctr" else nonce
        got = pipeline.encrypt(on_gpu, cipher, key, n, device="cuda")
        assert isinstance(got, cupy.ndarray)
        assert (got.get() == pipeline.encrypt(data, cipher, key, n)).all()
        assert (pipeline.decrypt(got, cipher, key, n, device="cuda").get() == data).all()
    rows = cupy.asarray(data[:1024 * 512].reshape(512, 1024))
    assert (pipeline.sha256_rows(rows, device="cuda").get()
            == pipeline.sha256_rows(rows.get())).all()
    assert pipeline.crc32c(on_gpu, device="cuda") == pipeline.crc32c(data)
