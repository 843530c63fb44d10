"""Search-box completions: what the reader may be typing, from the archive itself.

As a reader types, the last word of the search box is usually unfinished.
`completions` reads that word as a *prefix*, folded exactly as the index folds
words (`index.analysis`: case, accents, Persian and Arabic letter forms),
and the words typed before it as *context*, and offers up to
`MAX_COMPLETIONS` ways to finish it, of four kinds:

- **phrase**: a two-word sequence frequent in the archive's titles whose
  first word is the last word typed and whose second starts with the
  prefix ("oil pr" → "oil prices"), or, with no other word typed before,
  whose first word starts with it ("oi" → "oil prices");
- **word**: a word some article contains, starting with the prefix, the
  most frequent first (`search.vocabulary`);
- **tag**: a tag whose folded label starts with the prefix, the most used
  first; choosing it drops the prefix from the text and adds the tag;
- **title**: an article's title with a word starting with the prefix and
  every context word in it (compared by stem, so "price" finds "Prices"),
  the newest article first; choosing it opens the article.

Each kind may fill a quarter of the list; places a kind leaves empty go to
the kinds in that order, and a completion leading where another already
does is left out. A `Completion` says what to show, its kind and
what choosing it does (the search text it leads to, a tag to add, or an
article to open); turning that into a link is the web layer's job.

**Bounded cost.** The text is read only when it is at most `MAX_TEXT`
characters (a longer one gets no completions) and at most `MAX_CONTEXT`
earlier words are context. All the archive-wide work is done once per
index generation by `CompletionIndex.build` (sorted arrays of title words,
title stems, phrases and tags, for the newest `MAX_TITLES` articles and the
`MAX_PHRASES` most frequent phrases). A keystroke then costs a few
bisections of those arrays; one numpy pass (a top-k) over the phrases, the
tags and the vocabulary words that share the prefix; and for titles at
most `MAX_CANDIDATES` candidate articles examined, however many titles
hold the prefix or the context words.

This module never reads the index itself (the engine hands it plain
values) and never makes a URL or HTML.
"""

from __future__ import annotations

import bisect
import re
import threading
from collections import Counter
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from index.analysis import Unit, is_indexed_alone, normalize_word, stem, units

#: Longest search text completed, in characters (the typed box allows more).
MAX_TEXT = 100
#: Most completions offered for one text.
MAX_COMPLETIONS = 8
#: Words typed before the prefix that titles must contain (the last ones).
MAX_CONTEXT = 4
#: Articles whose titles are offered: the newest ones.
MAX_TITLES = 100_000
#: Candidate articles examined per keystroke when looking for titles.
MAX_CANDIDATES = 2048
#: Phrases kept per generation (the most frequent), and how many titles a
#: two-word sequence must appear in to count as a phrase.
MAX_PHRASES = 50_000
MIN_PHRASE_TITLES = 2
#: A title longer than this is shown cut, with an ellipsis.
MAX_SHOWN = 140
#: The kinds, in the order they are listed.
KINDS = ("phrase", "word", "tag", "title")

#: Characters that make a folded word a joined compound ("u.s", "al-qaeda"):
#: such a word is its own index term, never stemmed.
_JOINERS = frozenset("-.&/'")
#: What may dangle at the end of the text once the prefix is taken away:
#: a field name (`title:`), an operator in capitals, a lone sign or bracket.
_DANGLING = re.compile(r'(?:\s+|\b\w+:|\b(?:AND|OR|NOT)\b|[-+"(])$')
_OPERATORS = {"AND", "OR", "NOT"}


@dataclass(frozen=True)
class Completion:
    """One way to finish the search text.

    `text` is what the option shows; `kind` one of `KINDS`; `query` the
    search text choosing it leads to. A tag also names the `tag` key to add
    (its `query` is the text without the prefix); a title names the
    `article_id` to open (its `query` is the text as typed, for the way back).
    """

    text: str
    kind: str
    query: str
    tag: str | None = None
    article_id: str | None = None


class Words(Protocol):
    """What `completions` needs of a vocabulary (`search.vocabulary.Vocabulary`)."""

    def prefixed(self, prefix: str, limit: int) -> tuple[list[str], bool]: ...


@dataclass(frozen=True)
class Typed:
    """The search text read as context and prefix (see `read`).

    `head` is the text before the prefix, as typed; `context` the folded
    words of it that titles must hold (last `MAX_CONTEXT`); `previous` the
    folded word right before the prefix when only spaces separate them
    (the first word of a phrase), else None.
    """

    text: str
    head: str
    prefix: str
    context: tuple[str, ...]
    previous: str | None


