"""``pxos.diversity``: diversity sequences over embeddings (``pxos.lib.diversity``)."""
from pxos.lib.diversity import *  # noqa: F401,F403
from pxos.lib.diversity import __all__  # noqa: F401
