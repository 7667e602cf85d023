"""``pxos.crypto``: encryption and hashing on the CPU libraries or on pxos kernels.

    >>> import pxos.crypto
    >>> pxos.crypto.sha256(b"abc").tobytes().hex()[:16]
    'ba7816bf8f01cfea'

``encrypt``/``decrypt`` take ``cipher`` = ``aes256ctr`` | ``aes256gcm`` | ``chacha20``, a
32-byte key and a nonce (16-byte counter block, 12 bytes, 12 bytes); every function takes
``device="host"`` (the CPU libraries) or a pxos backend name. See docs/pipelines.md.
"""

from pxos.host.pipeline import CIPHERS, crc32c, decrypt, devices, encrypt, sha256
from pxos.host.pipeline import sha256_rows as sha256_batch

__all__ = ["CIPHERS", "crc32c", "decrypt", "devices", "encrypt", "sha256", "sha256_batch"]
