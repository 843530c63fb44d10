""""Why this result": a hit's score taken apart, in words a librarian can read.

The score of a hit is built in steps (see `search.embedded.ranking`): the words'
BM25F scores (`search.embedded.scoring`), the words its best articles add
(`search.feedback`), the closeness of the query's words (`search.proximity`),
the mix with meaning (`search.semantic`) and, for "relevance + recency", the
decay on age (`search.recency`). This module replays each step for the hits
of one page and records what it added, as a tree of `Explanation`s whose
leaves say which word matched in which field, how often, and how rare it
is. The parts add up to the hit's score (a test checks this for a sample of
queries).

The word scores are worked out again per node of the query over the whole
archive, from the generation's cached postings, and read at the page's
hits: a cost of one array per query node, paid only when asked for.
"""

from __future__ import annotations

import numpy as np
from whoosh import query as wq

from search.embedded import scoring
from search.embedded.columns import Columns
from search.results import Explanation

#: Queries with more terms than this are not explained (each term costs a
#: pass over the archive's arrays).
MAX_NODES = 60


def hits(trace, cols: Columns, searcher, docnums: list[int]) -> dict[int, Explanation]:
    """"Why this result" for each of `docnums`, from a ranking's `Trace`
    (`search.embedded.ranking`): the word scores, then each later step."""
    base = words(trace.query, cols, searcher, docnums)
    out = {}
    for d in docnums:
        node = base[d]
        added = trace.feedback.added(d) if trace.feedback is not None else None
        if added:
            node = total([node, _feedback(added)], "words, with feedback")
        near = trace.near.get(d)
        if near:
            node = total([node, Explanation(
                "the query's words stand close together, in order (proximity)", near)],
                "words")
        if trace.semantic is not None:
            best, weight = trace.semantic
            mix = trace.mixes.get(d)
            words_part = scaled(node, (1 - weight) / best if best else 0.0,
                                f"words: {1 - weight:g} × this score / {best:.4f} "
                                "(the best candidate's)")
            if mix is not None:
                meaning = Explanation(
                    f"meaning: {weight:g} × the cosine of the query's and the article's "
                    f"vectors ({mix.cosine:.3f}), scaled between the candidates' lowest "
                    f"({mix.low:.3f}) and highest ({mix.high:.3f})", mix.meaning_part)
                node = total([words_part, meaning], "words and meaning")
            else:
                node = Explanation("words (not among the candidates compared by meaning)",
                                   words_part.value, words_part.parts)
        factor = trace.decay.get(d)
        if factor is not None:
            day = int(cols.day[d])
            age = trace.newest_day - day
            when = (f"{age:,} day{'' if age == 1 else 's'} before the newest article"
                    if day >= 0 else "undated: the results' median age")
            node = scaled(node, factor, f"relevance × recency ({when}; half-life "
                                        f"{trace.half_life_days:g} days)")
        out[d] = node
    return out


def words(q: wq.Query, cols: Columns, searcher, docnums: list[int]) -> dict[int, Explanation]:
    """The word-score explanation of each of `docnums` under `q`."""
    return {d: node for d, node in zip(docnums, _explain(q, cols, searcher, docnums),
                                       strict=True)}


def _explain(q: wq.Query, cols: Columns, searcher, docnums: list[int]) -> list[Explanation]:
    match = scoring._eval(q, cols, searcher)
    values = [float(match.score[d]) if match.mask[d] else 0.0 for d in docnums]
    if isinstance(q, scoring.FieldsOr):
        held = scoring.word_in_fields(q, cols, searcher)
        df = int(np.count_nonzero(held.holders(cols.n) & cols.live))
        return [_word(q, held, df, cols, searcher, d, v)
                for d, v in zip(docnums, values, strict=True)]
    if isinstance(q, wq.Term):
        return [_term(q, cols, searcher, d, v) for d, v in zip(docnums, values, strict=True)]
    if isinstance(q, wq.Phrase):
        label = f"the phrase “{' '.join(q.words)}” in the {_field(q.fieldname)}"
        return [Explanation(label if v else f"{label}: not found", v) for v in values]
    if isinstance(q, (wq.Not, wq.DateRange, wq.Every)) or q is wq.NullQuery or q.is_leaf():
        return [Explanation(_leaf_label(q), v) for v in values]
    if isinstance(q, wq.AndNot):
        kept = _explain(q.a, cols, searcher, docnums)
        return [Explanation(f"{k.label} (and not {_short(q.b)})", k.value, k.parts)
                for k in kept]
    children = [_explain(c, cols, searcher, docnums) for c in q.children()]
    out = []
    for i, v in enumerate(values):
        parts = [c[i] for c in children if c[i].value or c[i].label.startswith("excludes")]
        scale = getattr(q, "scale", None)
        if scale and isinstance(q, wq.Or):
            held = sum(1 for c in children if c[i].value)
            parts.append(Explanation(
                f"has {held} of the {len(children)} words (each word held adds "
                f"{scoring._COORD_STEP:g}, so more words always rank higher)",
                held * scoring._COORD_STEP))
        parts = _with_boost(parts, q.boost, v)
        kind = "all of" if isinstance(q, wq.And) else "any of"
        out.append(Explanation(f"{kind} {len(children)} parts", v, parts))
    return out


