"""What kind of array an object is, for any array library (NumPy, CuPy, PyTorch, pxos's
own ``pxos.ndarray``, any object with ``__cuda_array_interface__``).

The bottom layer, beside ``errors``: the planner, the host layer and the libraries ask
these questions of their arguments without importing one another (tests/test_layers.py).
NumPy is imported on first use, so importing this module stays cheap.
"""

from __future__ import annotations

from pxos import registry

# the kinds of array (:func:`library_of`) whose memory is a device's (a backend's libraries
# in ``pxos.registry``: CuPy, CUDA PyTorch, ``__cuda_array_interface__`` objects)
DEVICE_LIBRARIES = registry.device_libraries()


def is_array(obj) -> bool:
    """Whether a kernel argument is an array (of NumPy, CuPy, PyTorch, pxos, or a
    planner's stand-in: anything with a shape) rather than a scalar (NumPy scalars have a
    shape too, ``()``)."""
    import numpy as np

    return hasattr(obj, "shape") and not isinstance(obj, np.generic)


def library_of(obj) -> str:
    """Which library's array ``obj`` is: ``pxos``, ``numpy``, ``cupy``, ``torch-cpu``,
    ``torch-cuda``, ``cuda`` (another object with ``__cuda_array_interface__``), or
    ``other``."""
    import numpy as np

    module = type(obj).__module__.split(".", 1)[0]
    if module == "pxos":  # pxos.host.arrays.ndarray
        return "pxos"
    if isinstance(obj, np.ndarray):
        return "numpy"
    if module == "cupy":
        return "cupy"
    if module == "torch":
        return "torch-cuda" if obj.is_cuda else "torch-cpu"
    if hasattr(obj, "__cuda_array_interface__"):
        return "cuda"
    return "other"


def numpy_dtype(dtype):
    """The NumPy dtype of a NumPy, CuPy or PyTorch dtype (``torch.float32`` -> float32).

    Raises:
        TypeError: a dtype with no NumPy counterpart of the same name.
    """
    import numpy as np

    try:
        return np.dtype(dtype)
    except TypeError:
        return np.dtype(str(dtype).rsplit(".", 1)[-1])
