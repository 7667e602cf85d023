"""The Python front-end: a ``@pxos.kernel`` function to the IR the `.px` front-end makes."""