def read(text: str) -> Typed | None:
    """`text` as prefix and context, or None when there is nothing to complete
    (empty, longer than `MAX_TEXT`, or not ending in a word)."""
    if not text or len(text) > MAX_TEXT:
        return None
    found = units(text)
    if not found or found[-1].end != len(text):
        return None
    last = found[-1]
    head = text[:last.start]
    earlier = [u for u in found[:-1] if _is_context(text, u)]
    context = tuple(dict.fromkeys(w for u in earlier if (w := _folded(u))))[-MAX_CONTEXT:]
    previous = None
    if earlier and earlier[-1] is found[-2] and _adjacent(text, found[-2], last):
        previous = _folded(found[-2])
    return Typed(text, head, last.joined or last.words[0], context, previous)


def _is_context(text: str, u: Unit) -> bool:
    """True when a unit before the prefix is a word the search requires:
    not a field name (`title:`), an operator (`OR`) or a NOT-ed word (`-oil`)."""
    if u.text in _OPERATORS or text[u.end:u.end + 1] == ":":
        return False
    return not (u.start > 0 and text[u.start - 1] == "-"
                and (u.start == 1 or text[u.start - 2].isspace()))


def _adjacent(text: str, a: Unit, b: Unit) -> bool:
    """True when only spaces separate two units (after an abbreviation's
    final dot: "U.S. trade")."""
    gap = text[a.end:b.start]
    return gap.isspace() or (a.joined is not None and gap[:1] == "." and gap[1:].isspace())


def _folded(u: Unit) -> str | None:
    """A unit as one folded word: a compound's joined form, else its word
    when the index keeps it (None for a stop word or a single letter)."""
    if u.joined is not None:
        return u.joined
    return u.words[0] if is_indexed_alone(u.words[0]) else None


def _key(word: str) -> str:
    """How a context word is compared with title words: by its stem (a
    joined compound as it is, as the index does)."""
    return word if _JOINERS.intersection(word) else stem(word)


# -- the per-generation structures --------------------------------------------------------


@dataclass
class _Sorted:
    """Distinct sorted strings, each with a sorted slice of title ids
    (`ids[ptr[i]:ptr[i + 1]]` for `keys[i]`): a prefix is a bisection."""

    keys: list[str]
    ptr: np.ndarray  # int64[len(keys) + 1]
    ids: np.ndarray  # int32, grouped by key, ascending (newest title first) within one

    @classmethod
    def of(cls, pairs: dict[str, list[int]]) -> _Sorted:
        keys = sorted(pairs)
        lengths = [len(pairs[k]) for k in keys]
        ptr = np.zeros(len(keys) + 1, dtype=np.int64)
        np.cumsum(lengths, out=ptr[1:])
        ids = np.fromiter((t for k in keys for t in pairs[k]), dtype=np.int32, count=int(ptr[-1]))
        return cls(keys, ptr, ids)

    def exact(self, key: str) -> np.ndarray:
        """The ids held by `key` (sorted, distinct)."""
        i = bisect.bisect_left(self.keys, key)
        if i == len(self.keys) or self.keys[i] != key:
            return self.ids[:0]
        return self.ids[self.ptr[i]:self.ptr[i + 1]]

    def prefixed(self, prefix: str) -> np.ndarray:
        """The ids held by every key starting with `prefix` (grouped by key,
        so not sorted and not distinct); a view, nothing copied."""
        lo = bisect.bisect_left(self.keys, prefix)
        hi = bisect.bisect_left(self.keys, prefix + "\U0010ffff", lo)
        return self.ids[self.ptr[lo]:self.ptr[hi]]


