""""Relevance + recency": a relevance score multiplied by a decay on age.

An article `half_life` days older than another scores half as much for the
same words: `factor = 0.5 ** (age / half_life)`. Age is counted from the
archive's newest article, not from today, so a 1987 archive is not all
"old" (the ratio between two articles is the same whichever day ages are
counted from, but the factors stay readable). An undated article gets the
factor of the median age of the dated articles among the results: neither
favoured nor dropped.

This module only computes factors over arrays; it never touches an index.
"""

from __future__ import annotations

import numpy as np

#: The default half-life, in days (the app's `RECENCY_HALF_LIFE_DAYS`).
HALF_LIFE_DAYS = 365.0


def factors(days: np.ndarray, newest: int, half_life: float = HALF_LIFE_DAYS) -> np.ndarray:
    """The decay factor of each article, from its day ordinal (-1: undated).

    `newest` is the day ordinal ages are counted from (the archive's newest
    article). Undated articles get the factor of the dated ones' median age.
    """
    days = np.asarray(days)
    dated = days >= 0
    age = np.maximum(newest - days, 0).astype(np.float64)
    if dated.any():
        age[~dated] = float(np.median(age[dated]))
    else:
        age[:] = 0.0
    return np.power(0.5, age / max(float(half_life), 1e-9))
