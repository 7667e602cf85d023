"""``pxos.inference``: model inference and compression (``pxos.lib.inference``, ``docs/inference.md``)."""
from pxos.lib.inference import *  # noqa: F401,F403
