"""Query plan → one Typesense search: the cluster engine's half of the query seam.

`search.plan` decides what a search means; this module spells it for
Typesense 0.24, which looks up the analyzed terms that
`index.typesense_store` keeps in `title_terms` and `body_terms` (so a
word's stems, prefixes and fuzzy neighbours are worked out here, from the
archive's vocabulary, exactly as `search.embedded.compiler` does).

A plan becomes a `Compiled`: a `filter_by` expression that selects exactly
the articles the plan matches, plus the `q` text that ranks them.

- `filter_by` can say "title or body holds term t" (`title_terms:t ||
  body_terms:t`), OR and AND of such, tag keys and date ranges. So every
  word (each distinct stem in the archive's languages, or the filtered
  ones), every word's tag keys, every `Prefix`/`Fuzzy` expansion (at most
  `plan.MAX_EXPANSION` archive words each), `All`, `Any` and dates are
  filters.
- What a filter cannot say is asked of the cluster as article ids
  (`id:[...]`): a phrase anywhere but at the top level or in one field
  (`title:"a phrase"`), the phrase of a punctuated word's parts, and a NOT
  that `q` cannot express (a field restriction, a group). Each such part
  costs one search per page of 250 ids and may stand for at most `MAX_IDS`
  articles; beyond that the reader is told to narrow the search (`TooBroad`)
  and nothing is found rather than something else.
- `q` carries what it says exactly: a top-level word with one stem and no
  tag of its name, a top-level phrase likewise, and top-level exclusions
  (`-term`, `-"a phrase"`, across title and body; the excluded word's tags
  are a `tags:!=` filter). A plan ranked by most of its words
  (`QueryPlan.ranked_by_most`) matches any of them; its `rank_q` holds the
  words for ranking (see `search.typesense.engine`).

This module makes no HTML and never calls the cluster itself: the engine
hands it `ids`, a function that runs one id search.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from index.analysis import STOPS
from index.typesense_store import encode_term
from search import plan as p
from search.vocabulary import Vocabulary, index_term

#: Articles one id-resolved part of a search may stand for (4 pages of 250).
MAX_IDS = 1000
#: Filter that no article passes.
NOTHING = "id:=[`\x00`]"
#: The text fields a word is looked up in, and where their terms are.
TERM_FIELDS = {"title": "title_terms", "body": "body_terms"}


class TooBroad(Exception):
    """A part of the search needs more than `MAX_IDS` articles listed."""


@dataclass
class Compiled:
    """A plan in Typesense's terms."""

    #: Required words and phrases for `q` (each exactly what the plan asks).
    q: list[str] = field(default_factory=list)
    #: Exclusions for `q` (`-term`, `-"a b"`).
    exclude: list[str] = field(default_factory=list)
    #: `filter_by` conjuncts.
    filters: list[str] = field(default_factory=list)
    #: Words to rank by when `q` cannot carry them (default stems).
    rank_q: list[str] = field(default_factory=list)
    #: Index terms to mark in snippets.
    marks: set[str] = field(default_factory=set)
    notes: list[str] = field(default_factory=list)
    #: True when the plan matches any of its words (ranked by most).
    most: bool = False

    @property
    def text(self) -> str:
        """The `q` of the search that selects the articles."""
        positive = " ".join(self.q)
        return " ".join(filter(None, [positive or ("*" if not self.exclude else ""),
                                      *self.exclude])) or "*"

    @property
    def has_text(self) -> bool:
        """True when articles can be ranked by words."""
        return bool(self.q or self.rank_q)


@dataclass(frozen=True)
class Archive:
    """What compiling needs to know about the archive (one version of it)."""

    vocabulary: Vocabulary | None
    #: Tag key → its folded form (`plan.fold_tag`).
    tag_folds: dict[str, str]
    #: The archive's languages (words are stemmed for each and the default).
    languages: tuple[str, ...] = ()


