"""Vectors of parts of a text from one run of the model over the whole text.

A sentence's vector is the mean of its tokens' outputs where the model read the whole chunk
around it (its words in context, "late chunking"), so the reader's sentence vectors come from
the pass that embeds the chunk instead of a second pass over every sentence.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray


def span_means(
    tokens: NDArray[np.float32],
    offsets: Sequence[tuple[int, int]],
    special: Sequence[int],
    spans: Sequence[tuple[int, int]],
    dimension: int,
) -> NDArray[np.float32]:
    """Per span, the mean of the output rows of the (non-special) tokens inside it; NaN where the
    text was cut before the span's end or no token lies inside it."""
    import numpy as np

    rows = np.full((len(spans), dimension), np.nan, dtype="float32")
    if not len(spans):
        return rows
    real = [i for i, flag in enumerate(special) if not flag and offsets[i][1] > offsets[i][0]]
    starts = np.array([offsets[i][0] for i in real])
    ends = np.array([offsets[i][1] for i in real])
    last = int(ends.max()) if len(real) else 0
    for row, (s, e) in enumerate(spans):
        if e > last:
            continue  # cut by max_length: the span was not read whole
        inside = [real[j] for j in np.flatnonzero((starts >= s) & (ends <= e))]
        if inside:
            rows[row] = tokens[inside].mean(axis=0)
    return rows
