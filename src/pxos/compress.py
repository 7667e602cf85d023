"""``pxos.compress``: zstd, lz4 and deflate (zlib container) on the host.

    >>> import pxos.compress
    >>> packed = pxos.compress.compress(b"abc" * 1000, "zstd")
    >>> pxos.compress.decompress(packed, "zstd").tobytes() == b"abc" * 1000
    True
"""

from pxos.host.pipeline import CODECS, compress, decompress

__all__ = ["CODECS", "compress", "decompress"]
