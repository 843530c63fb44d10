"""Relevance, step by step: from word scores to the order of the hits.

`search.embedded.scoring` gives every matching article its word score (BM25F). The
steps here then adjust the best candidates, in this order, each in its own
module:

1. pseudo-relevance feedback, when switched on (`search.feedback`);
2. closeness of the query's words (`search.proximity`);
3. meaning as well as words (`search.semantic`);
4. for "relevance + recency", the decay on age (`search.recency`).

`rank` returns the final scores and a `Trace` of what each step did, from
which `search.embedded.explain` writes "why this result". Nothing here changes which
articles match; only their order.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from whoosh import query as wq

from index.analysis import terms
from search import feedback, proximity, recency
from search import semantic as semantic_mix
from search.embedded.columns import Columns
from search.embedded.scoring import FIELD_WEIGHT, FieldsOr, evaluate
from search.plan import QueryPlan, plan_words


@dataclass(frozen=True)
class RankOptions:
    """The engine's ranking settings."""

    half_life_days: float = recency.HALF_LIFE_DAYS
    semantic: bool = True
    semantic_weight: float = semantic_mix.SEMANTIC_WEIGHT
    feedback: bool = False


@dataclass
class Trace:
    """What each step did: enough to explain any hit's score."""

    query: wq.Query  # the query whose word scores were the start
    near: dict[int, float] = field(default_factory=dict)  # docnum -> bonus
    mixes: dict[int, semantic_mix.Mix] = field(default_factory=dict)
    semantic: tuple[float, float] | None = None  # (best word score, weight)
    decay: dict[int, float] = field(default_factory=dict)  # docnum -> recency factor
    half_life_days: float = recency.HALF_LIFE_DAYS
    newest_day: int = 0


def rank(read: QueryPlan, q: wq.Query, cols: Columns, searcher, docs: np.ndarray,
         scores: np.ndarray, sort: str, options: RankOptions,
         top: Callable, frequency: Callable[[str], int],
         query_vector: Callable[[str], np.ndarray | None]) -> tuple[np.ndarray, Trace]:
    """The final scores of `docs` (see the module docstring) and their trace.

    `top(docs, scores, k)` picks the k best; `frequency(term)` counts the
    articles holding an index term; `query_vector(text)` embeds a text.
    """
    trace = Trace(q, half_life_days=options.half_life_days, newest_day=cols.newest_day)
    if options.feedback and len(docs) > feedback.FEEDBACK_DOCS:
        scores, trace.query = _feedback(read, q, cols, searcher, docs, scores, top)
    if len(docs) > 1:
        scores = _near(read, cols, searcher, docs, scores, top, frequency, trace)
    if len(docs) > 1 and options.semantic and cols.vectors is not None:
        scores = _meaning(read, cols, docs, scores, top, query_vector, options, trace)
    if sort == "recency" and len(docs):
        factors = recency.factors(cols.day[docs], trace.newest_day, options.half_life_days)
        scores = scores.copy()
        scores[docs] *= factors.astype(np.float32)
        trace.decay = dict(zip(docs.tolist(), factors.tolist(), strict=True))
    return scores, trace


def _feedback(read: QueryPlan, q: wq.Query, cols: Columns, searcher, docs: np.ndarray,
              scores: np.ndarray, top: Callable) -> tuple[np.ndarray, wq.Query]:
    """The same `docs` re-scored with the query expanded by its best
    articles' words (RM3; see `search.feedback`)."""
    best = top(docs, scores, feedback.FEEDBACK_DOCS)
    texts = []
    for d in best:
        fields = cols.stored(searcher, int(d))
        texts.append(terms(f"{fields.get('title') or ''}\n{fields.get('body') or ''}"))
    own = {t for w in plan_words(read.root) for t in w.parts}
    words = feedback.expansion(texts, [float(scores[d]) for d in best], own)
    if not words:
        return scores, q
    n = max(len(own), 1)
    extra = [FieldsOr([wq.Term(f, t) for f in ("title", "body")],
                      boost=(1 - feedback.ORIGINAL_WEIGHT) * w) for t, w in words]
    expanded = wq.Or([q.with_boost(feedback.ORIGINAL_WEIGHT / n), *extra])
    rescored = evaluate(expanded, cols, searcher).score
    keep = np.zeros(cols.n, dtype=bool)
    keep[docs] = True
    return np.where(keep, rescored, 0).astype(np.float32), expanded


def _near(read: QueryPlan, cols: Columns, searcher, docs: np.ndarray, scores: np.ndarray,
          top: Callable, frequency: Callable[[str], int], trace: Trace) -> np.ndarray:
    words = [w.parts[0] for w in plan_words(read.root)]
    if len(words) < 2:
        return scores
    idf = [math.log(cols.doc_count / (frequency(w) + 1)) + 1.0 for w in words]
    candidates = top(docs, scores, proximity.CANDIDATES)
    extra = proximity.bonus(searcher, cols, candidates, words, idf,
                            {f: FIELD_WEIGHT[f] for f in ("title", "body")})
    if not extra.any():
        return scores
    scores = scores.copy()
    scores[candidates] += extra.astype(np.float32)
    trace.near = {int(d): float(np.float32(x)) for d, x in zip(candidates, extra, strict=True)
                  if x}
    return scores


def _meaning(read: QueryPlan, cols: Columns, docs: np.ndarray, scores: np.ndarray,
             top: Callable, query_vector, options: RankOptions, trace: Trace) -> np.ndarray:
    text = " ".join(read.words)
    vector = query_vector(text) if text else None
    if vector is None:
        return scores
    candidates = top(docs, scores, semantic_mix.CANDIDATES)
    fused, mixes = semantic_mix.fuse(scores, candidates, cols.vectors, vector,
                                     options.semantic_weight)
    if mixes:
        trace.mixes = mixes
        trace.semantic = (next(iter(mixes.values())).best_words, options.semantic_weight)
    return fused
