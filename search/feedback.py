"""Pseudo-relevance feedback (RM3): weigh a query's words by its best articles.

The articles a query ranks highest tend to be about what the reader means,
and they use words the reader did not type ("airfoil" for a question about
"wings"), and repeat the reader's own words that matter most. RM3 estimates
a relevance model from them: each top article `D` votes for each of its
words `t` with `P(t|D) · P(D|Q)`, where `P(t|D)` is the word's share of the
article's words and `P(D|Q)` the article's weight among the voters
(`article_weights`). The
`EXPANSION_TERMS` words with the most votes (the query's own words among
them, as in RM3) make the model `P(t|R)`, and the final query is

    ORIGINAL_WEIGHT · (the query, 1/n for each of its n words)
      + (1 - ORIGINAL_WEIGHT) · P(t|R).

The query part is the word score already worked out, so `boosts` scales the
model's words to it: each weighs `(1 - λ) / λ · n · P(t|R)` times its BM25F
score, and the reader's words keep their own scale (what proximity and
meaning add later is in the same units). The constants are the usual ones
(ten articles, half the weight kept by the query).

**Who votes how much.** Lavrenko's relevance model takes `P(D|Q)` from the
query's likelihood under each article, a product of word probabilities:
an article that matches the query clearly better outweighs the rest by far.
Shares of BM25 scores do not: the tenth article, often about something
else that shares a common query word, scored nearly what the first did and
voted nearly as much, and its words pulled the ranking towards its own
subject. A BM25 score is a sum of log-odds weights (it descends from the
Robertson–Spärck Jones model), so `exp(score)` is what a likelihood ratio
would be; `article_weights` takes `exp((s - best) / (SHARPNESS · best))`, the
temperature relative to the best score so that a long query's larger sums
do not make the vote sharper than a short one's. With `SHARPNESS` 0.1 an
article 10% below the best votes 0.37 times as much, 30% below 0.05 times.
On three judged collections (Cranfield, CISI and CACM, both query forms)
this lifted nDCG@10 on all six; on CACM, whose many title-only records let
the lower voters' few words dominate, by 0.027 to 0.029.

Only the best `CANDIDATES` articles are scored again, so the cost is the
top articles' first `MAX_CHARS` characters analyzed once per generation and
a lookup per model word and candidate, whatever the archive's size; the
model words stay within the search's postings budget. This module is pure
arithmetic on texts already analyzed; it never reads the index.
"""

from __future__ import annotations

import heapq
import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence

#: Top articles that vote.
FEEDBACK_DOCS = 10
#: Words in the relevance model (the query's own words included).
EXPANSION_TERMS = 20
#: Voters that must hold a word for it to enter the model (Terrier's
#: `expansion.mindocuments`): a word only one article has is that article's
#: own (a name, a catalogue number), not the subject the best articles share.
MIN_VOTERS = 2
#: How sharply the best articles outvote the others (see `article_weights`).
SHARPNESS = 0.1
#: Share of the final query kept by the reader's own words (RM3's λ).
ORIGINAL_WEIGHT = 0.5
#: Best-ranked articles scored again with the model's words.
CANDIDATES = 100
#: Characters of a voting article read (its title and lead carry its subject).
MAX_CHARS = 1500


def document_model(terms: Iterable[str]) -> dict[str, float]:
    """`P(t|D)`: each word's share of an article's index terms `terms`.
    Numbers and words of one or two letters are left out (after counting
    the length): they say little about a subject."""
    counts = Counter(terms)
    length = sum(counts.values())
    if not length:
        return {}
    return {t: n / length for t, n in counts.items()
            if len(t) > 2 and any(c.isalpha() for c in t)}


def article_weights(scores: Sequence[float], sharpness: float = SHARPNESS) -> list[float]:
    """`P(D|Q)` of each voting article from its score (see the module
    docstring): `exp((s - best) / (sharpness · best))`, normalized to sum to
    1; an article with no positive score gets 0."""
    best = max(scores, default=0.0)
    if best <= 0:
        return [0.0] * len(scores)
    raw = [math.exp((s - best) / (sharpness * best)) if s > 0 else 0.0 for s in scores]
    total = sum(raw)
    return [r / total for r in raw]


def relevance_model(documents: Sequence[Mapping[str, float]], scores: Sequence[float],
                    count: int = EXPANSION_TERMS) -> list[tuple[str, float]]:
    """The `count` words with the most votes (see the module docstring) and
    their share `P(t|R)` of those votes; `documents` are the top articles'
    `document_model`s, `scores` their scores. Only words that at least
    `MIN_VOTERS` of the voting articles hold take part."""
    votes: dict[str, float] = {}
    voters: Counter[str] = Counter()
    for model, share in zip(documents, article_weights(scores), strict=True):
        if share <= 0:
            continue
        voters.update(model.keys())
        for term, p in model.items():
            votes[term] = votes.get(term, 0.0) + share * p
    votes = {t: v for t, v in votes.items() if voters[t] >= MIN_VOTERS}
    top = heapq.nlargest(count, votes.items(), key=lambda tv: tv[1])
    mass = sum(v for _t, v in top) or 1.0
    return [(t, v / mass) for t, v in top]


def boosts(model: Sequence[tuple[str, float]], query_words: int,
           original_weight: float = ORIGINAL_WEIGHT) -> list[tuple[str, float]]:
    """Each model word's weight against the query's own score (see the
    module docstring)."""
    n = max(query_words, 1)
    scale = (1 - original_weight) / original_weight * n
    return [(t, scale * p) for t, p in model]
