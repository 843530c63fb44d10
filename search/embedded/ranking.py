"""Relevance, step by step: from word scores to the order of the hits.

`search.embedded.scoring` gives every matching article its word score (BM25F). The
steps here then adjust the best candidates, in this order, each in its own
module:

1. pseudo-relevance feedback (`search.feedback`), unless switched off;
2. closeness of the query's words (`search.proximity`);
3. meaning as well as words (`search.semantic`);
4. for "relevance + recency", the decay on age (`search.recency`).

`rank` returns the final scores and a `Trace` of what each step did, from
which `search.embedded.explain` writes "why this result". Nothing here changes which
articles match; only their order.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial

import numpy as np
from whoosh import query as wq

from index.analysis import terms
from search import feedback, proximity, recency
from search import semantic as semantic_mix
from search.embedded.columns import Columns
from search.embedded.scoring import FIELD_WEIGHT, bm25f_at, idf
from search.plan import MAX_POSTINGS, QueryPlan, plan_words


@dataclass(frozen=True)
class RankOptions:
    """The engine's ranking settings."""

    half_life_days: float = recency.HALF_LIFE_DAYS
    semantic: bool = True
    semantic_weight: float = semantic_mix.SEMANTIC_WEIGHT
    feedback: bool = True


#: The fields a feedback word is looked up in (tags are keys, not words).
FEEDBACK_FIELDS = ("title", "body")


@dataclass(frozen=True)
class Feedback:
    """What pseudo-relevance feedback added: `parts[i, k]` is what word
    `words[i]` (index term, weight) added to candidate `docnums[k]`."""

    words: tuple[tuple[str, float], ...]
    docnums: np.ndarray
    parts: np.ndarray

    def added(self, docnum: int) -> list[tuple[str, float, float]]:
        """(index term, weight, score added) for each word that added to `docnum`."""
        at = np.flatnonzero(self.docnums == docnum)
        if not len(at):
            return []
        column = self.parts[:, int(at[0])]
        return [(t, w, float(v)) for (t, w), v in zip(self.words, column, strict=True) if v]


@dataclass
class Trace:
    """What each step did: enough to explain any hit's score."""

    query: wq.Query  # the query whose word scores were the start
    feedback: Feedback | None = None
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
        scores = _feedback(read, cols, searcher, docs, scores, top, frequency, trace)
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


def _feedback(read: QueryPlan, cols: Columns, searcher, docs: np.ndarray,
              scores: np.ndarray, top: Callable, frequency: Callable[[str], int],
              trace: Trace) -> np.ndarray:
    """The best candidates' scores with the relevance model's words added
    (RM3; see `search.feedback`)."""
    candidates = top(docs, scores, max(feedback.CANDIDATES, feedback.FEEDBACK_DOCS))
    best = candidates[:feedback.FEEDBACK_DOCS]
    models = [cols.memo(("feedback", int(d)), partial(_document_model, cols, searcher, int(d)))
              for d in best]
    model = feedback.relevance_model(models, [float(scores[d]) for d in best],
                                     feedback.EXPANSION_TERMS)
    words = plan_words(read.root)
    own = {t for w in words for t in w.parts}
    weights, spent = [], 0
    for term, weight in feedback.boosts(model, len(words), feedback.ORIGINAL_WEIGHT):
        # The query's own words are read already; the others share what is
        # left of the search's postings budget, most weighty first.
        cost = 0 if term in own else frequency(term)
        if spent + cost <= MAX_POSTINGS:
            spent += cost
            weights.append((term, weight))
    if not weights:
        return scores
    candidates = np.sort(candidates)  # in docnum order, the postings are read in order
    parts = np.stack([w * bm25f_at(t, FEEDBACK_FIELDS, cols, searcher, candidates)
                      for t, w in weights])
    scores = scores.copy()
    scores[candidates] += parts.sum(axis=0)
    trace.feedback = Feedback(tuple(weights), candidates, parts)
    return scores


def _document_model(cols: Columns, searcher, docnum: int) -> dict[str, float]:
    """An article's `feedback.document_model`, from its title and the start of its body."""
    fields = cols.stored(searcher, docnum)
    text = f"{fields.get('title') or ''}\n{fields.get('body') or ''}"
    return feedback.document_model(terms(text[:feedback.MAX_CHARS]))


def _near(read: QueryPlan, cols: Columns, searcher, docs: np.ndarray, scores: np.ndarray,
          top: Callable, frequency: Callable[[str], int], trace: Trace) -> np.ndarray:
    words = [w.parts for w in plan_words(read.root) if w.parts]
    if len(words) < 2:
        return scores
    # A punctuated word is at least as rare as its rarest part.
    rarity = [max(idf(frequency(t), cols.doc_count) for t in w) for w in words]
    candidates = top(docs, scores, proximity.CANDIDATES)
    extra = proximity.bonus(searcher, cols, candidates, words, rarity,
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
