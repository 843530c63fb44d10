"""Query plan → Whoosh query: the Whoosh engine's half of the query seam.

`search.plan` decides what a search means; this module only spells that in
Whoosh's query objects, for `search.embedded.scoring` to evaluate over arrays. Each
rule below is a translation, not a decision:

- a `Word` is looked up in each of its fields: in title and body as its
  index term, or, for a punctuated word, as its joined term or the phrase
  of its parts (the phrase only when one of the parts is a word indexed on
  its own: `U.S.` and `AT&T` are found by their joined terms alone, since
  one-letter and stop-word parts exist in the index only inside compounds,
  and checking the phrase "u s" position by position costs about ten times
  the joined term, to find the few articles writing `U.S.A.` or `Sino-U.S.`);
  in tags as every tag key that folds to the word;
- a `Prefix` or `Fuzzy` word becomes the index terms of at most
  `MAX_EXPANSION` archive words (`search.vocabulary`, most frequent first),
  and the reader is told when some were left out;
- `All`, `Any` and `Not` are `And`, `Or` and `Not`; a plan ranked by most
  words becomes an `Or` with a coordination `scale` (see `search.embedded.scoring`).

**Languages.** Articles are stemmed by their own language, and a reader's
word could be in any of the archive's languages, so a word or phrase is
looked up as each distinct stem its languages give (`oil` is `oil` in every
language; `precios` is `precio` in Spanish and `precio` stays one term). The
languages are the generation's, or those the reader filtered on.

Whoosh objects made here never leave `search/`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

from whoosh import query as wq

from index.analysis import STOPS
from search import plan as p
from search.embedded.scoring import FieldsOr
from search.vocabulary import Vocabulary, index_term

#: Fields whose terms are analyzed words (and so can be highlighted).
WORD_FIELDS = ("title", "body")


@dataclass
class Compiled:
    """A plan in Whoosh's terms, and what the reader should know about it."""

    query: wq.Query | None
    notes: list[str] = field(default_factory=list)


@dataclass
class _Run:
    """The state of one compile (a `Compiler` is shared between threads)."""

    out: Compiled
    frequency: Callable[[str], int]
    dropped: set[int] = field(default_factory=set)  # ids of Word nodes left out
    phrased: set[str] = field(default_factory=set)
    phrases_capped: bool = False
    expansion_budget: int = p.MAX_POSTINGS
    #: The languages words are stemmed for (None: the default stemmer).
    languages: tuple[str | None, ...] = (None,)

    def variants(self, w: p.Word) -> list[tuple[str, ...]]:
        """The index terms of a word in each of the languages, distinct."""
        return p.term_variants(w.text, w.parts, self.languages, False)

    def phrase_variants(self, ph: p.Phrase) -> list[tuple[str, ...]]:
        """The index terms of a phrase in each of the languages, distinct."""
        return p.term_variants(ph.text, ph.terms, self.languages, True)


