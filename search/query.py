"""Reader's text → Whoosh query, forgivingly.

The query language is Whoosh's, narrowed to what a reader of an archive
needs: plain words (all must match), `"exact phrases"`, `OR`, `-word` and
`NOT`, `title:` and `tag:`, `word*`, `word~`, `date:2022` and
`date:[2021 to 2022-06]` (Persian solar years too). Words go through the
index's own analyzer, so `كتاب` typed on an Arabic keyboard finds `کتاب`.

A reader never sees a syntax error. Text the parser cannot read (an
unbalanced quote or bracket, a lone `OR`, `title:` with nothing after it)
is searched as plain words, and `ParsedQuery.searched_for` says which.

This module builds queries; it never runs them, and its Whoosh objects
never leave `search/`.
"""

from __future__ import annotations

import datetime as dt
import re
import threading
from dataclasses import dataclass, field

from whoosh import qparser, query
from whoosh.analysis import STOP_WORDS
from whoosh.fields import DATETIME, Schema

from index.analysis import TOKEN_PATTERN, normalize_word
from index.schema import make_schema
from search.request import date_bounds

#: The text fields a word is looked up in, in this order.
TEXT_FIELDS = ("title", "body", "tags")
#: Fields whose terms are analyzed words (and so can be highlighted).
WORD_FIELDS = ("title", "body")
#: At most this many index terms stand in for one `word*` or `word~`.
MAX_EXPANSION = 64

_OPERATORS = frozenset({"AND", "OR", "NOT", "ANDNOT", "ANDMAYBE"})
_WORD = re.compile(TOKEN_PATTERN)
_EMPTY_FIELD = re.compile(r"(?:^|[\s(])[\w]+:(?=\s|$|\))")
_DATE_CLAUSE = re.compile(r"\bdate:(?:\[[^\]]*\]|\S+)", re.IGNORECASE)
# A word made of letters and digits only: no syntax can hide in it.
_PLAIN_WORD = re.compile(r"[^\W_]+")


@dataclass
class ParsedQuery:
    """What the engine will search for.

    `query` is None for a browse (no search text, or no words in it).
    `words` are the reader's plain words, for spelling suggestions and the
    "showing those with most" note. `fallback` is True when the text could
    not be read as a query and was searched as plain words.
    """

    query: query.Query | None
    searched_for: str
    words: list[str] = field(default_factory=list)
    fallback: bool = False
    messages: list[str] = field(default_factory=list)


class _ReaderDate(DATETIME):
    """The `date` field as the parser sees it: reads dates like a request does.

    `date:2022`, `date:2022-05`, `date:1401/03/07` become a range of whole
    days via `search.request.date_bounds`; anything else is a query error,
    which sends the text to the plain-words fallback.
    """

    def parse_query(self, fieldname, qstring, boost=1.0):
        bounds = date_bounds(qstring)
        if bounds is None:
            return query.error_query(f"{qstring!r} is not a date")
        return _day_range(fieldname, bounds[0], bounds[1])

    def parse_range(self, fieldname, start, end, startexcl, endexcl, boost=1.0):
        lo = date_bounds(start) if start else None
        hi = date_bounds(end) if end else None
        if (start and lo is None) or (end and hi is None) or (lo is None and hi is None):
            return query.error_query(f"{start!r} to {end!r} is not a date range")
        return _day_range(fieldname, lo[0] if lo else None, hi[1] if hi else None)


def _day_range(fieldname: str, first: dt.date | None, last: dt.date | None) -> query.Query:
    start = dt.datetime(first.year, first.month, first.day) if first else None
    end = dt.datetime(last.year, last.month, last.day, 23, 59, 59, 999999) if last else None
    return query.DateRange(fieldname, start, end)


