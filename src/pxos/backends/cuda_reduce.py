"""``REDUCE SUM`` of a CuPy array in one launch: vectorized loads, a grid sized to the GPU.

``cupy.sum(x, dtype=float64)`` of ``float32`` data (the language accumulates float sums in
``f64``, ``docs/language.md``) runs CuPy's generic reduction, at about half the bandwidth
of ``cupy.sum(x)``'s CUB path. This kernel reads the array once at the memory roofline:

* a grid of ``BLOCKS_PER_SM`` blocks of ``THREADS`` threads per multiprocessor, each
  thread striding over the array with 16-byte loads (``float4``, ``double2``, ``int4``,
  ``longlong2``) where the data is 16-byte aligned, ``UNROLL`` of them issued before the
  adds (each into its own accumulator), then the tail element by element;
* each element converted to the accumulator (``double`` for floats; ``unsigned long
  long`` for integers, signed ones sign-extended: the sum wraps modulo 2⁶⁴, so any order
  gives the exact result NumPy's ``i64``/``u64`` sum gives);
* a warp-shuffle tree per block, each block's sum stored in a partial array, and the last
  block to finish (a counter incremented with ``atomicInc``, after ``__threadfence``;
  CUDA C Programming Guide, "Memory Fence Functions", the ``sum`` example) adds the
  partial sums: its thread ``t`` adds blocks ``t``, ``t + 512``, … in order, then the same
  shuffle tree. For a given array size and GPU the grid is fixed, and so is every
  thread's order, so the float result is the same on every run (a fixed summation tree;
  not NumPy's pairwise order: it differs from ``numpy.sum`` by rounding only);
* the last block writes the sum into page-locked host memory, which the host reads
  once the stream is done (no copy);
* ``__launch_bounds__(THREADS, BLOCKS_PER_SM)``: at most 32 registers a thread, so that
  all the blocks of the grid are resident at once (``ptxas`` gives the ``f32``/``f64``
  kernels 40 without it: three blocks a multiprocessor, and the fourth runs as a second,
  quarter-full wave).

Element types other than ``f32``, ``f64``, ``i32``, ``u32``, ``i64``, ``u64`` (and other
operations) go through CuPy as before.
"""

from __future__ import annotations

import ctypes
import threading
from functools import cache

import numpy as np


THREADS = 512
BLOCKS_PER_SM = 4
UNROLL = 4  # 16-byte loads in flight per thread before the adds (1 for 32-bit integers:
# their sign- or zero-extension to 64 bits needs registers that 4 would spill at 32)
# element dtype -> (C type, accumulator C type, 16-byte vector type, elements per vector)
TYPES = {
    np.dtype(np.float32): ("float", "double", "float4", 4),
    np.dtype(np.float64): ("double", "double", "double2", 2),
    np.dtype(np.int32): ("int", "unsigned long long", "int4", 4),
    np.dtype(np.uint32): ("unsigned int", "unsigned long long", "uint4", 4),
    np.dtype(np.int64): ("long long", "unsigned long long", "longlong2", 2),
    np.dtype(np.uint64): ("unsigned long long", "unsigned long long", "ulonglong2", 2),
}

# element dtype -> the sum's dtype (ir.check_host.reduce_type: floats f64, unsigned u64)
RESULT = {d: np.dtype(np.float64 if d.kind == "f" else np.uint64 if d.kind == "u" else np.int64)
          for d in TYPES}

