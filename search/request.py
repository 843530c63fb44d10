"""`SearchRequest`: everything a reader has asked for, as one value.

A search page is fully described by its URL, so the request is a frozen
value that is parsed from query-string parameters and rendered back to
them. Parsing is forgiving: an unknown parameter is ignored, an invalid value
is dropped (or clamped) and explained in a message; `from_args` never raises.
Changing the request returns a new one; any change of what is searched for
sends the reader back to page 1, because page 7 of a different result set
means nothing.

This module never touches the index: it knows parameters, not documents.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from urllib.parse import quote_plus

import jdatetime

from index.normalize import SOLAR_YEARS, tag_key, to_ascii_digits

#: Characters of search text kept (a pasted question or paragraph fits).
MAX_Q = 4000
MAX_PAGE = 1000
MAX_PER_PAGE = 100
DEFAULT_PER_PAGE = 10
MAX_TAGS = 20
MAX_TAG_LENGTH = 200
#: Kinds or languages one request may choose among (either matches).
MAX_CHOICES = 10
MAX_KIND_LENGTH = 40

#: "recency" is relevance multiplied by a decay on the article's age (`search.recency`).
SORTS = ("relevance", "recency", "newest", "oldest")
UNDATED_MODES = ("include", "only", "exclude")

_DATE = re.compile(r"^(\d{4})(?:[-/.](\d{1,2})(?:[-/.](\d{1,2}))?)?$")


@lru_cache(maxsize=4096)
def date_bounds(text: str) -> tuple[dt.date, dt.date] | None:
    """The first and last day (inclusive) a typed date stands for, or None.

    `2022` is the whole year, `2022-05` the month, `2022-05-28` the day.
    Years 1300..1499 are Persian solar years, so `1401` is 1401-01-01 to
    1401-12-29 of the solar calendar, given in Gregorian days. Persian and
    Arabic-Indic digits and `/` or `.` separators are accepted.
    """
    m = _DATE.match(to_ascii_digits(text or "").strip())
    if not m:
        return None
    year = int(m.group(1))
    month = int(m.group(2)) if m.group(2) else None
    day = int(m.group(3)) if m.group(3) else None
    solar = year in SOLAR_YEARS
    make = jdatetime.date if solar else dt.date
    try:
        if day is not None:
            start, end_next = make(year, month, day), None
        elif month is not None:
            start = make(year, month, 1)
            end_next = make(year + 1, 1, 1) if month == 12 else make(year, month + 1, 1)
        else:
            start = make(year, 1, 1)
            end_next = make(year + 1, 1, 1)
    except (ValueError, OverflowError):
        return None
    if solar:
        start = start.togregorian()
        end_next = end_next.togregorian() if end_next is not None else None
    if not (dt.date(1000, 1, 1) <= start <= dt.date(2999, 12, 31)):
        return None
    end = start if end_next is None else end_next - dt.timedelta(days=1)
    return start, end


@lru_cache(maxsize=8192)
def normalize_tag(value: str) -> str:
    """A typed tag as the index spells its key (`index.normalize.tag_key`)."""
    return tag_key(_clean(str(value)))


@lru_cache(maxsize=8192)
def _quote(value: str) -> str:
    # What `urlencode` does to each name and value. A results page quotes the
    # same search text and tags for every one of its dozens of links.
    return quote_plus(value, safe="")


def _encoded(params: list[tuple[str, str]]) -> list[str]:
    """Each parameter as `urlencode` writes it: `name=value`, both quoted."""
    return [f"{_quote(k)}={_quote(v)}" for k, v in params]


def _unique(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(v for v in values if v))


@dataclass(frozen=True)
class SearchRequest:
    """The reader's search state; see the module docstring.

    `date_from` and `date_to` are kept as the reader typed them (so a form
    can show them back); `start` and `end` are the inclusive days they mean,
    None when a bound is absent. Construct requests from user input with
    `from_args`; the constructor itself trusts its arguments.
    """

    q: str = ""
    tags: tuple[str, ...] = ()
    not_tags: tuple[str, ...] = ()
    date_from: str = ""
    date_to: str = ""
    undated: str = "include"
    sort: str = "relevance"
    page: int = 1
    per_page: int = DEFAULT_PER_PAGE
    #: Search exactly what was typed: no automatic spelling correction.
    verbatim: bool = False
    #: Kinds ("Interview") and languages ("es") an article may have: any of
    #: them matches (an article has one kind and one language).
    kinds: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    start: dt.date | None = field(init=False, compare=False, repr=False, default=None)
    end: dt.date | None = field(init=False, compare=False, repr=False, default=None)

    def __post_init__(self) -> None:
        lo = date_bounds(self.date_from) if self.date_from else None
        hi = date_bounds(self.date_to) if self.date_to else None
        object.__setattr__(self, "start", lo[0] if lo else None)
        object.__setattr__(self, "end", hi[1] if hi else None)

    # -- parsing ---------------------------------------------------------

    @classmethod
    def from_args(cls, args) -> tuple[SearchRequest, list[str]]:
        """Parse query-string parameters; return the request and messages.

        `args` may be a Werkzeug `MultiDict` (anything with `getlist`), a
        plain mapping whose values are strings or lists of strings, or an
        iterable of `(name, value)` pairs. Never raises: every value that
        cannot be used is dropped or clamped, with a message saying so.
        """
        get = _getter(args)
        errors: list[str] = []

        q = _clean(_first(get("q"))).strip()
        if len(q) > MAX_Q:
            errors.append(f"The search text was cut to its first {MAX_Q} characters.")
            q = q[:MAX_Q]

        tags = _tags(get("tag"), "tag", errors)
        not_tags = _tags(get("not_tag"), "excluded tag", errors)
        both = set(tags) & set(not_tags)
        if both:
            errors.append(
                "A tag cannot be both required and excluded; dropped the exclusion of "
                + ", ".join(sorted(both)) + "."
            )
            not_tags = tuple(t for t in not_tags if t not in both)

        date_from = _date_arg(_first(get("from")), "from", errors)
        date_to = _date_arg(_first(get("to")), "to", errors)
        if date_from and date_to:
            lo, hi = date_bounds(date_from), date_bounds(date_to)
            if lo[0] > hi[1]:
                errors.append("The dates were given in reverse order; swapped them.")
                date_from, date_to = date_to, date_from

        undated = _choice(_first(get("undated")), UNDATED_MODES, "undated", "include", errors)
        if undated == "only" and (date_from or date_to):
            errors.append(
                "Undated articles have no date to compare, so the date range was "
                "dropped while showing only undated articles."
            )
            date_from = date_to = ""

        sort = _choice(_first(get("sort")), SORTS, "sort", "relevance", errors)
        page = _int_arg(_first(get("page")), "page", 1, 1, MAX_PAGE, errors)
        per_page = _int_arg(
            _first(get("per_page")), "per_page", DEFAULT_PER_PAGE, 1, MAX_PER_PAGE, errors
        )
        verbatim = _first(get("verbatim")) in ("1", "true", "yes", "on")
        kinds = _choices(get("kind"), "kind", normalize_kind, errors)
        languages = _choices(get("language"), "language", normalize_language, errors)
        request = cls(
            q=q, tags=tags, not_tags=not_tags, date_from=date_from, date_to=date_to,
            undated=undated, sort=sort, page=page, per_page=per_page,
            verbatim=verbatim and bool(q), kinds=kinds, languages=languages,
        )
        return request, errors

    # -- rendering -------------------------------------------------------

    def to_params(self) -> list[tuple[str, str]]:
        """The canonical parameters, in a fixed order, defaults omitted."""
        params: list[tuple[str, str]] = []
        if self.q:
            params.append(("q", self.q))
        params += [("tag", t) for t in self.tags]
        params += [("not_tag", t) for t in self.not_tags]
        if self.date_from:
            params.append(("from", self.date_from))
        if self.date_to:
            params.append(("to", self.date_to))
        # After the dates: `_choice_parts` cuts the string there.
        params += [("kind", k) for k in self.kinds]
        params += [("language", v) for v in self.languages]
        if self.undated != "include":
            params.append(("undated", self.undated))
        if self.sort != "relevance":
            params.append(("sort", self.sort))
        if self.page != 1:
            params.append(("page", str(self.page)))
        if self.per_page != DEFAULT_PER_PAGE:
            params.append(("per_page", str(self.per_page)))
        if self.verbatim:
            params.append(("verbatim", "1"))
        return params

    def to_query_string(self) -> str:
        """`to_params` URL-encoded, without the leading `?` ("" for defaults).

        The same string `urllib.parse.urlencode(self.to_params())` gives.
        """
        return "&".join(_encoded(self.to_params()))

    def tag_choice_query_strings(self, tags: Iterable[str]) -> list[tuple[str, str]]:
        """For each of `tags`: the query strings of `with_tag(tag)` and of
        `with_not_tag(tag)`, in that order.

        A tag facet offers both for every tag shown, dozens per page; built
        as requests, each cost a new `SearchRequest` and a full encoding.
        Here the parts of this request's query string that all of them share
        are encoded once and each tag only adds its own parameter. The
        strings are exactly those of the two transitions (a property test
        compares them), and a tag this request already requires or excludes
        takes the transitions themselves.
        """
        head, not_tags, tail = self._choice_parts
        out = []
        for tag in tags:
            key = normalize_tag(tag)
            if not key or key in self.tags or key in self.not_tags:
                out.append((self.with_tag(tag).to_query_string(),
                            self.with_not_tag(tag).to_query_string()))
                continue
            quoted = _quote(key)
            out.append(("&".join([*head, f"tag={quoted}", *not_tags, *tail]),
                        "&".join([*head, *not_tags, f"not_tag={quoted}", *tail])))
        return out

    @cached_property
    def _choice_parts(self) -> tuple[list[str], list[str], list[str]]:
        # This request on page 1, encoded and cut where a tag or a date
        # range goes: the text and required tags, the excluded tags, the
        # rest. Worked out once per request: a results page asks for the
        # tag facet and for each hit's tags.
        params = self._refine().to_params() if self.page != 1 else self.to_params()
        enc = _encoded(params)
        ntags = (1 if self.q else 0) + len(self.tags)
        nots = ntags + len(self.not_tags)
        return enc[:ntags], enc[ntags:nots], enc[nots:]

    def date_choice_query_strings(self, dates: Iterable[str]) -> list[str]:
        """For each of `dates`: the query string of `with_dates(d, d)`.

        A date histogram links each of its bars (a year, month or day) to
        the search narrowed to it; as for the tag facet, the parameters all
        of them share are encoded once. Raises ValueError, as `with_dates`
        does, for a date `date_bounds` cannot read. A property test compares
        the strings with the transitions'.
        """
        tags, not_tags, tail = self.with_dates(None, None)._choice_parts
        head = [*tags, *not_tags]
        out = []
        for d in dates:
            text = d.strip()
            if not text:
                out.append("&".join([*head, *tail]))
                continue
            if date_bounds(text) is None:
                raise ValueError(f"not a date: {text!r}")
            quoted = _quote(text)
            out.append("&".join([*head, f"from={quoted}", f"to={quoted}", *tail]))
        return out

    # -- facts -----------------------------------------------------------

    @property
    def is_browse(self) -> bool:
        """True when there is no search text: the reader is browsing."""
        return not self.q.strip()

    @property
    def has_filters(self) -> bool:
        """True when any tag, date or undated filter narrows the results."""
        return bool(
            self.tags or self.not_tags or self.date_from or self.date_to
            or self.undated != "include" or self.kinds or self.languages
        )

    # -- transitions (each returns a new request) --------------------------

    def _refine(self, **changes) -> SearchRequest:
        # What dataclasses.replace(self, page=1, **changes) does, without its
        # per-call look at the class's fields: presenters make dozens of these
        # per page and replace() was a measurable share of a page.
        values = {name: getattr(self, name) for name in _INIT_FIELDS}
        values["page"] = 1
        values.update(changes)
        return SearchRequest(**values)

    def with_query(self, q: str) -> SearchRequest:
        """Search for other text (cut to `MAX_Q` characters), spelling
        corrections allowed again."""
        return self._refine(q=_clean(q or "").strip()[:MAX_Q], verbatim=False)

    def with_verbatim(self) -> SearchRequest:
        """The same text searched exactly as typed (no automatic correction)."""
        return self._refine(verbatim=True)

    def with_tag(self, tag: str) -> SearchRequest:
        """Also require `tag` (and stop excluding it)."""
        key = normalize_tag(tag)
        if not key:
            return self
        return self._refine(
            tags=_unique((*self.tags, key)),
            not_tags=tuple(t for t in self.not_tags if t != key),
        )

    def without_tag(self, tag: str) -> SearchRequest:
        """Stop requiring `tag`."""
        key = normalize_tag(tag)
        return self._refine(tags=tuple(t for t in self.tags if t != key))

    def with_not_tag(self, tag: str) -> SearchRequest:
        """Exclude articles with `tag` (and stop requiring it)."""
        key = normalize_tag(tag)
        if not key:
            return self
        return self._refine(
            not_tags=_unique((*self.not_tags, key)),
            tags=tuple(t for t in self.tags if t != key),
        )

    def without_not_tag(self, tag: str) -> SearchRequest:
        """Stop excluding `tag`."""
        key = normalize_tag(tag)
        return self._refine(not_tags=tuple(t for t in self.not_tags if t != key))

    def with_kind(self, kind: str) -> SearchRequest:
        """Also allow articles of `kind` (kinds are alternatives)."""
        value = normalize_kind(kind)
        if not value or value in self.kinds:
            return self
        return self._refine(kinds=(*self.kinds, value)[:MAX_CHOICES])

    def without_kind(self, kind: str) -> SearchRequest:
        """Stop choosing `kind`."""
        value = normalize_kind(kind)
        return self._refine(kinds=tuple(k for k in self.kinds if k != value))

    def with_language(self, language: str) -> SearchRequest:
        """Also allow articles in `language` (an ISO 639-1 code)."""
        value = normalize_language(language)
        if not value or value in self.languages:
            return self
        return self._refine(languages=(*self.languages, value)[:MAX_CHOICES])

    def without_language(self, language: str) -> SearchRequest:
        """Stop choosing `language`."""
        value = normalize_language(language)
        return self._refine(languages=tuple(v for v in self.languages if v != value))

    def with_dates(
        self, date_from: str | dt.date | None, date_to: str | dt.date | None
    ) -> SearchRequest:
        """Limit to a date range; either end may be None or "" (open).

        Raises ValueError for a date string `date_bounds` cannot read: this
        is for links the program builds, not for reader input. A range and
        "only undated" exclude each other, so the range wins here.
        """
        values = []
        for v in (date_from, date_to):
            s = v.isoformat() if isinstance(v, dt.date) else (v or "").strip()
            if s and date_bounds(s) is None:
                raise ValueError(f"not a date: {s!r}")
            values.append(s)
        undated = "include" if self.undated == "only" else self.undated
        return self._refine(date_from=values[0], date_to=values[1], undated=undated)

    def without_dates(self) -> SearchRequest:
        """Drop the date range."""
        return self._refine(date_from="", date_to="")

    def with_undated(self, mode: str) -> SearchRequest:
        """Include, show only, or exclude undated articles.

        "only" drops the date range, which no undated article could match.
        """
        if mode not in UNDATED_MODES:
            raise ValueError(f"undated must be one of {UNDATED_MODES}, not {mode!r}")
        if mode == "only":
            return self._refine(undated=mode, date_from="", date_to="")
        return self._refine(undated=mode)

    def with_sort(self, sort: str) -> SearchRequest:
        """Order differently (the same results, so back to page 1 of them)."""
        if sort not in SORTS:
            raise ValueError(f"sort must be one of {SORTS}, not {sort!r}")
        return self._refine(sort=sort)

    def with_page(self, page: int) -> SearchRequest:
        """Another page of the same results (clamped to 1..MAX_PAGE)."""
        return dataclasses.replace(self, page=min(max(int(page), 1), MAX_PAGE))

    def with_per_page(self, per_page: int) -> SearchRequest:
        """Another page size (clamped to 1..MAX_PER_PAGE), back to page 1."""
        return self._refine(per_page=min(max(int(per_page), 1), MAX_PER_PAGE))

    def cleared(self) -> SearchRequest:
        """The same search text with every filter removed."""
        return SearchRequest(q=self.q, sort=self.sort, per_page=self.per_page)


# -- parameter helpers ------------------------------------------------------



#: The fields a SearchRequest is built from (`start` and `end` are derived).
_INIT_FIELDS = tuple(f.name for f in dataclasses.fields(SearchRequest) if f.init)

def _getter(args):
    if args is None:
        return lambda name: []
    if hasattr(args, "getlist"):
        return lambda name: [str(v) for v in args.getlist(name)]
    if isinstance(args, Mapping):
        def get(name):
            v = args.get(name)
            if v is None:
                return []
            if isinstance(v, (list, tuple)):
                return [str(x) for x in v if x is not None]
            return [str(v)]
        return get
    pairs = [(str(k), str(v)) for k, v in args]
    return lambda name: [v for k, v in pairs if k == name]


# Control characters and lone surrogates (which cannot even be URL-encoded)
# have no business in a search; they become spaces.
_JUNK = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")


def _clean(value: str) -> str:
    return _JUNK.sub(" ", value)


def _first(values: list[str]) -> str:
    # A repeated single-valued parameter (?page=2&page=3): the first wins.
    return values[0] if values else ""


def _tags(values: list[str], what: str, errors: list[str]) -> tuple[str, ...]:
    keys = []
    for v in values:
        key = normalize_tag(v)
        if not key:
            continue
        if len(key) > MAX_TAG_LENGTH:
            errors.append(f"Ignored a {what} longer than {MAX_TAG_LENGTH} characters.")
            continue
        keys.append(key)
    keys = list(_unique(keys))
    if len(keys) > MAX_TAGS:
        errors.append(f"Only the first {MAX_TAGS} {what}s are used.")
        keys = keys[:MAX_TAGS]
    return tuple(keys)


def normalize_kind(value: str) -> str:
    """A kind as requests carry it: spaces collapsed, each word capitalized
    ("interview" and "INTERVIEW" are the kind "Interview")."""
    return " ".join(w[:1].upper() + w[1:].lower() for w in _clean(str(value)).split())


_LANGUAGE = re.compile(r"^[a-z]{2,3}$")


def normalize_language(value: str) -> str:
    """An ISO 639 code as requests carry it ("ES" is "es"); "" when it is not one."""
    v = str(value).strip().lower().replace("_", "-").split("-")[0]
    return v if _LANGUAGE.match(v) else ""


def _choices(values: list[str], what: str, normalize, errors: list[str]) -> tuple[str, ...]:
    out = []
    for v in values:
        if not v.strip():
            continue
        value = normalize(v)
        if not value or len(value) > MAX_KIND_LENGTH:
            errors.append(f"Ignored '{what}': {_show(v)} is not a {what}.")
            continue
        out.append(value)
    out = list(_unique(out))
    if len(out) > MAX_CHOICES:
        errors.append(f"Only the first {MAX_CHOICES} {what}s are used.")
        out = out[:MAX_CHOICES]
    return tuple(out)


def _date_arg(value: str, name: str, errors: list[str]) -> str:
    value = value.strip()
    if not value:
        return ""
    if date_bounds(value) is None:
        errors.append(
            f"Ignored '{name}': {_show(value)} is not a date "
            "(use 2022, 2022-05, 2022-05-28 or a Persian date such as 1401/03/07)."
        )
        return ""
    return value


def _choice(value: str, allowed: tuple[str, ...], name: str, default: str,
            errors: list[str]) -> str:
    v = value.strip().lower()
    if not v:
        return default
    if v not in allowed:
        errors.append(f"Ignored '{name}': {_show(value)} is not one of {', '.join(allowed)}.")
        return default
    return v


def _int_arg(value: str, name: str, default: int, lo: int, hi: int,
             errors: list[str]) -> int:
    v = to_ascii_digits(value).strip()
    if not v:
        return default
    try:
        n = int(v)
    except ValueError:
        errors.append(f"Ignored '{name}': {_show(value)} is not a whole number.")
        return default
    if n < lo or n > hi:
        clamped = min(max(n, lo), hi)
        errors.append(f"'{name}' must be between {lo} and {hi}; used {clamped}.")
        return clamped
    return n


def _show(value: str) -> str:
    """A short quoted echo of a bad value, for messages."""
    return repr(value if len(value) <= 40 else value[:40] + "…")
