"""The engine tests' corpus: 124 articles whose every answer can be computed.

120 English articles are made from a seeded generator: each body names four
of `WORDS` in four sentences and repeats the first in a second paragraph;
every tenth article is undated, the rest fall between 2021 and mid-2023,
with zero to three of `TAGS`. Then two Persian articles (Persian yeh and
keheh, Persian digits; one undated) and two articles about interest rates,
one holding the phrase and one the same words apart.

A test computes what a search must return from `CORPUS` itself (which
articles contain a word, how many carry a tag, which are undated), so a
query form, a facet or a sort is checked against brute force rather than
against figures written down once. It lives in a module of its own so that
every engine's tests can share it without importing another test module.

For tests that index files as librarians do, `write_jsonl` writes articles
as JSON Lines exports and `read_jsonl` reads them back with `json` alone;
`BruteForce` then says, article by article, what each query form (words,
phrases, punctuated words, prefixes, fuzzy words, dates, fields) and each
request filter means, so an engine's answer is compared with the files.
"""

from __future__ import annotations

import datetime as dt
import json
import random
from collections.abc import Callable, Iterable
from pathlib import Path

from rapidfuzz.distance import OSA

from index.analysis import is_indexed_alone, normalize_word, surface_words, terms, units
from index.article import Article
from index.normalize import normalize_tags, tag_key
from index.vocabulary import index_term
from search.plan import fold_tag
from search.request import SearchRequest

WORDS = ["oil", "wheat", "bank", "england", "election", "coffee", "frost", "brazil",
         "market", "delegation", "negotiation", "harvest", "currency", "shipping"]
TAGS = ["Energy", "Grain", "Top News", "Finance", "Politics", "Weather", "Trade"]


def make_corpus() -> list[Article]:
    """The corpus, the same on every run (the generator is seeded)."""
    rnd = random.Random(7)
    arts = []
    for i in range(120):
        words = rnd.sample(WORDS, 4)
        body = " ".join(
            f"The {w} report number {i} was discussed at length by officials." for w in words
        ) + f"\n\nA second paragraph mentions {words[0]} again."
        date = None if i % 10 == 0 else dt.date(2021, 1, 1) + dt.timedelta(days=rnd.randrange(900))
        arts.append(Article(
            id=f"a{i}", source=f"/src/a{i}.txt", title=f"{words[0].title()} story {i}",
            body=body, date=date, tags=normalize_tags(rnd.sample(TAGS, rnd.randrange(0, 4))),
            kind="news", language="en",
        ))
    # Persian articles: Persian yeh/keheh in the text.
    arts.append(Article(id="fa1", source="/src/fa1.txt", title="گزارش کتاب یکم",
                        body="این کتاب در سال ۱۴۰۱ منتشر شد. کتاب درباره تاریخ است.",
                        date=dt.date(2022, 5, 28), tags=normalize_tags(["کتاب"]), language="fa"))
    arts.append(Article(id="fa2", source="/src/fa2.txt", title="خبر دیگر",
                        body="هیچ ربطی به موضوع ندارد.", date=None, language="fa"))
    # Two articles sharing one phrase, one with the words apart.
    arts.append(Article(id="p1", source="/src/p1.txt", title="Rates",
                        body="Interest rates rose sharply.", date=dt.date(2022, 5, 3)))
    arts.append(Article(id="p2", source="/src/p2.txt", title="Rates again",
                        body="Rates of interest were flat.", date=dt.date(2022, 5, 4)))
    return arts


CORPUS = make_corpus()


# -- the corpus on disk, and brute force over it ------------------------------------------
#
# The contract suite (`tests/test_engine_contract.py`) indexes articles from
# files, as librarians do, and computes every expected answer from those files
# again: `write_jsonl` writes them, `read_jsonl` reads them back with `json`
# alone, and `BruteForce` says, article by article, what a search means.


