"""A ``@pxos.kernel`` called with the arrays of a collection a library handles (Dask).

``host/pykernel`` meets an argument of no known kind, asks ``registry.collection_of``
whether it belongs to a collection (``dask``) and, if so, hands the whole call to the
handler that library registered when it was imported (``pxos.dask``: a lazy Dask graph).
Until that library is imported such an argument is refused, naming it, rather than read
as an array (which would compute a Dask array and lose what the kernel writes).
"""

from __future__ import annotations

from pxos import registry
from pxos.errors import PxArgumentError


class CollectionArgument(Exception):
    """Raised by ``Kernel._launch`` for an argument of an array collection (its name)."""


def collection_call(collection: str, kernel, args, device, threads, checked):
    """The result of the handler of ``collection`` for this call.

    Raises:
        PxArgumentError: the library that handles ``collection`` is not imported.
    """
    handler = registry.COLLECTIONS.get(collection)
    if handler is None:
        library = registry.COLLECTION_LIBRARIES[collection]
        raise PxArgumentError(f"kernel {kernel.__name__!r} called with {collection} arrays",
                              hint=f"import {library} first: it runs kernels over them")
    return handler(kernel, args, device=device, threads=threads, checked=checked)
