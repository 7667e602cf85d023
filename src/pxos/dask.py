"""``pxos.dask``: pxos kernels over Dask arrays (``pxos.lib.dask``, ``docs/dask.md``)."""
from pxos.lib.dask import *  # noqa: F401,F403