def value(text: str) -> str:
    """A filter value, quoted; a value Typesense cannot quote matches nothing."""
    return f"`{text}`" if "`" not in text else "`\x00`"


class _In(str):
    """A filter "`field` holds one of `values`", kept apart so that an OR of
    several of them on one field can be written as one list.

    Typesense 0.24 refuses a filter with more than a few dozen operands or
    about sixteen parenthesized groups ("Filter expression is not valid"):
    a pasted paragraph OR'ing 17 words, each "title or body", was refused.
    Merged, any number of OR'd words is two operands.
    """

    field: str
    values: tuple[str, ...]

    @classmethod
    def of(cls, field: str, values: Iterable[str]) -> _In:
        values = tuple(dict.fromkeys(values))
        shown = values[0] if len(values) == 1 else f"[{', '.join(values)}]"
        made = cls(f"{field}{shown}")
        made.field, made.values = field, values
        return made


class _AnyOf(str):
    """An OR of filters that remembers its `_In` operands for further merging."""

    atoms: tuple[_In, ...]
    rest: tuple[str, ...]


def any_of(filters: Iterable[str | None]) -> str:
    """OR of filters (None: everything); NOTHING when there are none. OR'd
    value lists on the same field become one list (see `_In`)."""
    by_field: dict[str, list[str]] = {}
    rest: list[str] = []
    for f in filters:
        if f is None:
            return None  # type: ignore[return-value]
        if f == NOTHING:
            continue
        atoms = [f] if isinstance(f, _In) else list(getattr(f, "atoms", ()))
        for atom in atoms:
            by_field.setdefault(atom.field, []).extend(atom.values)
        for other in (() if isinstance(f, _In) else getattr(f, "rest", (f,))):
            if other not in rest:
                rest.append(other)
    merged = [_In.of(field, values) for field, values in by_field.items()]
    parts = [*merged, *rest]
    if not parts:
        return NOTHING
    if len(parts) == 1:
        return parts[0]
    made = _AnyOf("(" + " || ".join(parts) + ")")
    made.atoms, made.rest = tuple(merged), tuple(rest)
    return made


def all_of(filters: Iterable[str | None]) -> str | None:
    """AND of filters (None: everything); None when there are none."""
    parts = [f for f in filters if f is not None]
    if NOTHING in parts:
        return NOTHING
    parts = list(dict.fromkeys(parts))
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else "(" + " && ".join(parts) + ")"


def id_filter(ids: Iterable[str]) -> str:
    listed = sorted(set(ids))
    return f"id:[{', '.join(value(i) for i in listed)}]" if listed else NOTHING


def term_filter(fields: Iterable[str], terms: Iterable[str]) -> str:
    """Articles holding any of `terms` in any of the text `fields`."""
    encoded = [value(t) for t in dict.fromkeys(encode_term(t) for t in terms)]
    if not encoded:
        return NOTHING
    return any_of(_In.of(f"{TERM_FIELDS[f]}:", encoded) for f in fields if f in TERM_FIELDS)


def tag_filter(keys: Iterable[str]) -> str:
    keys = sorted(set(keys))
    return _In.of("tags:=", [value(k) for k in keys]) if keys else NOTHING


#: `ids(filter_by, q, query_by)` → the ids of the articles matching, or raises TooBroad.
IdSearch = Callable[[str | None, str, str], list[str]]


