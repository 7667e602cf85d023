"""``pxos.ternary``: the balanced-ternary library (``pxos.lib.ternary``, ``docs/ternary.md``)."""
from pxos.lib.ternary import *  # noqa: F401,F403