class _Parser(qparser.QueryParser):
    """The multifield parser, with `word*` matching unstemmed prefixes too.

    The index holds stems ("deleg" for "delegation"); the analyzer turns the
    prefix "delegat" into the stem "deleg", which is right, but "runni"
    into "runni", which matches nothing. So a prefix searches both its
    folded spelling and its stem.
    """

    def term_query(self, fieldname, text, termclass, boost=1.0, tokenize=True,
                   removestops=True):
        if fieldname == "tags" and removestops and text.lower() in STOP_WORDS:
            # A stop word is dropped from title and body; as a required tag
            # it would make "bank of england" find nothing.
            return None
        q = super().term_query(fieldname, text, termclass, boost, tokenize, removestops)
        if termclass is query.Prefix and fieldname in WORD_FIELDS:
            folded = normalize_word(text)
            if folded and isinstance(q, query.Prefix) and folded != q.text:
                return query.Or([q, query.Prefix(fieldname, folded, boost=boost)])
            if folded and q is None:
                return query.Prefix(fieldname, folded, boost=boost)
        return q


def _parser_schema() -> Schema:
    schema = make_schema()
    schema.remove("date")
    schema.add("date", _ReaderDate(stored=True, sortable=True))
    return schema


_SCHEMA = None


def _schema() -> Schema:
    # Built lazily (never at import time) and then shared: the parser only
    # reads it.
    global _SCHEMA
    if _SCHEMA is None:
        _SCHEMA = _parser_schema()
    return _SCHEMA


_local = threading.local()


def _shared_parser() -> qparser.QueryParser:
    # Building a parser with its plugins costs as much as a short parse; one
    # per thread is kept (parsers hold no state between parses, but nothing
    # in Whoosh promises they may be shared across threads).
    p = getattr(_local, "parser", None)
    if p is None:
        p = _local.parser = make_parser()
    return p


def make_parser(group=qparser.AndGroup) -> qparser.QueryParser:
    """The full query-language parser (see the module docstring)."""
    p = _Parser(None, _schema(), group=group)
    p.add_plugin(qparser.MultifieldPlugin(list(TEXT_FIELDS)))
    # `?` is how readers end questions, not a wildcard; `*` alone is no query.
    p.remove_plugin_class(qparser.WildcardPlugin)
    p.remove_plugin_class(qparser.EveryPlugin)
    p.add_plugin(qparser.PrefixPlugin())
    p.add_plugin(qparser.FuzzyTermPlugin())
    p.add_plugin(qparser.PlusMinusPlugin())
    p.add_plugin(qparser.FieldAliasPlugin({"tags": ["tag"], "title": ["t"]}))
    return p


def make_words_parser() -> qparser.QueryParser:
    """A parser that knows nothing but words (for the fallback)."""
    p = _Parser(None, _schema(), group=qparser.AndGroup, plugins=[qparser.WhitespacePlugin()])
    p.add_plugin(qparser.MultifieldPlugin(list(TEXT_FIELDS)))
    return p


def plain_words(text: str) -> list[str]:
    """The words of `text`, without operators, punctuation or field names."""
    words = []
    text = _DATE_CLAUSE.sub(" ", text)
    for m in _WORD.finditer(text):
        w = m.group(0)
        # `title:cats` is the word cats; `title:` alone contributes nothing
        # when parsing succeeded, but is a word in the fallback (see below).
        if text[m.end():m.end() + 1] == ":" and w.lower() in ("title", "tag", "tags", "date", "t"):
            continue
        if w in _OPERATORS:
            continue
        words.append(w)
    return words


def _broken(text: str) -> str | None:
    """Why the text is not a well-formed query, or None when it looks fine."""
    if text.count('"') % 2:
        return "an unbalanced quote"
    for opening, closing in ("()", "[]"):
        depth = 0
        for ch in text:
            if ch == opening:
                depth += 1
            elif ch == closing:
                depth -= 1
                if depth < 0:
                    break
        if depth != 0:
            return f"an unbalanced '{opening}{closing}'"
    tokens = text.split()
    for i, tok in enumerate(tokens):
        if tok in _OPERATORS:
            prev = tokens[i - 1] if i else None
            nxt = tokens[i + 1] if i + 1 < len(tokens) else None
            if nxt is None or nxt in _OPERATORS:
                return f"'{tok}' with nothing after it"
            if tok != "NOT" and (prev is None or prev in _OPERATORS):
                return f"'{tok}' with nothing before it"
    if _EMPTY_FIELD.search(text):
        return "a field name with nothing after it"
    return None


