"""IR passes: checked kernels rewritten before rendering, so every target gets them alike.

- ``checked``: every array index wrapped in an explicit bounds check (checked mode), as
  Taichi's ``check_out_of_bound`` pass does;
- ``fission``: the thread code of a kernel with barriers split into regions and block
  loops, for targets that run a block's threads as a loop (the C target);
- ``uniform``: assignments whose value is the same for every thread of a block taken out of
  the thread code, to be computed once per block (the C target).

Each pass takes a checked kernel (``ir.check.check_kernel``) and returns IR; ``rewrite``
holds the expression rewriting they share.
"""
