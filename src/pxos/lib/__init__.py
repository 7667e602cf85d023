"""Libraries built on pxos's public API (DESIGN.md, ``lib/``): each owns one folder."""