def _has_error(q: query.Query) -> bool:
    if getattr(q, "error", None):
        return True
    return any(_has_error(c) for c in q.children()) if not q.is_leaf() else False


def _is_null(q: query.Query | None) -> bool:
    return q is None or q is query.NullQuery or isinstance(q, query.qcore._NullQuery)


def parse(text: str) -> ParsedQuery:
    """Turn the reader's text into a `ParsedQuery`; never raises.

    An empty text (or one of only `*`) browses. A text the parser cannot
    read is searched as its plain words, with a message saying so.
    """
    text = " ".join((text or "").split())
    if not text or text.strip("*") == "":
        return ParsedQuery(None, "")
    words = plain_words(text)
    why = _broken(text) if _WORD.search(text) else "no words to search for"
    if why is None:
        try:
            q = _plain_query(text) if _is_plain(text) else _shared_parser().parse(text)
        except Exception as e:  # noqa: BLE001  Whoosh raises bare Exceptions for odd input
            why = f"a part the parser could not read ({e})"
        else:
            if _has_error(q):
                why = "a part the parser could not read"
            elif not _is_null(q):
                return ParsedQuery(q.normalize(), text, words)
            elif words:
                return ParsedQuery(
                    None, text, words,
                    messages=[f"“{text}” has only words too common to search for."],
                )
    return _fallback(text, why or "no words to search for")


def _is_plain(text: str) -> bool:
    """True when `text` is nothing but words of letters and digits (no
    operators, fields, quotes, brackets, `*`, `~`, `+` or `-`): what most
    readers type, and every keystroke of search-as-you-type."""
    return all(_PLAIN_WORD.fullmatch(w) and w not in _OPERATORS for w in text.split())


def _plain_query(text: str) -> query.Query:
    """What the full parser makes of a plain text, built directly.

    Each word must match in one of the text fields (an `Or` of its field
    terms, from the parser's own `term_query`, so analysis, stop words and
    stems are exactly the parser's), and all words must match (`And`).
    Whoosh's parser gets there through a dozen tagging and grouping passes,
    about half a millisecond for three words; this takes a tenth of that.
    `tests/test_search_query.py` checks the two agree on any plain text.
    """
    parser = _shared_parser()
    groups: list[query.Query] = []
    for word in text.split():
        fields = [q for f in TEXT_FIELDS
                  if (q := parser.term_query(f, word, query.Term)) is not None]
        if fields:
            groups.append(query.Or(fields))
    if not groups:
        return query.NullQuery
    return query.And(groups).normalize()


def _fallback(text: str, why: str) -> ParsedQuery:
    words = [w for m in _WORD.finditer(text) if (w := m.group(0)) not in _OPERATORS]
    if not words:
        return ParsedQuery(
            None, "", [], fallback=True,
            messages=[f"Nothing to search for in “{_short(text)}”; showing all articles."],
        )
    plain = " ".join(words)
    note = f"Could not read the search as a query ({why}); searched for the words: {plain}"
    try:
        q = make_words_parser().parse(plain)
    except Exception:  # noqa: BLE001  same: a reader's text must never raise
        q = None
    if _is_null(q):
        return ParsedQuery(None, plain, words, fallback=True,
                           messages=[note, f"“{plain}” has only words too common to search for."])
    return ParsedQuery(q.normalize(), plain, words, fallback=True, messages=[note])


def _short(text: str, n: int = 60) -> str:
    return text if len(text) <= n else text[:n] + "…"