@dataclass
class CompletionIndex:
    """What `completions` looks things up in, for one index generation.

    Titles are numbered newest first, so a smaller title id is a newer
    article. Built once (`build`), then only read: threads share it.
    """

    #: Per title: its article id, its text as shown, and its folded words
    #: joined with spaces and padded with one ("␣oil␣prices␣rise␣"), so
    #: "has a word starting with p" is one substring test.
    article_ids: list[str]
    shown: list[str]
    padded: list[str]
    words: _Sorted  # folded title word -> titles
    stems: _Sorted  # stem of a title word -> titles
    phrases: list[str]  # "first second", sorted
    phrase_titles: np.ndarray  # int32: titles holding each phrase
    tag_folded: list[str]  # folded tag labels, sorted
    tag_keys: list[str]
    tag_labels: list[str]
    tag_counts: np.ndarray  # int64: articles holding each tag

    @classmethod
    def build(cls, titles: Iterable[tuple[str, str]],
              tags: Iterable[tuple[str, str, int]]) -> CompletionIndex:
        """The structures for `titles`, (article id, title) newest first (only
        the first `MAX_TITLES` are kept), and `tags`, (key, label, articles)."""
        article_ids: list[str] = []
        shown: list[str] = []
        padded: list[str] = []
        by_word: dict[str, list[int]] = {}
        by_stem: dict[str, list[int]] = {}
        pairs: Counter[str] = Counter()
        for article_id, title in titles:
            if len(article_ids) >= MAX_TITLES:
                break
            text = " ".join((title or "").split())
            if not text:
                continue
            t = len(article_ids)
            found = units(text)
            words = list(dict.fromkeys(_title_words(found)))
            article_ids.append(article_id)
            shown.append(text if len(text) <= MAX_SHOWN else text[:MAX_SHOWN - 1] + "…")
            padded.append(f" {' '.join(words)} ")
            for w in words:
                by_word.setdefault(w, []).append(t)
            for k in dict.fromkeys(_key(w) for w in words):
                by_stem.setdefault(k, []).append(t)
            pairs.update(set(_pairs(text, found)))
        frequent = [(p, n) for p, n in pairs.most_common(MAX_PHRASES) if n >= MIN_PHRASE_TITLES]
        frequent.sort()
        tag_rows = sorted((normalize_word(" ".join(label.split())), key, label, count)
                          for key, label, count in tags if count > 0)
        return cls(
            article_ids=article_ids, shown=shown, padded=padded,
            words=_Sorted.of(by_word), stems=_Sorted.of(by_stem),
            phrases=[p for p, _ in frequent],
            phrase_titles=np.array([n for _, n in frequent], dtype=np.int32),
            tag_folded=[r[0] for r in tag_rows], tag_keys=[r[1] for r in tag_rows],
            tag_labels=[r[2] for r in tag_rows],
            tag_counts=np.array([r[3] for r in tag_rows], dtype=np.int64),
        )

    def __len__(self) -> int:
        return len(self.article_ids)

    # -- lookups, each at most `limit` long ------------------------------------------

    def phrases_for(self, typed: Typed, limit: int) -> list[str]:
        """Frequent title phrases continuing the text, most frequent first."""
        start = f"{typed.previous} {typed.prefix}" if typed.previous else typed.prefix
        lo = bisect.bisect_left(self.phrases, start)
        hi = bisect.bisect_left(self.phrases, start + "\U0010ffff", lo)
        return [self.phrases[i] for i in _top(self.phrase_titles, lo, hi, limit)]

    def tags_for(self, prefix: str, limit: int) -> list[int]:
        """Rows of the tags whose folded label starts with `prefix`, most used first."""
        lo = bisect.bisect_left(self.tag_folded, prefix)
        hi = bisect.bisect_left(self.tag_folded, prefix + "\U0010ffff", lo)
        return _top(self.tag_counts, lo, hi, limit)

    def titles_for(self, typed: Typed, limit: int) -> list[int]:
        """Titles with a word starting with the prefix and every context word,
        newest first.

        Each condition is a sorted list of title ids (the prefix's only when
        it has at most `MAX_CANDIDATES`); the shortest list is walked, newest
        first, for at most `MAX_CANDIDATES` ids, each kept when the other
        lists hold it and its padded title has a word starting with the prefix.
        """
        lists = [self.stems.exact(_key(w)) for w in typed.context]
        by_prefix = self.words.prefixed(typed.prefix)
        if len(by_prefix) <= MAX_CANDIDATES:
            lists.append(np.unique(by_prefix))
        if any(len(ids) == 0 for ids in lists):
            return []
        lists.sort(key=len)
        walked = lists[0] if lists else np.arange(len(self), dtype=np.int32)
        candidates = walked[:MAX_CANDIDATES]
        for other in lists[1:]:
            at = np.minimum(np.searchsorted(other, candidates), len(other) - 1)
            candidates = candidates[other[at] == candidates]
        needle = " " + typed.prefix
        out: list[int] = []
        seen: set[str] = set()
        for t in candidates.tolist():
            if needle in self.padded[t] and self.padded[t] not in seen:
                seen.add(self.padded[t])  # the same title again: the newest is enough
                out.append(t)
                if len(out) == limit:
                    break
        return out


def _title_words(found: list[Unit]) -> Iterable[str]:
    """A title's folded words that a prefix may start: indexed words, and a
    compound's joined form and its parts."""
    for u in found:
        if u.joined is not None:
            yield u.joined
        yield from (w for w in u.words if is_indexed_alone(w))


def _pairs(text: str, found: list[Unit]) -> Iterable[str]:
    """Two indexed words (or compounds) in a row, with only spaces between."""
    for a, b in zip(found, found[1:], strict=False):
        if _adjacent(text, a, b):
            first, second = _folded(a), _folded(b)
            if first and second:
                yield f"{first} {second}"


