"""Reading the NIST CAVP / RFC test vectors that the ``cryptography_vectors`` package ships."""

from __future__ import annotations

from pathlib import Path

import pytest

vectors = pytest.importorskip("cryptography_vectors")
ROOT = Path(vectors.__file__).parent


def records(relpath: str) -> list[dict[str, str]]:
    """The ``NAME = value`` records of a vector file, each with its ``[section]`` lines."""
    out, current, section = [], {}, {}
    for line in (ROOT / relpath).read_text().splitlines() + [""]:
        line = line.strip()
        if line.startswith("[") and line.endswith("]"):
            key, _, value = line[1:-1].partition(" = ")
            section = {**section, key.strip(): value.strip()} if value else {key: ""}
        elif " = " in line or line.endswith(" ="):
            key, _, value = line.partition(" =")
            current[key.strip().upper()] = value.strip()
        elif not line.startswith("#") and current:
            out.append({**section, **current})
            current = {}
    return out
