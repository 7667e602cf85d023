"""``pxos export``: a kernel as a standalone CUDA C program (being written)."""
