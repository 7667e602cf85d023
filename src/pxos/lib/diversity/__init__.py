"""Diversity sequences over embeddings (issue 17): for each start, an ordering of all items,
each next item the one least similar to the sum of those before it.

``pxos.diversity`` re-exports this package; ``docs/diversity.md`` is its guide.
"""

from pxos.lib.diversity.cache import sequences
from pxos.lib.diversity.engine import sequence, similarity
from pxos.lib.diversity.inputs import DiversityError
from pxos.lib.diversity.reference import is_valid, reference_sequence, step_gaps

__all__ = ["DiversityError", "is_valid", "reference_sequence", "sequence", "sequences",
           "similarity", "step_gaps"]
