"""The WebGPU backend ``webgpu``: WGSL kernels run through wgpu-py (wgpu-native).

wgpu-native runs WGSL on Vulkan, Metal or D3D12 (on a CPU-only Linux machine, Mesa's lavapipe
Vulkan driver). The adapter is the high-performance one; the device is asked for the
adapter's own limits and for ``timestamp-query`` where the adapter has it.

Device arrays are :class:`WebGPUArray`: a storage buffer of 4-byte words holding a C-contiguous
array (``bool``, 8- and 16-bit integers widened to ``u32``/``i32``, ``codegen/uniform``). A
launch writes the scalars and extents into a new uniform buffer (``codegen/uniform``), binds
every buffer in ``codegen/wgsl``'s order and dispatches ``grid`` workgroups (a 1-D grid of
more than 65535 blocks folded into rows). Queue order keeps launches and copies in order;
``to_host`` waits. :meth:`WebGPUBackend.launch_timed` gives a launch's GPU time from
timestamp queries (WebGPU §20.4), else the host clock around submission and completion.
Nothing is stored on disk (``suffix`` None): wgpu builds the pipeline in ``load``.
"""

from __future__ import annotations

import os
import tempfile
import time
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Sequence

import numpy as np

from pxos import backends
from pxos.backends.base import DeviceBackend, Launch
from pxos.backends.checked import raise_violation
from pxos.codegen.dialect import KernelSource
from pxos.codegen.signature import ERR_WORDS
from pxos.codegen.uniform import uniform_bytes, word_dtype
from pxos.codegen.wgsl import render_wgsl
from pxos.errors import PxBackendError
from pxos.ir import nodes as ir
from pxos.ir.types import Array

_LIMITS = ("max-compute-invocations-per-workgroup", "max-compute-workgroup-size-x",
           "max-compute-workgroup-size-y", "max-compute-workgroup-size-z",
           "max-storage-buffers-per-shader-stage", "max-storage-buffer-binding-size",
           "max-buffer-size", "max-compute-workgroup-storage-size")
_FEATURES = ("timestamp-query", "shader-f64", "shader-int64", "shader-int64-atomic-all-ops",
             "shader-int64-atomic-min-max")
FOLD = 65535  # WebGPU's default maxComputeWorkgroupsPerDimension


@dataclass
class WebGPUArray:
    """A device array: ``buffer`` (a ``wgpu.GPUBuffer`` of at least 4 bytes) holds
    ``shape`` elements of ``dtype``, one :func:`word_dtype` word each."""

    buffer: Any
    shape: tuple[int, ...]
    dtype: np.dtype

    @property
    def size(self) -> int:
        return int(np.prod(self.shape))


@dataclass
class WebGPUKernel:
    """A built kernel: its WGSL source, compute pipeline and bind group layout."""

    source: KernelSource
    pipeline: Any
    layout: Any


# adapters whose results the suite has verified (benchmarks/webgpu_tests.py), as (a substring
# of the device name, wgpu's backend type); others need PXOS_WEBGPU_UNVERIFIED=1. Mesa's
# lavapipe; NVIDIA's Vulkan driver on the H200 (every webgpu test passed 2026-12-03; 580.159.04)
VERIFIED = (("llvmpipe", "Vulkan"), ("NVIDIA", "Vulkan"))


def verified(info: dict) -> bool:
    """Whether the adapter of wgpu's ``adapter.info`` is one :data:`VERIFIED` names."""
    return any(v in info.get("device", "") and info.get("backend_type") == b for v, b in VERIFIED)