SOURCE = r"""
__device__ __forceinline__ ACC pxos_warp_sum(ACC v)
{
    for (int o = 16; o > 0; o >>= 1) v += __shfl_down_sync(0xffffffffu, v, o);
    return v;
}

__device__ ACC pxos_block_sum(ACC v, ACC *warps)
{
    int lane = threadIdx.x & 31, w = threadIdx.x >> 5;
    v = pxos_warp_sum(v);
    if (lane == 0) warps[w] = v;
    __syncthreads();
    v = threadIdx.x < (blockDim.x >> 5) ? warps[threadIdx.x] : (ACC)0;
    if (w == 0) v = pxos_warp_sum(v);
    return v;  /* the block's sum, in thread 0 */
}

extern "C" __global__ void __launch_bounds__(THREADS, BLOCKS_PER_SM)
pxos_reduce_sum(const IN *__restrict__ x, long long n, ACC *partial, unsigned int *done,
                ACC *out)
{
    __shared__ ACC warps[32];
    __shared__ bool last;
    long long tid = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    long long stride = (long long)gridDim.x * blockDim.x;
    ACC acc = 0;
    long long head = 0;
#if VEC > 1
    const VTYPE *xv = (const VTYPE *)x;
    long long nv = n / VEC;
    long long i = tid;
    /* UNROLL loads issued before any add: 64 bytes in flight a thread (Volkov, "Better
       performance at lower occupancy", GTC 2010), each into its own accumulator */
#if UNROLL > 1
    ACC part[UNROLL] = {0};
    for (; i + (UNROLL - 1) * stride < nv; i += UNROLL * stride) {
        VTYPE v[UNROLL];
#pragma unroll
        for (int u = 0; u < UNROLL; u++) v[u] = xv[i + u * stride];
#pragma unroll
        for (int u = 0; u < UNROLL; u++) {
            part[u] += (ACC)v[u].x; part[u] += (ACC)v[u].y;
#if VEC > 2
            part[u] += (ACC)v[u].z; part[u] += (ACC)v[u].w;
#endif
        }
    }
#pragma unroll
    for (int u = 0; u < UNROLL; u++) acc += part[u];
#endif
#pragma unroll 4
    for (; i < nv; i += stride) {
        VTYPE v = xv[i];
        acc += (ACC)v.x; acc += (ACC)v.y;
#if VEC > 2
        acc += (ACC)v.z; acc += (ACC)v.w;
#endif
    }
    head = nv * VEC;
#endif
    for (long long i = head + tid; i < n; i += stride) acc += (ACC)x[i];
    acc = pxos_block_sum(acc, warps);
    if (threadIdx.x == 0) {
        partial[blockIdx.x] = acc;
        __threadfence();
        /* wraps back to 0 at the last block: the counter is ready for the next launch */
        last = atomicInc(done, gridDim.x - 1) == gridDim.x - 1;
    }
    __syncthreads();
    if (!last) return;
    acc = 0;
    for (unsigned int i = threadIdx.x; i < gridDim.x; i += blockDim.x)
        acc += ((volatile ACC *)partial)[i];
    __syncthreads();  /* warps[] is reused */
    acc = pxos_block_sum(acc, warps);
    if (threadIdx.x == 0) *out = acc;
}
"""


def cuda_sum(x):
    """The sum of CuPy array ``x`` as a NumPy scalar (``f64`` for float elements,
    ``i64``/``u64`` for signed/unsigned integers, as ``ir.check_host.reduce_type`` says),
    or None where this kernel does not cover ``x`` (its dtype, an empty or a strided
    array: the caller uses CuPy).

    Raises:
        cupy.cuda.driver.CUDADriverError: the launch failed (a pxos bug).
        cupy.cuda.runtime.CUDARuntimeError: the kernel failed (a pxos bug).
    """
    result_dtype = RESULT.get(x.dtype)
    if result_dtype is None or x.size == 0 or not x.flags.c_contiguous:
        return None
    get_device, stream_ptr = _cupy_api()
    device = x.data.device_id
    if device != get_device():  # run on the GPU that holds x
        with x.device:
            return cuda_sum(x)
    key = (device, stream_ptr(), x.dtype, x.data.ptr % 16 == 0)
    launcher = _launchers.get(key) or _new_launcher(key)
    return launcher.sum(x, result_dtype)


@cache
def _cupy_api() -> tuple:
    """CuPy's current device and current stream's handle, as two functions (looked up
    once: an import statement in each call costs a microsecond)."""
    import cupy
    from cupy.cuda import runtime, stream

    current = getattr(stream, "get_current_stream_ptr", None)  # CuPy 13 and later
    return runtime.getDevice, current or (lambda: cupy.cuda.get_current_stream().ptr)


