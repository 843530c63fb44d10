"""Pseudo-relevance feedback (RM3): expand a query with its best articles' words.

The articles a query ranks highest tend to be about what the reader means,
and they use words the reader did not type ("airfoil" for a question about
"wings"). RM3 estimates a relevance model from them: each top article `D`
votes for its words `t` with `P(t|D) · P(D|Q)`, where `P(t|D)` is the
word's share of the article's words and `P(D|Q)` the article's share of the
top scores. The `EXPANSION_TERMS` words with the most votes, other than the
query's own, are added to the query with their weights, and the original
query keeps `ORIGINAL_WEIGHT` of the total.

This is off by default (the app's `FEEDBACK` setting): it costs a second
evaluation, and `make eval` decides whether it earns it. This module is pure
arithmetic on texts already analyzed; it never reads the index.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence

#: Top articles that vote.
FEEDBACK_DOCS = 10
#: Words added to the query.
EXPANSION_TERMS = 20
#: Share of the final query kept by the reader's own words.
ORIGINAL_WEIGHT = 0.5


def expansion(documents: Sequence[Iterable[str]], scores: Sequence[float],
              exclude: set[str], count: int = EXPANSION_TERMS) -> list[tuple[str, float]]:
    """The `count` words with the most votes (see the module docstring), with
    weights summing to 1; `documents` are the top articles' index terms."""
    total = float(sum(max(s, 0.0) for s in scores)) or 1.0
    votes: Counter[str] = Counter()
    for terms, score in zip(documents, scores, strict=True):
        counts = Counter(terms)
        length = sum(counts.values())
        if not length or score <= 0:
            continue
        share = score / total
        for term, n in counts.items():
            if term not in exclude and not term.isdigit() and len(term) > 2:
                votes[term] += share * n / length
    top = votes.most_common(count)
    mass = sum(v for _t, v in top) or 1.0
    return [(t, v / mass) for t, v in top]