def _top(counts: np.ndarray, lo: int, hi: int, limit: int) -> list[int]:
    """Indexes in `lo:hi` of the `limit` largest `counts`, largest first
    (ties in index order): one pass over the slice, whatever its length."""
    if hi <= lo or limit <= 0:
        return []
    part = counts[lo:hi]
    if len(part) > limit:
        chosen = np.argpartition(-part, limit - 1)[:limit]
    else:
        chosen = np.arange(len(part))
    order = np.lexsort((chosen, -part[chosen]))
    return (lo + chosen[order]).tolist()


# -- answering ---------------------------------------------------------------------------


def completions(index: CompletionIndex, vocabulary: Words, text: str,
             limit: int = MAX_COMPLETIONS) -> list[Completion]:
    """Up to `limit` (at most `MAX_COMPLETIONS`) completions of `text`, grouped
    by kind in the order of `KINDS` (see the module docstring)."""
    limit = max(0, min(limit, MAX_COMPLETIONS))
    typed = read(text)
    if typed is None or limit == 0:
        return []
    found = {
        "phrase": _phrase_completions(index, typed, limit),
        "word": _word_completions(vocabulary, typed, limit),
        "tag": _tag_completions(index, typed, limit),
        "title": _title_completions(index, typed, limit),
    }
    return _share(found, limit)


def _phrase_completions(index: CompletionIndex, typed: Typed, limit: int) -> list[Completion]:
    if typed.previous is None and typed.context:
        return []  # a phrase after other words must continue the last of them
    out = []
    for phrase in index.phrases_for(typed, limit + 1):
        # After a previous word the phrase's first word is already typed.
        ending = phrase.split(" ", 1)[1] if typed.previous else phrase
        if ending != typed.prefix:
            query = typed.head + ending
            out.append(Completion(text=query, kind="phrase", query=query))
    return out[:limit]


def _word_completions(vocabulary: Words, typed: Typed, limit: int) -> list[Completion]:
    words, _more = vocabulary.prefixed(typed.prefix, limit + 1)
    out = []
    for word in words:
        if word == typed.prefix:
            continue  # finished already: offering it again changes nothing
        query = typed.head + word
        out.append(Completion(text=query, kind="word", query=query))
    return out[:limit]


def _tag_completions(index: CompletionIndex, typed: Typed, limit: int) -> list[Completion]:
    rest = _without_dangling(typed.head)
    return [Completion(text=index.tag_labels[i], kind="tag", query=rest, tag=index.tag_keys[i])
            for i in index.tags_for(typed.prefix, limit)]


def _title_completions(index: CompletionIndex, typed: Typed, limit: int) -> list[Completion]:
    return [Completion(text=index.shown[t], kind="title", query=typed.text.strip(),
                       article_id=index.article_ids[t])
            for t in index.titles_for(typed, limit)]


def _without_dangling(head: str) -> str:
    """`head` without what only made sense before the prefix (`title:`, `OR`, `-`)."""
    while True:
        cut = _DANGLING.sub("", head)
        if cut == head:
            return head
        head = cut


def _share(found: dict[str, list[Completion]], limit: int) -> list[Completion]:
    """At most `limit` completions: each kind first takes up to an equal share,
    then the places left go to the kinds in `KINDS` order. A completion
    leading where one already taken leads is skipped."""
    share = -(-limit // len(KINDS))
    taken: dict[str, list[Completion]] = {kind: [] for kind in KINDS}
    next_of = dict.fromkeys(KINDS, 0)
    seen: set[tuple] = set()
    count = 0
    for most in (share, limit):
        for kind in KINDS:
            candidates = found.get(kind, [])
            while (len(taken[kind]) < most and count < limit
                   and next_of[kind] < len(candidates)):
                c = candidates[next_of[kind]]
                next_of[kind] += 1
                if (c.query, c.tag, c.article_id) not in seen:
                    seen.add((c.query, c.tag, c.article_id))
                    taken[kind].append(c)
                    count += 1
    return [c for kind in KINDS for c in taken[kind]]


# -- keeping one index per generation -----------------------------------------------------


class PerGeneration:
    """The `CompletionIndex` of the current and the previous index generation.

    Building one reads every stored article once, so it is built by the
    first keystroke that needs it while the others wait for it rather than
    build it again. The previous generation's is kept for requests still
    running on it.
    """

    KEEP = 2

    def __init__(self) -> None:
        self._built: dict[Hashable, CompletionIndex] = {}
        self._lock = threading.Lock()

    def get(self, key: Hashable, build: Callable[[], CompletionIndex]) -> CompletionIndex:
        """The index kept under `key`, built with `build()` the first time."""
        index = self._built.get(key)
        if index is not None:
            return index
        with self._lock:
            index = self._built.get(key)
            if index is None:
                index = build()
                self._built[key] = index
                while len(self._built) > self.KEEP:
                    del self._built[next(iter(self._built))]
        return index