class _Launcher:
    """The sum kernel of one element type bound to one :class:`_Workspace`:
    its parameters packed once (``cuLaunchKernel`` takes a pointer to each value and
    copies them at the call), so a sum sets the array's address and size, calls the
    driver (``cupy.cuda.driver.launchKernel``) and reads the sum in host memory once the
    stream is done (spinning on the sum's bits in host memory instead was slower on the
    H200: ``benchmarks/reduce_variants.py``). The workspace's lock keeps two threads from
    sharing the parameters, the block counter and the result at once."""

    def __init__(self, kernel, workspace: _Workspace, stream: int):
        from cupy.cuda import driver, runtime

        self.launch, self.wait = driver.launchKernel, runtime.streamSynchronize
        self.space, self.function, self.stream = workspace, kernel.kernel.ptr, stream
        self.values = (ctypes.c_uint64 * 5)(0, 0, workspace.partial.data.ptr,
                                            workspace.done.data.ptr, workspace.out)
        base = ctypes.addressof(self.values)
        self.pointers = (ctypes.c_void_p * 5)(*(base + 8 * i for i in range(5)))
        self.address = ctypes.addressof(self.pointers)

    def sum(self, x, result_dtype: np.dtype) -> np.generic:
        """Sum ``x`` (contiguous, of this launcher's type, on its device); the result's
        eight bytes as a NumPy scalar of ``result_dtype`` (``f64``, ``i64`` or ``u64``).

        Raises:
            cupy.cuda.runtime.CUDARuntimeError: the kernel failed.
        """
        space = self.space
        blocks = max(1, min(space.partial.size, -(-x.size // THREADS)))
        with space.lock:
            self.values[0], self.values[1] = x.data.ptr, x.size
            self.launch(self.function, blocks, 1, 1, THREADS, 1, 1, 0, self.stream,
                        self.address, 0)
            self.wait(self.stream)
            return space.result.view(result_dtype)[0]  # a scalar: a copy


_launchers: dict = {}


def _new_launcher(key: tuple) -> _Launcher:
    """The launcher of ``key`` (device, stream handle, element dtype, 16-byte aligned),
    made on the current device and stream."""
    _, ptr, dtype, aligned = key
    acc = np.dtype(np.float64 if TYPES[dtype][1] == "double" else np.uint64)
    found = _launchers[key] = _Launcher(_kernel(dtype, aligned), _workspace(acc), ptr)
    return found


class _Workspace:
    """What the reductions on one device and stream share, made at their first use and
    kept: ``partial`` has a slot for each block of the largest grid (``BLOCKS_PER_SM``
    per multiprocessor); ``done``, the block counter, which the kernel leaves at 0 when it
    ends, so a launch needs no memset; 8 bytes of page-locked host memory the kernel
    writes the sum into (``result``, a NumPy view) (under unified addressing, "page-locked host memory allocated through
    ``cudaHostAlloc`` is directly accessible from all devices": CUDA C Programming
    Guide, "Unified Virtual Address Space"), so fetching the sum takes no copy;
    ``lock``, held from a launch to the read of its sum. One per stream, so reductions
    on two streams never share one."""

    def __init__(self, acc_dtype: np.dtype):
        import cupy

        most = cupy.cuda.Device().attributes["MultiProcessorCount"] * BLOCKS_PER_SM
        self.partial = cupy.empty(most, acc_dtype)
        self.done = cupy.zeros(1, np.uint32)
        self.pinned = cupy.cuda.alloc_pinned_memory(8)
        self.out = self.pinned.ptr  # a device pointer too, under UVA
        self.result = np.frombuffer(self.pinned, acc_dtype, 1)
        self.lock = threading.Lock()


_workspaces: dict = {}


def _workspace(acc_dtype: np.dtype) -> _Workspace:
    """The :class:`_Workspace` of ``acc_dtype`` sums on the current device and stream."""
    import cupy

    key = (cupy.cuda.Device().id, cupy.cuda.get_current_stream().ptr, acc_dtype)
    found = _workspaces.get(key)
    if found is None:
        found = _workspaces[key] = _Workspace(acc_dtype)
    return found


_kernels: dict = {}


def kernel_source(dtype: np.dtype, aligned: bool = True) -> str:
    """The CUDA C of the sum kernel ``pxos_reduce_sum`` for elements of ``dtype`` (a key of
    :data:`TYPES`), with 16-byte loads where ``aligned``."""
    elem, acc, vtype, vec = TYPES[np.dtype(dtype)]
    return (f"#define IN {elem}\n#define ACC {acc}\n#define VTYPE {vtype}\n"
            f"#define VEC {vec if aligned else 1}\n#define THREADS {THREADS}\n"
            f"#define BLOCKS_PER_SM {BLOCKS_PER_SM}\n"
            f"#define UNROLL {UNROLL if acc == 'double' or vec == 2 else 1}\n") + SOURCE


def _kernel(dtype: np.dtype, aligned: bool):
    """The compiled kernel for one element type (CuPy caches the binary on disk too)."""
    key = (dtype, aligned)
    if key not in _kernels:
        import cupy

        _kernels[key] = cupy.RawKernel(kernel_source(dtype, aligned), "pxos_reduce_sum")
    return _kernels[key]