class Compiler:
    """Compiles one plan for one archive version; `ids` runs id searches
    (None: no searches, for marks only)."""

    def __init__(self, archive: Archive, ids: IdSearch | None,
                 languages: tuple[str, ...] = ()) -> None:
        self.archive = archive
        self.ids = ids
        self.languages: tuple[str | None, ...] = (*(languages or archive.languages), None)
        self.out = Compiled()
        self._phrased: set[str] = set()
        self._said: set[str] = set()

    def note(self, text: str) -> None:
        if text not in self._said:
            self._said.add(text)
            self.out.notes.append(text)

    # -- the plan ----------------------------------------------------------------

    def compile(self, read: p.QueryPlan, within: str | None, most: bool = False) -> Compiled:
        """`read` among the articles passing `within` (the request's filters)."""
        out = self.out
        root = read.root
        if root is None:
            return out
        conjuncts = list(root.nodes) if isinstance(root, p.All) else [root]
        if most and isinstance(root, p.All):
            out.most = True
            positives = [c for c in conjuncts if not isinstance(c, p.Not)]
            negatives = [c for c in conjuncts if isinstance(c, p.Not)]
            for c in negatives:
                self._top_not(c, conjuncts, within)
            out.filters.append(any_of(self.filter(c, within) for c in positives))
            out.rank_q.extend(t for c in positives for t in self._rank_terms(c))
            return out
        for c in conjuncts:
            if isinstance(c, p.Not):
                self._top_not(c, conjuncts, within)
            elif (q := self._q_form(c)) is not None:
                out.q.append(q)
                self._mark(c)
            else:
                out.filters.append(self.filter(c, within))
                out.rank_q.extend(self._rank_terms(c))
        return out

    def _q_form(self, node: p.Node) -> str | None:
        """`node` as `q` text when that is exactly what it means, else None."""
        if isinstance(node, p.Word) and node.fields == p.TEXT_FIELDS \
                and not self._tag_keys(node.tag):
            if node.joined is not None:
                if self._parts_phrase(node):
                    return None
                return encode_term(node.joined)
            variants = self._variants(node.text, node.parts, False)
            if len(variants) == 1 and variants[0]:
                return encode_term(variants[0][0])
        if isinstance(node, p.Phrase) and node.fields == p.TEXT_FIELDS \
                and not self._tag_keys(node.tag):
            variants = self._variants(node.text, node.terms, True)
            if len(variants) == 1:
                return _phrase_q(variants[0])
        return None

    def _top_not(self, node: p.Not, conjuncts: list[p.Node], within: str | None) -> None:
        """A top-level NOT: as `q` exclusions when it is words in title and body,
        else as the ids of the other conjuncts' articles less its own."""
        inner = node.node
        leaves = inner.nodes if isinstance(inner, p.Any) else (inner,)
        if all(isinstance(x, (p.Word, p.Phrase)) and x.fields == p.TEXT_FIELDS
               for x in leaves):
            keys: set[str] = set()
            for x in leaves:
                keys.update(self._tag_keys(x.tag))
                self.out.exclude.extend(self._exclusions(x))
            if keys:
                self.out.filters.append(f"tags:!=[{', '.join(value(k) for k in sorted(keys))}]")
            return
        others = [c for c in conjuncts if c is not node and not isinstance(c, p.Not)]
        rest = all_of([within, *(self.filter(c, within) for c in others)])
        self.out.filters.append(self._complement(inner, rest))

    def _exclusions(self, x: p.Word | p.Phrase) -> list[str]:
        if isinstance(x, p.Phrase):
            return ["-" + _phrase_q(v) if len(v) > 1 else "-" + encode_term(v[0])
                    for v in self._variants(x.text, x.terms, True)]
        if x.joined is not None:
            out = ["-" + encode_term(x.joined)]
            if self._parts_phrase(x):
                out += ["-" + _phrase_q(v) for v in self._variants(x.text, x.parts, False)]
            return out
        return ["-" + encode_term(v[0]) for v in self._variants(x.text, x.parts, False) if v]

    def _complement(self, node: p.Node, within: str | None) -> str:
        """The articles passing `within` that `node` does not match, as ids."""
        everyone = self._ids(within, "*", "title_terms")
        if not everyone:
            return NOTHING
        scope = id_filter(everyone)
        matched = set(self._ids(all_of([scope, self.filter(node, scope)]), "*", "title_terms"))
        return id_filter(i for i in everyone if i not in matched)

    # -- filters -----------------------------------------------------------------

    def filter(self, node: p.Node, within: str | None) -> str | None:
        """The articles `node` matches, as a filter (None: every article)."""
        if isinstance(node, p.Word):
            self._mark(node)
            return self._word(node, within)
        if isinstance(node, p.Phrase):
            self._mark(node)
            return self._phrase(node, within)
        if isinstance(node, p.Prefix):
            return self._prefix(node)
        if isinstance(node, p.Fuzzy):
            return self._fuzzy(node)
        if isinstance(node, p.DateRange):
            return all_of([f"date:>={node.start.toordinal()}" if node.start else None,
                           f"date:[0..{node.end.toordinal()}]" if node.end else None])
        if isinstance(node, p.All):
            positives = [c for c in node.nodes if not isinstance(c, p.Not)]
            f = all_of(self.filter(c, within) for c in positives)
            for c in node.nodes:
                if isinstance(c, p.Not):
                    f = self._complement(c.node, all_of([within, f]))
            return f
        if isinstance(node, p.Any):
            return any_of(self._complement(c.node, within) if isinstance(c, p.Not)
                          else self.filter(c, within) for c in node.nodes)
        if isinstance(node, p.Not):
            return self._complement(node.node, within)
        return NOTHING

    def _word(self, w: p.Word, within: str | None) -> str:
        alternatives: list[str | None] = []
        fields = [f for f in w.fields if f in TERM_FIELDS]
        if "tags" in w.fields:
            alternatives.append(tag_filter(self._tag_keys(w.tag)))
        if fields:
            if w.joined is None:
                alternatives.append(term_filter(
                    fields, [v[0] for v in self._variants(w.text, w.parts, False) if v]))
            else:
                alternatives.append(term_filter(fields, [w.joined]))
                if self._parts_phrase(w):
                    for v in self._variants(w.text, w.parts, False):
                        alternatives.append(self._phrase_ids(v, fields, within))
        return any_of(alternatives)

    def _phrase(self, ph: p.Phrase, within: str | None) -> str:
        alternatives: list[str | None] = []
        fields = [f for f in ph.fields if f in TERM_FIELDS]
        if "tags" in ph.fields:
            alternatives.append(tag_filter(self._tag_keys(ph.tag)))
        if fields:
            for v in self._variants(ph.text, ph.terms, True):
                alternatives.append(term_filter(fields, v) if len(v) == 1
                                    else self._phrase_ids(v, fields, within))
        return any_of(alternatives)

    def _phrase_ids(self, terms: tuple[str, ...], fields: list[str],
                    within: str | None) -> str:
        if self.ids is None:
            return NOTHING
        query_by = ",".join(TERM_FIELDS[f] for f in fields)
        return id_filter(self._ids(within, _phrase_q(terms), query_by))

    def _ids(self, within: str | None, q: str, query_by: str) -> list[str]:
        if self.ids is None:
            return []
        return self.ids(within, q, query_by)

    def _prefix(self, node: p.Prefix) -> str:
        vocabulary = self.archive.vocabulary
        if vocabulary is None:
            self.note(f"“{node.text}*” was searched as written: this archive is too large "
                      "for prefixes on this engine.")
            return self._word(p.Word(node.text, (node.prefix,), None, node.prefix,
                                     node.fields), None)
        words, capped = vocabulary.prefixed(node.prefix, p.MAX_EXPANSION)
        words = [w for w in words if vocabulary.knows(w)] if capped else words
        tags = ([k for k, f in sorted(self.archive.tag_folds.items())
                 if f.startswith(node.prefix)][:p.MAX_EXPANSION]
                if "tags" in node.fields else [])
        if capped:
            self.note(f"“{node.text}*” stands for more than {p.MAX_EXPANSION} words; "
                      f"searched for the {p.MAX_EXPANSION} most frequent.")
        return self._expansion(words, tags, node.fields,
                               f"No word of the archive starts with “{node.text}”.")

    def _fuzzy(self, node: p.Fuzzy) -> str:
        vocabulary = self.archive.vocabulary
        if vocabulary is None:
            self.note(f"“{node.text}~” was searched as written: this archive is too large "
                      "for fuzzy words on this engine.")
            return self._word(p.Word(node.text, (index_term(node.word),), None, node.word,
                                     node.fields), None)
        words, capped = vocabulary.within(node.word, node.distance, p.MAX_EXPANSION)
        if capped:
            self.note(f"“{node.text}~” is near more than {p.MAX_EXPANSION} words; "
                      f"searched for the {p.MAX_EXPANSION} nearest.")
        tags = ([k for w in words[:8] for k in self._tag_keys(w)]
                if "tags" in node.fields else [])
        return self._expansion(words, tags, node.fields,
                               f"No word of the archive is near “{node.text}”.")

    def _expansion(self, words: list[str], tags: list[str], fields: tuple[str, ...],
                   nothing: str) -> str:
        terms = list(dict.fromkeys(index_term(w, lang) for w in words
                                   for lang in self.languages))
        self.out.marks.update(terms)
        self.out.rank_q.extend(encode_term(t) for t in terms[:1])
        found = any_of([term_filter([f for f in fields if f in TERM_FIELDS], terms)
                        if terms else NOTHING, tag_filter(tags)])
        if found == NOTHING:
            self.note(nothing)
        return found

    # -- words -------------------------------------------------------------------

    def _tag_keys(self, folded: str) -> list[str]:
        if not folded:
            return []
        return sorted(k for k, f in self.archive.tag_folds.items() if f == folded)

    def _variants(self, text: str, terms: tuple[str, ...], phrase: bool
                  ) -> list[tuple[str, ...]]:
        """`terms` and the distinct terms `text` gives in each archive language."""
        return p.term_variants(text, terms, tuple(self.languages), phrase)

    def _parts_phrase(self, w: p.Word) -> bool:
        """True when a punctuated word is also looked for as the phrase of its
        parts (as the Whoosh engine does: only when a part is indexed alone,
        and for at most `plan.MAX_PHRASES` punctuated words)."""
        if len(w.parts) < 2 or not any(len(t) >= 2 and t not in STOPS for t in w.parts):
            return False
        if w.text in self._phrased:
            return True
        if len(self._phrased) >= p.MAX_PHRASES:
            self.note(f"Punctuated words after the first {p.MAX_PHRASES} were matched as "
                      "written (not as the phrase of their parts).")
            return False
        self._phrased.add(w.text)
        return True

    def _rank_terms(self, node: p.Node) -> list[str]:
        if isinstance(node, p.Word) and node.fields != ("tags",):
            return [encode_term(node.joined or node.parts[0])] if node.parts or node.joined \
                else []
        if isinstance(node, p.Phrase) and node.fields != ("tags",):
            return [encode_term(t) for t in node.terms]
        if isinstance(node, (p.All, p.Any)):
            return [t for c in node.nodes for t in self._rank_terms(c)]
        return []

    def _mark(self, node: p.Node) -> None:
        if isinstance(node, p.Word):
            for v in self._variants(node.text, node.parts, False):
                self.out.marks.update(v)
            if node.joined:
                self.out.marks.add(node.joined)
        elif isinstance(node, p.Phrase):
            for v in self._variants(node.text, node.terms, True):
                self.out.marks.update(v)


def _phrase_q(terms: tuple[str, ...]) -> str:
    return '"' + " ".join(encode_term(t) for t in terms) + '"'


def marks(read: p.QueryPlan, archive: Archive) -> set[str]:
    """The index terms a plan's words would mark (no cluster asked)."""
    compiler = Compiler(archive, None)
    try:
        compiler.compile(read, None)
    except TooBroad:
        pass
    return compiler.out.marks