class WebGPUBackend(DeviceBackend):
    """Runs kernels on one WebGPU adapter (see the module docstring). ``on_gpu``: the
    adapter is not a CPU (Mesa's lavapipe reports ``adapter_type`` ``"CPU"``).

    Raises:
        PxBackendError: on construction, if wgpu-py is missing, no adapter or device can
            be created (no Vulkan/Metal/D3D12 driver), or ``$PXOS_WEBGPU`` is ``0``.
    """

    name = "webgpu"
    memory = "webgpu"
    suffix = None  # wgpu-native builds pipelines in memory (load)

    def __init__(self):
        super().__init__()
        if os.environ.get("PXOS_WEBGPU") == "0":  # a machine whose driver stack misbehaves
            raise PxBackendError("the webgpu backend is turned off (PXOS_WEBGPU=0)")
        if not os.environ.get("XDG_RUNTIME_DIR"):  # else Mesa's Vulkan prints errors
            runtime = os.path.join(tempfile.gettempdir(), f"pxos-xdg-{os.getuid()}")
            os.makedirs(runtime, mode=0o700, exist_ok=True)
            os.environ["XDG_RUNTIME_DIR"] = runtime
        try:
            import wgpu
        except (ImportError, OSError) as e:
            raise PxBackendError(f"the webgpu backend needs wgpu-py ({e})",
                                 hint="pip install 'pxos[webgpu]'") from None
        self.wgpu = wgpu
        try:
            adapter = wgpu.gpu.request_adapter_sync(power_preference="high-performance")
            if adapter is None:
                raise RuntimeError("no adapter")
            features = [f for f in _FEATURES if f in adapter.features]
            limits = {k: adapter.limits[k] for k in _LIMITS if k in adapter.limits}
            self.device = adapter.request_device_sync(required_features=features,
                                                      required_limits=limits)
        except (RuntimeError, OSError, wgpu.GPUError) as e:
            raise PxBackendError(f"no WebGPU adapter or device ({e})".splitlines()[0],
                                 hint="install a Vulkan driver (on a CPU: apt-get install "
                                      "mesa-vulkan-drivers), or use --device c") from None
        self.limits = self.device.limits
        self.device_name = adapter.info.get("device", "") or adapter.info.get("vendor", "")
        self.on_gpu = adapter.info.get("adapter_type", "") != "CPU"
        self.verified = verified(adapter.info)
        if not self.verified and os.environ.get("PXOS_WEBGPU_UNVERIFIED") != "1":
            raise PxBackendError(f"the WebGPU adapter {self.device_name!r} is not one the test "
                                 "suite has verified (benchmarks/webgpu_tests.py)", hint=(
                                     "PXOS_WEBGPU_UNVERIFIED=1 uses it anyway, never under "
                                     "--device auto (docs/backends.md); or --device cuda / c"))
        # Mesa's lavapipe (llvmpipe) ends any loop after 65535 iterations (Mesa 22.3,
        # LP_MAX_TGSI_LOOP_ITERATIONS): a longer loop gives wrong results there
        self.loop_limit = 65535 if "llvmpipe" in self.device_name else None
        self.timestamps = "timestamp-query" in features
        self.wide = {"shader-f64", "shader-int64"} <= set(features)  # i64, u64, f64
        self._fence = self.zeros((1,), np.int32).buffer
        self._last: tuple[Any, float, float] | None = None  # (query buffer, t0, t1)

    @cached_property
    def auto_candidate(self) -> bool:
        """Whether ``--device auto`` may choose it: a verified GPU adapter on a GPU that no
        native backend present drives (``backends.native_twin``: CUDA is faster on its own
        GPU). A CPU adapter (lavapipe) is there for correctness tests, run when named."""
        return self.on_gpu and self.verified and backends.native_twin(self) is None

    def render(self, kernel: ir.Kernel, checked: bool) -> tuple[KernelSource, str]:
        """The WGSL of ``kernel``, keyed by its text (``codegen.wgsl.render_wgsl``).

        Raises:
            PxTypeError: the kernel uses a type WGSL lacks (``codegen.wgsl.WgslDialect.admit``).
        """
        src = render_wgsl(kernel, checked, self.wide)
        return src, src.source

    def admit(self, kernel: ir.Kernel) -> None:
        """Refuse a block larger than the device runs in one workgroup (PxBackendError)."""
        threads = int(np.prod(kernel.block))
        limit = self.limits["max-compute-invocations-per-workgroup"]
        if threads > limit:
            raise PxBackendError(f"kernel {kernel.name!r}: a block of {threads} threads is "
                                 f"more than this WebGPU device runs in one workgroup "
                                 f"({limit})", kernel.span, hint="use a smaller GPU_BLOCK")

    def load(self, src: KernelSource, artefact=None) -> WebGPUKernel:
        """Build ``src``'s compute pipeline (``artefact`` is None: nothing is on disk). Raises
        PxBackendError where the shader compiler refuses the code (a pxos bug; with its log)."""
        wgpu, device = self.wgpu, self.device
        arrays = sum(isinstance(p.type, Array) for p in src.kernel.params) + src.checked
        kinds = [wgpu.BufferBindingType.uniform] + [wgpu.BufferBindingType.storage] * arrays
        entries = [{"binding": k, "visibility": wgpu.ShaderStage.COMPUTE, "buffer": {"type": t}}
                   for k, t in enumerate(kinds)]
        try:
            module = device.create_shader_module(code=src.source)
            layout = device.create_bind_group_layout(entries=entries)
            pipeline = device.create_compute_pipeline(
                layout=device.create_pipeline_layout(bind_group_layouts=[layout]),
                compute={"module": module, "entry_point": src.entry})
        except wgpu.GPUError as e:
            raise PxBackendError(f"the WebGPU shader compiler rejected the code generated for "
                                 f"kernel {src.kernel.name!r} (a pxos bug; please report it):"
                                 f"\n{str(e)[-4000:]}", src.kernel.span) from None
        return WebGPUKernel(src, pipeline, layout)

    def launch(self, compiled: WebGPUKernel, args: Sequence[Any], launch: Launch) -> None:
        """Queue the kernel over ``launch``; returns once submitted (checked: once done).

        Args:
            compiled: from :meth:`compile`.
            args: in parameter order: :class:`WebGPUArray` for arrays, NumPy scalars.
            launch: threads and block shape; nothing runs if an axis has 0 threads.

        Raises:
            PxBackendError: a grid axis beyond the device's workgroups per dimension.
            PxBoundsError: a checked kernel indexed outside an array (after waiting).
        """
        grid = launch.grid
        if 0 in grid:
            return
        kernel = compiled.source.kernel
        buffers = [a.buffer for p, a in zip(kernel.params, args) if isinstance(p.type, Array)]
        err = None
        if compiled.source.checked:
            err = self.zeros((ERR_WORDS,), np.int32)
            buffers.append(err.buffer)
        uniform = self.device.create_buffer_with_data(
            data=uniform_bytes(kernel, args, launch.threads),
            usage=self.wgpu.BufferUsage.UNIFORM)
        group = self.device.create_bind_group(layout=compiled.layout, entries=[
            {"binding": k, "resource": {"buffer": b, "offset": 0, "size": b.size}}
            for k, b in enumerate([uniform] + buffers)])
        self._dispatch(compiled, group, self._workgroups(kernel, grid))
        if err is not None:
            out = np.zeros(ERR_WORDS, np.int32)
            self.to_host(err, out)
            raise_violation(kernel, out.astype(np.int64), args)

    def _workgroups(self, kernel: ir.Kernel, grid: tuple[int, ...]) -> tuple[int, int, int]:
        if len(grid) == 1 and grid[0] > FOLD:  # rows of FOLD blocks (codegen/wgsl)
            return FOLD, -(-grid[0] // FOLD), 1
        most = self.limits["max-compute-workgroups-per-dimension"]
        if max(grid) > most:
            raise PxBackendError(f"kernel {kernel.name!r}: {max(grid)} blocks along one axis "
                                 f"is more than WebGPU dispatches ({most})", kernel.span,
                                 hint="use a larger GPU_BLOCK, or another --device")
        return tuple(grid) + (1,) * (3 - len(grid))

    def _dispatch(self, compiled: WebGPUKernel, group, workgroups) -> None:
        wgpu, device = self.wgpu, self.device
        encoder = device.create_command_encoder()
        writes, query = None, None
        if self.timestamps:
            query = device.create_query_set(type=wgpu.QueryType.timestamp, count=2)
            writes = {"query_set": query, "beginning_of_pass_write_index": 0,
                      "end_of_pass_write_index": 1}
        compute = encoder.begin_compute_pass(timestamp_writes=writes)
        compute.set_pipeline(compiled.pipeline)
        compute.set_bind_group(0, group)
        compute.dispatch_workgroups(*workgroups)
        compute.end()
        stamps = None
        if query is not None:
            stamps = device.create_buffer(size=16, usage=wgpu.BufferUsage.QUERY_RESOLVE
                                          | wgpu.BufferUsage.COPY_SRC)
            encoder.resolve_query_set(query, 0, 2, stamps, 0)
        start = time.perf_counter()
        device.queue.submit([encoder.finish()])
        self._last = (stamps, start, time.perf_counter())

    def launch_timed(self, compiled: WebGPUKernel, args: Sequence[Any], launch: Launch) -> float:
        """:meth:`launch`, then wait for it: the seconds its kernel ran on the device
        (timestamp queries), or, where the adapter has none, the seconds from its
        submission until the queue drained. 0.0 for a launch of no threads."""
        self._last = None
        self.launch(compiled, args, launch)
        if self._last is None:
            return 0.0
        stamps, start, _ = self._last
        if stamps is None:
            self.synchronize()
            return time.perf_counter() - start
        ns = np.frombuffer(self.device.queue.read_buffer(stamps), np.uint64)
        return float(ns[1] - ns[0]) * 1e-9

    def synchronize(self) -> None:
        """Wait for every launch and copy submitted to the queue: a read of a 4-byte buffer
        after them (``queue.on_submitted_work_done_sync`` fails in wgpu-py 0.32)."""
        self.device.queue.read_buffer(self._fence)

    def _storage(self, nbytes: int):
        most = self.limits["max-storage-buffer-binding-size"]
        if nbytes > most:
            raise PxBackendError(f"an array of {nbytes} bytes on the device is more than a "
                                 f"WebGPU storage binding holds ({most})",
                                 hint="use another --device for arrays this large")
        usage = self.wgpu.BufferUsage
        return usage.STORAGE | usage.COPY_SRC | usage.COPY_DST, max(nbytes, 4)

    def to_device(self, host: np.ndarray) -> WebGPUArray:
        """A new device array holding a copy of ``host`` (widened to 4-byte words)."""
        words = np.ascontiguousarray(host, dtype=word_dtype(host.dtype))
        usage, size = self._storage(words.nbytes)
        data = words.tobytes() + bytes(size - words.nbytes)
        buffer = self.device.create_buffer_with_data(data=data, usage=usage)
        return WebGPUArray(buffer, tuple(host.shape), host.dtype)

    def to_host(self, device: WebGPUArray, out: np.ndarray) -> None:
        """Copy ``device`` into ``out`` (same shape and dtype) once every launch has finished."""
        if not device.size:
            return
        words = np.frombuffer(self.device.queue.read_buffer(device.buffer),
                              word_dtype(device.dtype), device.size)
        out[...] = words.reshape(device.shape).astype(out.dtype, copy=False)

    def zeros(self, shape: tuple[int, ...], dtype: np.dtype) -> WebGPUArray:
        """A new zero-filled device array (WebGPU zero-fills new buffers, §5.1)."""
        usage, size = self._storage(int(np.prod(shape)) * word_dtype(dtype).itemsize)
        return WebGPUArray(self.device.create_buffer(size=size, usage=usage), tuple(shape),
                           np.dtype(dtype))
