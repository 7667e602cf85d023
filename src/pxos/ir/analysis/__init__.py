"""Analysis of checked kernels: access patterns and divergence (``access``), loop trip
counts (``trips``) and cost features (``features``), read by the planner and the advisor."""