def write_jsonl(folder: Path, articles: Iterable[Article], per_file: int = 40) -> list[Path]:
    """`articles` as JSON Lines exports in `folder`, `per_file` records a file,
    each record carrying its article's id (so ids are the same whichever
    engine indexes the files)."""
    folder.mkdir(parents=True, exist_ok=True)
    articles = list(articles)
    paths = []
    for n, start in enumerate(range(0, len(articles), per_file)):
        path = folder / f"part-{n:03d}.jsonl"
        lines = [json.dumps(_record(a), ensure_ascii=False)
                 for a in articles[start:start + per_file]]
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        paths.append(path)
    return paths


def _record(a: Article) -> dict:
    record = {"id": a.id, "title": a.title, "body": a.body,
              "tags": [t.label for t in a.tags]}
    for name in ("kind", "language", "url"):
        if getattr(a, name):
            record[name] = getattr(a, name)
    if a.date is not None:
        record["date"] = a.date.isoformat()
    return record


def read_jsonl(folder: Path) -> list[Article]:
    """Every record of the JSON Lines files under `folder`, read with `json`
    alone; tags keyed as the format documents (`normalize_tags`)."""
    out = []
    for path in sorted(folder.rglob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            r = json.loads(line)
            out.append(Article(
                id=r["id"], source=str(path), title=r["title"], body=r["body"],
                date=dt.date.fromisoformat(r["date"]) if r.get("date") else None,
                tags=normalize_tags(r.get("tags", [])), kind=r.get("kind"),
                language=r.get("language"), url=r.get("url")))
    return out


Pred = Callable[[Article], bool]
#: Where a word is looked for: None is everywhere (title, body and tags).
FIELDS = {None: ("title", "body", "tags"), "title": ("title",), "body": ("body",),
          "tags": ("tags",)}


class BruteForce:
    """What searches mean, decided article by article over `articles`.

    Words are read as the index reads them (`index.analysis`): an article
    holds a word when the terms of its title or body contain one of the
    word's stems in any of the archive's languages, or when one of its tags
    folds to the word. A punctuated word (`al-Qaeda`) is its joined term, or
    the phrase of its parts when a part is a word on its own; `France's` is
    France. A prefix stands for the words some article contains as written
    that start with it, and for the tags that do.
    """

    def __init__(self, articles: Iterable[Article]) -> None:
        self.articles = list(articles)
        self.by_id = {a.id: a for a in self.articles}
        self.languages = [*sorted({a.language for a in self.articles if a.language}), None]
        self.written = sorted({w for a in self.articles for w in surface_words(a.title, a.body)})

    # -- what an article holds

    def terms_in(self, a: Article, field: str) -> list[str]:
        return terms(getattr(a, field), a.language)

    def holds(self, a: Article, term: str, field: str | None = None) -> bool:
        return any(term in self.terms_in(a, f) for f in FIELDS[field] if f != "tags")

    def has_phrase(self, a: Article, want: tuple[str, ...], field: str | None = None) -> bool:
        for f in FIELDS[field]:
            if f == "tags":
                continue
            got = self.terms_in(a, f)
            if any(tuple(got[i:i + len(want)]) == want for i in range(len(got))):
                return True
        return False

    @staticmethod
    def tagged(a: Article, folded: str) -> bool:
        return any(fold_tag(t.key) == folded for t in a.tags)

    # -- query forms

    def word(self, w: str, field: str | None = None) -> Pred:
        """One typed word, plain, possessive or punctuated."""
        (unit,) = units(w)
        looks_in_tags = "tags" in FIELDS[field]
        tag = fold_tag(unit.joined or unit.words[0])
        if unit.joined is None:
            stems = {got[0].parts[0] for lang in self.languages
                     if (got := units(w, lang)) and got[0].parts}

            def plain(a: Article) -> bool:
                return (any(self.holds(a, t, field) for t in stems)
                        or (looks_in_tags and self.tagged(a, tag)))
            return plain
        parts = {tuple(units(w, lang)[0].parts) for lang in self.languages}
        as_phrase = len(unit.parts) >= 2 and any(is_indexed_alone(p) for p in unit.parts)

        def punctuated(a: Article) -> bool:
            return (self.holds(a, unit.joined, field)
                    or (as_phrase and any(self.has_phrase(a, p, field) for p in parts))
                    or (looks_in_tags and self.tagged(a, tag)))
        return punctuated

    def phrase(self, text: str, field: str | None = None) -> Pred:
        """Words in a row in one field (or a tag named by them)."""
        variants = {tuple(p for u in units(text, lang) for p in u.parts)
                    for lang in self.languages}
        tag = fold_tag(tag_key(text))

        def match(a: Article) -> bool:
            return (any(self.has_phrase(a, v, field) for v in variants)
                    or ("tags" in FIELDS[field] and self.tagged(a, tag)))
        return match

    def prefix(self, p: str, field: str | None = None) -> Pred:
        """`p*`: the terms of every word as written that starts with `p`, or a tag that does."""
        wanted = {index_term(w, lang) for w in self.written if w.startswith(p)
                  for lang in self.languages}
        tags = {fold_tag(t.key) for a in self.articles for t in a.tags
                if fold_tag(t.key).startswith(p)}

        def match(a: Article) -> bool:
            return (any(self.holds(a, t, field) for t in wanted)
                    or ("tags" in FIELDS[field] and any(fold_tag(t.key) in tags
                                                        for t in a.tags)))
        return match

    def fuzzy(self, w: str, distance: int = 1, field: str | None = None) -> Pred:
        """`w~`: the terms of every word as written within `distance` edits
        (optimal string alignment) that shares its first letter, or such a tag."""
        folded = normalize_word(w)
        near = [x for x in self.written
                if x[:1] == folded[:1] and OSA.distance(folded, x) <= distance]
        wanted = {index_term(x, lang) for x in near for lang in self.languages}
        tags = {fold_tag(tag_key(x)) for x in near}

        def match(a: Article) -> bool:
            return (any(self.holds(a, t, field) for t in wanted)
                    or ("tags" in FIELDS[field] and any(fold_tag(t.key) in tags
                                                        for t in a.tags)))
        return match

    @staticmethod
    def dated(start: dt.date | None, end: dt.date | None) -> Pred:
        """`date:...`: dated within `start`..`end` (inclusive)."""
        return lambda a: (a.date is not None and (start is None or a.date >= start)
                          and (end is None or a.date <= end))

    # -- requests

    def passes(self, a: Article, r: SearchRequest, text: Pred, *, dates: bool = True,
               kinds: bool = True, languages: bool = True) -> bool:
        """`a` is found by `r` whose search text means `text`; a facet that counts
        outside one of its own filters turns that filter off."""
        keys = {t.key for t in a.tags}
        if not text(a) or not all(k in keys for k in r.tags) or keys & set(r.not_tags):
            return False
        if dates:
            if r.start and (a.date is None or a.date < r.start):
                return False
            if r.end and (a.date is None or a.date > r.end):
                return False
            if (r.undated == "only" and a.date is not None) or (
                    r.undated == "exclude" and a.date is None):
                return False
        return ((not kinds or not r.kinds or a.kind in r.kinds)
                and (not languages or not r.languages or a.language in r.languages))

    def found(self, r: SearchRequest, text: Pred = lambda a: True, **off: bool
              ) -> list[Article]:
        return [a for a in self.articles if self.passes(a, r, text, **off)]

    def ids(self, r: SearchRequest, text: Pred = lambda a: True) -> set[str]:
        return {a.id for a in self.found(r, text)}


def any_of(*preds: Pred) -> Pred:
    return lambda a: any(p(a) for p in preds)


def all_of(*preds: Pred) -> Pred:
    return lambda a: all(p(a) for p in preds)


def none_of(pred: Pred) -> Pred:
    return lambda a: not pred(a)