def most_words(q: query.Query) -> query.Query | None:
    """The "most of the words" version of an all-words query, or None.

    For `And([a, b, c])` (with any `-word` exclusions kept as they are)
    this is `Or([a, b, c])` with a coordination bonus, so an article with
    two of three words outranks one with a single word.
    """
    positives, negatives = [], []
    base = q
    if isinstance(q, query.AndNot):
        base, negatives = q.a, [q.b]
    if not isinstance(base, query.And):
        return None
    for c in base.children():
        (negatives if isinstance(c, query.Not) else positives).append(c)
    if len(positives) < 2:
        return None
    loose: query.Query = query.Or(positives, scale=0.9)
    for n in negatives:
        loose = query.AndNot(loose, n.query if isinstance(n, query.Not) else n)
    return loose


def has_text_terms(q: query.Query | None) -> bool:
    """True when the query scores on words (not only on a date range)."""
    if q is None:
        return False
    if q.is_leaf():
        return getattr(q, "fieldname", None) in TEXT_FIELDS
    if isinstance(q, query.Not):
        return False
    return any(has_text_terms(c) for c in q.children())


def bounded(q: query.Query, reader, memo=None) -> query.Query:
    """`q` with each `word*`/`word~` replaced by at most MAX_EXPANSION terms.

    A one-letter prefix can stand for tens of thousands of index terms;
    keeping the most frequent ones bounds the cost of a query without
    changing what a reader would notice.
    """
    if isinstance(q, (query.Prefix, query.FuzzyTerm, query.Wildcard)):
        if memo is not None:
            return memo(("expand", repr(q)), lambda: bounded(q, reader))
        try:
            texts = []
            for i, t in enumerate(_expansions(q, reader)):
                if i >= 20 * MAX_EXPANSION:
                    break
                texts.append(t)
        except Exception:  # noqa: BLE001  an expansion Whoosh cannot make matches nothing
            return query.NullQuery
        if len(texts) > MAX_EXPANSION:
            texts.sort(key=lambda t: -reader.doc_frequency(q.fieldname, t))
            texts = texts[:MAX_EXPANSION]
        if not texts:
            return query.NullQuery
        return query.Or([query.Term(q.fieldname, t, boost=q.boost) for t in texts])
    if q.is_leaf():
        return q
    return q.apply(lambda c: bounded(c, reader, memo))


def _expansions(q: query.Query, reader):
    """The index terms a multi-term query stands for.

    A prefix in a word field also matches stems the prefix itself extends:
    "negotiat*" must find "negotiation", indexed as the stem "negoti".
    """
    yield from q._btexts(reader)
    if isinstance(q, query.Prefix) and q.fieldname in WORD_FIELDS and len(q.text) > 4:
        shorter = q.text[:len(q.text) - 3]
        for t in reader.expand_prefix(q.fieldname, shorter):
            word = t.decode("utf-8") if isinstance(t, bytes) else t
            if q.text.startswith(word) and word != q.text:
                yield t


def highlight_terms(q: query.Query | None, reader) -> dict[str, set[bytes]]:
    """The index terms worth marking in each word field, as bytes.

    Terms under a `NOT` or `-word` are left out: an excluded word is not
    what the reader is looking for.
    """
    out: dict[str, set[bytes]] = {f: set() for f in WORD_FIELDS}

    def walk(node):
        if isinstance(node, query.Not):
            return
        if isinstance(node, query.AndNot):
            walk(node.a)
            return
        if node.is_leaf():
            fname = getattr(node, "fieldname", None)
            if fname in out:
                try:
                    for f, t in node.existing_terms(reader, phrases=True, expand=True):
                        if f in out:
                            out[f].add(t)
                except Exception:  # noqa: BLE001  nothing to mark is better than no page
                    pass
            return
        for c in node.children():
            walk(c)

    if q is not None:
        walk(q)
    return out