class Compiler:
    """Compiles plans against one generation's vocabulary and tag keys.

    `tag_keys(folded)` gives the tag keys of the index that fold to a word
    (a tag typed with an Arabic kaf finds the one indexed with a Persian
    keheh); `tag_prefixed(folded, limit)` those starting with a prefix.
    """

    def __init__(self, vocabulary: Vocabulary, tag_keys, tag_prefixed,
                 languages: tuple[str, ...] = ()) -> None:
        self.vocabulary = vocabulary
        self.tag_keys = tag_keys
        self.tag_prefixed = tag_prefixed
        #: The archive's languages; words are stemmed for each, and for the default.
        self.languages: tuple[str | None, ...] = (*languages, None)

    def compile(self, node: p.Node | None, most: bool = False,
                frequency: Callable[[str], int] | None = None,
                strict: bool = True, languages: tuple[str, ...] = ()) -> Compiled:
        """The Whoosh query of `node`; with `most`, ranked by how many of the
        top-level words an article has (exclusions still exclude).

        `frequency(term)` is how many articles hold an index term (title and
        body): with it, the search is held to `MAX_POSTINGS` postings (see
        `_budget`). Without it (tests, highlighting) nothing is left out.
        `languages`, when given, are the only ones words are stemmed for
        (the reader filtered on them); else the archive's are.
        """
        out = Compiled(None)
        run = _Run(out, frequency or (lambda _t: 0),
                   languages=tuple(languages) or self.languages)
        if node is None:
            return out
        if frequency is not None:
            self._budget(node, run)
        if most and isinstance(node, p.All):
            positives = [self._node(c, run) for c in node.nodes if not isinstance(c, p.Not)]
            negatives = [self._node(c.node, run) for c in node.nodes if isinstance(c, p.Not)]
            positives = [q for q in positives if not _null(q)]
            if len(positives) >= 2:
                # Strict: more of the words always ranks higher (the fallback of
                # a short query); else the words' scores simply add up, so a
                # rare word counts for more than a common one (long texts).
                q: wq.Query = wq.Or(positives, scale=0.9) if strict else wq.Or(positives)
                for n in negatives:
                    if not _null(n):
                        q = wq.AndNot(q, n)
                out.query = q
                return out
        out.query = self._node(node, run)
        return out

    def _budget(self, node: p.Node, run: _Run) -> None:
        """Leave out the most common words when the search would read more
        than `MAX_POSTINGS` postings.

        Reading a term's postings costs about a microsecond each the first
        time after an index change, so a long text of common words (or an
        OR of two hundred of them) could cost seconds. The words holding
        the most postings go first: they are also the ones that tell least
        about an article. The rarest word always stays, and the reader is
        told which words were left out. What is left of the budget is
        shared by the prefix and fuzzy words.
        """
        words = [n for n in _leaves(node) if isinstance(n, (p.Word, p.Phrase))]
        cost = {id(w): _cost(w, run) for w in words}
        total = sum(cost.values())
        if total > p.MAX_POSTINGS and len(words) > 1:
            keep_one = min(words, key=lambda w: cost[id(w)])
            left_out: list[str] = []
            for w in sorted(words, key=lambda w: -cost[id(w)]):
                if total <= p.MAX_POSTINGS:
                    break
                if w is keep_one:
                    continue
                run.dropped.add(id(w))
                total -= cost[id(w)]
                left_out.append(w.text)
            run.out.notes.append(
                "Left out to keep this long search quick (each is in a great many "
                "articles): "
                + ", ".join(left_out[:20]) + (" …" if len(left_out) > 20 else "") + ".")
        expanding = sum(isinstance(n, (p.Prefix, p.Fuzzy)) for n in _leaves(node))
        if expanding:
            run.expansion_budget = max(p.MAX_POSTINGS - total, p.MAX_POSTINGS // 4) // expanding

    def _node(self, node: p.Node, run: _Run) -> wq.Query | None:
        """A part that can match nothing is `NullQuery`, so a tag or prefix
        that is not in the archive finds nothing (it must not turn the search
        into a browse of everything); a word left out by the budget is None."""
        if isinstance(node, p.Word):
            if id(node) in run.dropped:
                return None
            return _fields(self._word(node, run), node.text)
        if isinstance(node, p.Phrase):
            if id(node) in run.dropped:
                return None
            return _either(self._phrase(node, run))
        if isinstance(node, p.Prefix):
            return self._prefix(node, run)
        if isinstance(node, p.Fuzzy):
            return self._fuzzy(node, run)
        if isinstance(node, p.DateRange):
            return _date_range(node)
        if isinstance(node, p.Not):
            inner = self._node(node.node, run)
            if inner is None:
                return None
            # NOT of nothing excludes nothing.
            return wq.Every() if _null(inner) else wq.Not(inner)
        if isinstance(node, p.All):
            parts = [q for c in node.nodes if (q := self._node(c, run)) is not None]
            if any(_null(q) for q in parts):
                return wq.NullQuery  # a required part that can match nothing
            if not parts:
                return None
            return wq.And(parts) if len(parts) > 1 else parts[0]
        if isinstance(node, p.Any):
            parts = [q for c in node.nodes if (q := self._node(c, run)) is not None]
            if not parts:
                return None
            return _either([q for q in parts if not _null(q)])
        return wq.NullQuery

    def _word(self, w: p.Word, run: _Run) -> list[wq.Query]:
        subs: list[wq.Query] = []
        for f in w.fields:
            if f == "tags":
                subs.extend(wq.Term("tags", k) for k in self.tag_keys(w.tag))
                continue
            if w.joined is None:
                subs.extend(wq.Term(f, parts[0]) for parts in run.variants(w) if parts)
                continue
            subs.append(wq.Term(f, w.joined))
            if (len(w.parts) >= 2 and any(_alone(t) for t in w.parts)
                    and self._phrase_budget(w, run)):
                subs.extend(wq.Phrase(f, list(parts)) for parts in run.variants(w))
        return subs

    def _phrase_budget(self, w: p.Word, run: _Run) -> bool:
        """True while this compile may still check a punctuated word's parts
        as a phrase (`MAX_PHRASES` per search; quoted phrases were counted by
        the plan). Later punctuated words match as written."""
        if w.text in run.phrased:
            return True
        if len(run.phrased) >= p.MAX_PHRASES:
            if not run.phrases_capped:
                run.phrases_capped = True
                run.out.notes.append(
                    f"Punctuated words after the first {p.MAX_PHRASES} were matched as "
                    "written (not as the phrase of their parts).")
            return False
        run.phrased.add(w.text)
        return True

    def _phrase(self, ph: p.Phrase, run: _Run) -> list[wq.Query]:
        subs: list[wq.Query] = []
        for f in ph.fields:
            if f == "tags":
                subs.extend(wq.Term("tags", k) for k in self.tag_keys(ph.tag))
                continue
            for terms in run.phrase_variants(ph):
                subs.append(wq.Term(f, terms[0]) if len(terms) == 1
                            else wq.Phrase(f, list(terms)))
        return subs

    def _prefix(self, node: p.Prefix, run: _Run) -> wq.Query:
        words, capped = self.vocabulary.prefixed(node.prefix, p.MAX_EXPANSION)
        tags = self.tag_prefixed(node.prefix, p.MAX_EXPANSION) if "tags" in node.fields else []
        return self._expansion(node, f"“{node.text}*”", words, capped, tags, run, (
            "most frequent", "stands for", f"No word of the archive starts with “{node.text}”."))

    def _fuzzy(self, node: p.Fuzzy, run: _Run) -> wq.Query:
        words, capped = self.vocabulary.within(node.word, node.distance, p.MAX_EXPANSION)
        tags = ([k for w in words[:8] for k in self.tag_keys(w)]
                if "tags" in node.fields else [])
        return self._expansion(node, f"“{node.text}~”", words, capped, tags, run, (
            "nearest", "is near", f"No word of the archive is near “{node.text}”."))

    def _expansion(self, node: p.Prefix | p.Fuzzy, shown: str, words: list[str],
                   capped: bool, tags: list[str], run: _Run,
                   wording: tuple[str, str, str]) -> wq.Query:
        """The terms a prefix or fuzzy word stands for, within the budget, with
        a note when its list was cut or is empty."""
        best, stands, nothing = wording
        words, cut = self._affordable(words, run)
        if cut:
            run.out.notes.append(f"{shown} was searched for its {len(words)} {best} words "
                                 "only, to keep the search quick.")
        elif capped:
            run.out.notes.append(f"{shown} {stands} more than {p.MAX_EXPANSION} words; "
                                 f"searched for the {p.MAX_EXPANSION} {best}.")
        subs = [*self._expanded(words, node.fields, run.languages),
                *(wq.Term("tags", k) for k in tags)]
        if not subs:
            run.out.notes.append(nothing)
        return _either(subs)

    def _affordable(self, words: list[str], run: _Run) -> tuple[list[str], bool]:
        """The first of `words` whose postings fit this word's share of the
        budget (at least one); and whether some were cut."""
        spent, kept = 0, []
        for w in words:
            spent += sum(run.frequency(t) for t in _terms_of(w, run.languages))
            if kept and spent > run.expansion_budget:
                return kept, True
            kept.append(w)
        return kept, False

    def _expanded(self, words: list[str], fields: tuple[str, ...],
                  languages: tuple[str | None, ...]) -> list[wq.Query]:
        terms = list(dict.fromkeys(t for w in words for t in _terms_of(w, languages)))
        return [wq.Term(f, t) for f in fields if f in WORD_FIELDS for t in terms]


def _terms_of(word: str, languages: tuple[str | None, ...]) -> list[str]:
    """The distinct index terms of an archive word in each of `languages`."""
    return list(dict.fromkeys(index_term(word, lang) for lang in languages))


def _alone(term: str) -> bool:
    """True when a compound part is also an index term outside compounds."""
    return len(term) >= 2 and term not in STOPS


#: A phrase's parts cost this many times their postings: each article
#: holding all of them has its positions read and compared.
PHRASE_COST = 3


def _cost(w: p.Word | p.Phrase, run: _Run) -> int:
    """About how many postings matching `w` reads (phrases weighted), in
    every language it is looked up in."""
    frequency = run.frequency
    if isinstance(w, p.Phrase):
        return PHRASE_COST * sum(frequency(t) for terms in run.phrase_variants(w)
                                 for t in terms)
    variants = run.variants(w)
    if not w.joined:
        return sum(frequency(parts[0]) for parts in variants if parts)
    cost = frequency(w.joined)
    if len(w.parts) >= 2 and any(_alone(t) for t in w.parts):
        cost += PHRASE_COST * sum(frequency(t) for parts in variants for t in parts)
    return cost


def _leaves(node: p.Node):
    if isinstance(node, (p.All, p.Any)):
        for c in node.nodes:
            yield from _leaves(c)
    elif isinstance(node, p.Not):
        yield from _leaves(node.node)
    else:
        yield node


def _fields(subs: list[wq.Query], typed: str) -> wq.Query:
    """One word's lookups in its fields, scored together (BM25F); `typed`
    is the word as the reader wrote it (for "why this result")."""
    if not subs:
        return wq.NullQuery
    if len(subs) == 1:
        return subs[0]
    q = FieldsOr(subs)
    q.typed = typed
    return q


def _either(subs: list[wq.Query]) -> wq.Query:
    if not subs:
        return wq.NullQuery
    return subs[0] if len(subs) == 1 else wq.Or(subs)


def _null(q: wq.Query | None) -> bool:
    return q is None or q is wq.NullQuery


def _date_range(node: p.DateRange) -> wq.Query:
    start = dt.datetime(node.start.year, node.start.month, node.start.day) if node.start else None
    end = (dt.datetime(node.end.year, node.end.month, node.end.day, 23, 59, 59, 999999)
           if node.end else None)
    return wq.DateRange("date", start, end)


def has_text_terms(q: wq.Query | None) -> bool:
    """True when the query scores on words (not only on dates or exclusions)."""
    if q is None:
        return False
    if q.is_leaf():
        return getattr(q, "fieldname", None) in ("title", "body", "tags")
    if isinstance(q, wq.Not):
        return False
    if isinstance(q, wq.AndNot):
        return has_text_terms(q.a)
    return any(has_text_terms(c) for c in q.children())


def highlight_terms(q: wq.Query | None) -> dict[str, set[bytes]]:
    """The index terms worth marking in each word field, as bytes.

    Terms under a `NOT` are left out: an excluded word is not what the
    reader is looking for. A punctuated word brings both its joined term
    and its parts; their marks overlap and merge into one over the whole
    word (`search.snippets`).
    """
    out: dict[str, set[bytes]] = {f: set() for f in WORD_FIELDS}

    def walk(node):
        if isinstance(node, wq.Not):
            return
        if isinstance(node, wq.AndNot):
            walk(node.a)
            return
        if isinstance(node, wq.Term) and node.fieldname in out:
            out[node.fieldname].add(node.text.encode("utf-8")
                                    if isinstance(node.text, str) else node.text)
            return
        if isinstance(node, wq.Phrase) and node.fieldname in out:
            out[node.fieldname].update(w.encode("utf-8") for w in node.words)
            return
        if not node.is_leaf():
            for c in node.children():
                walk(c)

    if q is not None:
        walk(q)
    return out