def _word(q: scoring.FieldsOr, held: scoring.WordInFields, df: int, cols: Columns,
          searcher, d: int, value: float) -> Explanation:
    """One hit's part for one reader's word, which `df` articles hold."""
    where = [f"{_times(counts.at(d))} in the {_field(name)} "
             f"(weight {scoring.FIELD_WEIGHT[name]:g})"
             for name, counts in held.fields.items() if counts.at(d)]
    idf = scoring.idf(df, cols.doc_count) if df else 0.0
    term = next((c.text for c in q.subqueries if isinstance(c, wq.Term)), "")
    word = getattr(q, "typed", None) or (term.decode() if isinstance(term, bytes) else term)
    spelled = (", as written or as its parts side by side"
               if any(isinstance(c, wq.Phrase) for c in q.subqueries) else "")
    label = (f"“{word}”: {', '.join(where) or 'not in a scored field'}{spelled}; in {df:,} "
             f"of {cols.doc_count:,} articles (rarity {idf:.2f}) — BM25F")
    extra = [e for c in held.others for e in _explain(c, cols, searcher, [d]) if e.value]
    if not extra:
        return Explanation(label, value)
    own = value - sum(e.value for e in extra)
    return Explanation(f"“{word}”", value, [Explanation(label, own), *extra])


def _feedback(added) -> Explanation:
    """What the words of the best-ranked articles added (`search.feedback`)."""
    parts = [Explanation(f"“{term}” (weight {weight:.3f} × its BM25F)", value)
             for term, weight, value in added]
    return total(parts, "words that the best-ranked articles share (pseudo-relevance "
                        "feedback)")


def _term(q: wq.Term, cols: Columns, searcher, d: int, value: float) -> Explanation:
    p = cols.term(searcher.reader(), q.fieldname, _bytes(q, searcher))
    df = int(np.count_nonzero(cols.live[p.ids])) if len(p.ids) else 0
    at = int(np.searchsorted(p.ids, d)) if len(p.ids) else 0
    text = q.text.decode() if isinstance(q.text, bytes) else q.text
    if not len(p.ids) or at >= len(p.ids) or p.ids[at] != d:
        return Explanation(f"“{text}” is not in the {_field(q.fieldname)}", value)
    raw = float(p.weights[at]) / scoring._STORED_BOOST.get(q.fieldname, 1.0)
    return Explanation(f"“{text}”: {_times(raw)} in the {_field(q.fieldname)}, in {df:,} "
                       "articles (BM25)", value)


def _with_boost(parts: list[Explanation], boost: float, value: float) -> list[Explanation]:
    if boost == 1 or not parts:
        return parts
    return [*parts, Explanation(f"× {boost:g} (weight of this part)",
                                value - sum(p.value for p in parts))]


def _bytes(q: wq.Term, searcher) -> bytes:
    return q.text if isinstance(q.text, bytes) else searcher.schema[q.fieldname].to_bytes(q.text)


def _field(name: str) -> str:
    return {"tags": "tags", "title": "title", "body": "text"}.get(name, name)


def _times(n: float) -> str:
    k = int(round(n))
    return "once" if k == 1 else f"{k} times"


def _leaf_label(q: wq.Query) -> str:
    if isinstance(q, wq.Not):
        return f"excludes {_short(q.query)}"
    if isinstance(q, wq.DateRange):
        return "in the date range (adds nothing to the score)"
    return "matches"


def _short(q: wq.Query) -> str:
    leaves = [getattr(t, "text", "") for t in q.leaves()] if not q.is_leaf() else [
        getattr(q, "text", "")]
    words = [w.decode() if isinstance(w, bytes) else str(w) for w in leaves if w]
    return "“" + " ".join(dict.fromkeys(words)) + "”" if words else "a part"


def total(parts: list[Explanation], label: str) -> Explanation:
    """An explanation whose value is the sum of `parts`."""
    return Explanation(label, sum(p.value for p in parts), parts)


def scaled(node: Explanation, factor: float, label: str) -> Explanation:
    """`node` multiplied by `factor` (the step shown as a part)."""
    value = node.value * factor
    return Explanation(label, value, [node, Explanation(f"× {factor:.4f}", value - node.value)])
