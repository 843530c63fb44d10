"""Search results → what the search page prints, with every link ready.

A template must never decide what a click does. For each thing a reader can
click (a tag to add or drop, a chip to remove, a page number, a sort order, a
bar of the date chart) the presenter computes the changed `SearchRequest`
and its URL, and hands the template plain values: labels, counts, flags and
finished URLs. The only markup passed through is the sanitized
`markupsafe.Markup` of `search.snippets` (highlighted titles and snippets).

Nothing here runs a search except through the `count` callback the zero
results advice is given; nothing here builds HTML.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

import jdatetime
from markupsafe import Markup

from search.autocomplete import Completion
from search.languages import language_name
from search.request import SearchRequest, date_bounds
from search.results import ArticleView, Hit, HitTag, SearchResults, number
from search.snippets import MAX_SNIPPETS
from webui import histogram
from webui.links import (
    api_search_url,
    article_url,
    citation_url,
    excel_csv_url,
    export_url,
    search_url,
    tag_choice_urls,
    tag_finder_action,
)

#: How many page numbers are shown either side of the current one.
PAGE_WINDOW = 2
#: At most this many "without this filter" searches are run for the advice.
MAX_RELAXATIONS = 6

SORT_LABELS = {"relevance": "Relevance", "recency": "Relevance + recency", "newest": "Newest",
               "oldest": "Oldest"}

#: Query syntax a reader can use, shown when nothing matched (see `search.query`).
HINTS = [
    ('"exact phrase"', "finds the words next to each other"),
    ("oil OR gas", "either word"),
    ("-word", "leave out articles with a word (also NOT word)"),
    ("econom*", "any word starting with econom"),
    ("title:budget", "only in titles (tag:name for tags)"),
    ("date:2022", "a year, month or day (date:[2021 to 2022-06] for a range)"),
]


# -- small values ---------------------------------------------------------------


@dataclass
class Link:
    """A labelled URL; `current` marks the one showing now (sort, page)."""

    label: str
    url: str
    current: bool = False
    description: str = ""


@dataclass
class TagOption:
    """One row of the tag facet: add/drop it, or exclude it."""

    key: str
    label: str
    count: int
    selected: bool
    toggle_url: str
    toggle_description: str
    exclude_url: str | None
    exclude_description: str
    focus_key: str


@dataclass
class Chip:
    """One applied filter in the filters bar, with the URL that removes it."""

    kind: str
    label: str
    remove_url: str
    remove_description: str
    focus_key: str


@dataclass
class HitView:
    """One result as printed."""

    id: str
    url: str
    title: str
    title_html: Markup
    date_iso: str | None
    date_text: str | None
    kind: str | None
    tags: list[Link]
    snippets: list[Markup]
    #: "Why this result": the score's parts, nested (None when not explained).
    why: WhyLine | None = None
    #: The page each snippet comes from ("p. 12"), one per snippet; "" when
    #: the article has no pages (anything but a PDF).
    snippet_pages: list[str] = field(default_factory=list)
    #: The date in the Solar Hijri calendar, for Persian articles ("۷ خرداد ۱۴۰۱").
    date_solar: str | None = None
    publication: str | None = None


@dataclass
class WhyLine:
    """One line of "why this result": what it is and what it adds."""

    label: str
    value: str
    parts: list[WhyLine]


def why_lines(node) -> WhyLine:
    """An `Explanation` as printable lines (values to 3 decimals, or 4
    significant digits when large: `search.results.number`)."""
    return WhyLine(node.label, number(node.value, 3), [why_lines(p) for p in node.parts])


@dataclass
class PageLink:
    """A pagination item: a page number, or a gap (`url` None, label "…")."""

    label: str
    url: str | None
    current: bool = False
    description: str = ""


@dataclass
class Pagination:
    previous_url: str | None = None
    next_url: str | None = None
    items: list[PageLink] = field(default_factory=list)


@dataclass
class Relaxation:
    """A zero-results suggestion: drop one filter and get `count` results."""

    label: str
    count: int
    url: str

    @property
    def count_text(self) -> str:
        return plural(self.count, "article")


@dataclass
class DateControls:
    """The date facet: chart, typed range, quick ranges and undated articles."""

    chart: histogram.Histogram
    date_from: str
    date_to: str
    quick: list[Link]
    all_dates_url: str | None
    undated_count: int
    undated_link: Link | None
    #: What the quick ranges count back from ("Newest article: June 1987").
    quick_note: str = ""


@dataclass
class SearchPage:
    """Everything the search page and its partials print."""

    q: str
    searched_for: str | None
    is_browse: bool
    total: int
    status: str
    heading: str
    messages: list[str]
    note: str | None
    hits: list[HitView]
    chips: list[Chip]
    clear_url: str | None
    hidden_fields: list[tuple[str, str]]
    tags: list[TagOption]
    more_tags: bool
    tag_finder_action: str
    finder_fields: list[tuple[str, str]]
    dates: DateControls
    sorts: list[Link]
    #: Results per page to choose from (10, 20, 50, 100).
    page_sizes: list[Link]
    pagination: Pagination
    suggestion: Link | None
    #: When a misspelled search was corrected: the corrected text (its own
    #: search) and a link searching what was typed, exactly.
    corrected: Link | None
    search_instead: Link | None
    relaxations: list[Relaxation]
    hints: list[tuple[str, str]]
    past_end: Link | None
    feed_url: str
    csv_url: str
    excel_csv_url: str
    json_url: str
    #: The result set as citations for a reference manager.
    ris_url: str
    bibtex_url: str
    api_url: str
    title: str
    #: On a phone the filters sit above the results: this link at the foot
    #: of the open panel goes down to them (None when there are none).
    results_link: Link | None = None
    #: The Kind and Language facets (empty when there is nothing to choose).
    kinds: list[TagOption] = field(default_factory=list)
    languages: list[TagOption] = field(default_factory=list)


# -- helpers ----------------------------------------------------------------------


def plural(n: int, word: str, words: str | None = None) -> str:
    """`1 article`, `2 articles`, `1,234 articles`."""
    return f"{n:,} {word if n == 1 else (words or word + 's')}"


def date_text(d: dt.date | None) -> str | None:
    """A date as readers write it: `28 May 2022`."""
    return f"{d.day} {d:%B %Y}" if d else None


_PERSIAN_DIGITS = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")


def solar_text(d: dt.date | None) -> str | None:
    """A date in the Solar Hijri calendar, in Persian ("۷ خرداد ۱۴۰۱")."""
    if d is None:
        return None
    j = jdatetime.date.fromgregorian(date=d)
    month = jdatetime.date.j_months_fa[j.month - 1]
    return f"{j.day} {month} {j.year}".translate(_PERSIAN_DIGITS)


def _solar_for(language: str | None, d: dt.date | None) -> str | None:
    """The Solar Hijri date beside the Gregorian one, for Persian articles."""
    return solar_text(d) if language == "fa" else None


def _tag_links(tags: list[HitTag], request: SearchRequest) -> list[Link]:
    # A tag on a hit adds that tag to the current search (a no-op if already there).
    urls = tag_choice_urls(request, [t.key for t in tags])
    return [
        Link(label=t.label, url=add, current=t.key in request.tags,
             description=f"Show only articles tagged {t.label}")
        for t, (add, _leave) in zip(tags, urls, strict=True)
    ]


def hit_view(hit: Hit, request: SearchRequest) -> HitView:
    """One result with its article link (carrying the search) and tag links."""
    return HitView(
        id=hit.id,
        url=article_url(hit.id, request),
        title=hit.title,
        title_html=hit.title_html,
        date_iso=hit.date.isoformat() if hit.date else None,
        date_text=date_text(hit.date),
        kind=hit.kind,
        tags=_tag_links(hit.tags, request),
        snippets=list(hit.snippets[:MAX_SNIPPETS]),
        why=why_lines(hit.explanation) if hit.explanation is not None else None,
        snippet_pages=_page_labels(hit.snippet_pages, len(hit.snippets[:MAX_SNIPPETS])),
        date_solar=_solar_for(hit.language, hit.date),
        publication=hit.publication,
    )


def _page_labels(pages: list[int], n: int) -> list[str]:
    """A label for each of `n` snippets: `p. 12` where its page is known, else ""."""
    return [f"p. {pages[i]}" if i < len(pages) else "" for i in range(n)]


def _chips(request: SearchRequest, labels: dict[str, str]) -> list[Chip]:
    chips = []
    for key in request.tags:
        label = labels.get(key, key)
        chips.append(Chip("tag", f"Tag: {label}", search_url(request.without_tag(key)),
                          f"Remove the filter tag {label}", f"chip-tag-{key}"))
    for key in request.not_tags:
        label = labels.get(key, key)
        chips.append(Chip("not_tag", f"Not: {label}",
                          search_url(request.without_not_tag(key)),
                          f"Stop excluding tag {label}", f"chip-not-{key}"))
    if request.date_from or request.date_to:
        chips.append(Chip("dates", _range_text(request), search_url(request.without_dates()),
                          "Remove the date filter", "chip-dates"))
    if request.undated == "only":
        chips.append(Chip("undated", "Undated only", search_url(request.with_undated("include")),
                          "Show dated articles too", "chip-undated"))
    elif request.undated == "exclude":
        chips.append(Chip("undated", "Dated only", search_url(request.with_undated("include")),
                          "Show undated articles too", "chip-undated"))
    for kind in request.kinds:
        chips.append(Chip("kind", f"Kind: {kind}", search_url(request.without_kind(kind)),
                          f"Remove the filter kind {kind}", f"chip-kind-{kind}"))
    for code in request.languages:
        name = language_name(code)
        chips.append(Chip("language", f"Language: {name}",
                          search_url(request.without_language(code)),
                          f"Remove the filter language {name}", f"chip-language-{code}"))
    return chips


def _choice_options(facet, chosen: tuple[str, ...], name: str, add, drop) -> list[TagOption]:
    """Rows of a facet whose values are alternatives (kinds, languages):
    each toggles its value in or out of the request's choices. Offered only
    when there is a choice to make (two values, or one chosen)."""
    values = facet.values
    if len(values) < 2 and not chosen:
        return []
    rows = []
    for v in values:
        what = v.label
        if v.selected:
            url, text = search_url(drop(v.value)), f"Remove the filter {name} {what}"
        else:
            url = search_url(add(v.value))
            text = f"Show {name} {what} too" if chosen else \
                f"Show only {name} {what} ({plural(v.count, 'article')})"
        rows.append(TagOption(key=v.value, label=what, count=v.count, selected=v.selected,
                              toggle_url=url, toggle_description=text, exclude_url=None,
                              exclude_description="", focus_key=f"{name}-{v.value}"))
    return rows


def _range_text(request: SearchRequest) -> str:
    a, b = request.date_from, request.date_to
    if a and b:
        return f"Date: {a}" if a == b else f"Date: {a} to {b}"
    return f"Date: from {a}" if a else f"Date: up to {b}"


def _tag_options(results: SearchResults, request: SearchRequest) -> list[TagOption]:
    selected_keys = set(request.tags)
    values = results.tag_facet.values
    options = _tag_rows(values, [v.selected or v.value in selected_keys for v in values], request)
    # A required tag always shows (checked), even when it is not among the top tags.
    seen = {v.value for v in values}
    for key in request.tags:
        if key not in seen:
            options.insert(0, _tag_option(key, key, results.total, True, request))
    return options


def _tag_option(key: str, label: str, count: int, selected: bool,
                request: SearchRequest, urls: tuple[str, str] | None = None) -> TagOption:
    """One facet row; an unselected tag's `urls` are its (require, exclude)
    links (see `_tag_rows`)."""
    if selected:
        toggle_url = search_url(request.without_tag(key))
        exclude_url = None
        toggle_description = f"Remove the filter tag {label}"
    else:
        toggle_url, exclude_url = urls
        toggle_description = f"Show only articles tagged {label} ({plural(count, 'article')})"
    return TagOption(
        key=key, label=label, count=count, selected=selected,
        toggle_url=toggle_url, toggle_description=toggle_description,
        exclude_url=exclude_url,
        exclude_description=f"Leave out articles tagged {label}",
        focus_key=f"tag-{key}",
    )


def tag_options_for(values, request: SearchRequest) -> list[TagOption]:
    """Tag finder matches as facet rows (for the tag lookup page)."""
    return _tag_rows(values, [v.value in request.tags for v in values], request)


def _tag_rows(values, chosen: list[bool], request: SearchRequest) -> list[TagOption]:
    """Facet rows for `values` (FacetValues), `chosen` marking the selected
    ones; the others' links are built together (`links.tag_choice_urls`)."""
    offered = [v.value for v, c in zip(values, chosen, strict=True) if not c]
    urls = iter(tag_choice_urls(request, offered))
    return [_tag_option(v.value, v.label, v.count, c, request, None if c else next(urls))
            for v, c in zip(values, chosen, strict=True)]


def _sorts(request: SearchRequest) -> list[Link]:
    # Without search text there is nothing to rank by relevance.
    names = (("newest", "oldest") if request.is_browse
             else ("relevance", "recency", "newest", "oldest"))
    current = request.sort
    if request.is_browse and current in ("relevance", "recency"):
        current = "newest"
    return [
        Link(label=SORT_LABELS[name], url=search_url(request.with_sort(name)),
             current=name == current, description=f"Sort by {SORT_LABELS[name].lower()}")
        for name in names
    ]


#: The page sizes a reader may pick (the API takes any from 1 to 100).
PAGE_SIZES = (10, 20, 50, 100)


def _page_sizes(request: SearchRequest) -> list[Link]:
    return [Link(label=str(n), url=search_url(request.with_per_page(n)),
                 current=n == request.per_page, description=f"Show {n} results per page")
            for n in PAGE_SIZES]


def pagination(results: SearchResults, request: SearchRequest, max_page: int) -> Pagination:
    """Previous/next and numbered pages around the current one, with gaps."""
    last = min(results.pages, max_page)
    page = results.page
    if last <= 1:
        return Pagination()
    shown = {1, last} | set(range(max(1, page - PAGE_WINDOW), min(last, page + PAGE_WINDOW) + 1))
    items: list[PageLink] = []
    previous = 0
    for n in sorted(shown):
        if n - previous > 1:
            items.append(PageLink(label="…", url=None))
        items.append(PageLink(label=str(n), url=search_url(request.with_page(n)),
                              current=n == page, description=f"Page {n}"))
        previous = n
    return Pagination(
        previous_url=search_url(request.with_page(page - 1)) if page > 1 else None,
        next_url=search_url(request.with_page(page + 1)) if page < last else None,
        items=items,
    )


def _quick_ranges(request: SearchRequest, newest: dt.date | None) -> list[Link]:
    """Date shortcuts counted back from the archive's newest article, not from
    today: on an archive that ends in 1987 "last 12 months" of the calendar
    would find nothing. A range equal to one before it (the latest year and
    the last 12 months, when the newest article is from December) is left out."""
    if newest is None or newest.year < 1000:  # before 1000 no date can be typed
        return []
    end_month = newest.year * 12 + newest.month - 1
    start_month = end_month - 11
    year = f"{newest.year:04d}"
    ranges = [
        ("Latest year", year, year, f"Only articles from {newest.year}, "
                                    "the year of the newest article"),
        ("Last 12 months", f"{start_month // 12:04d}-{start_month % 12 + 1:02d}",
         f"{newest.year:04d}-{newest.month:02d}",
         f"Only articles from {_month_text(start_month)} to {_month_text(end_month)}, "
         "the 12 months up to the newest article"),
        ("Last 5 years", f"{max(newest.year - 4, 1000):04d}", year,
         f"Only articles from {max(newest.year - 4, 1000)} to {newest.year}, "
         "the 5 years up to the newest article"),
    ]
    out: list[Link] = []
    seen: set[tuple[dt.date, dt.date]] = set()
    for label, a, b, description in ranges:
        first, last = date_bounds(a), date_bounds(b)
        if first is None or last is None or (first[0], last[1]) in seen:
            continue  # a year no reader can type, or the same days as a shortcut before
        seen.add((first[0], last[1]))
        out.append(Link(label=label, url=search_url(request.with_dates(a, b)),
                        current=request.date_from == a and request.date_to == b,
                        description=description))
    return out


def _month_text(month: int) -> str:
    """Months since year 0 as readers write them: `Jun 1987`."""
    return f"{dt.date(month // 12, month % 12 + 1, 1):%b %Y}"


def _dates(results: SearchResults, request: SearchRequest) -> DateControls:
    facet = results.date_facet
    has_range = bool(request.date_from or request.date_to)
    undated_link = None
    if facet.undated and request.undated != "only":
        undated_link = Link(label="Undated only", url=search_url(request.with_undated("only")),
                            description=f"Show only the {plural(facet.undated, 'undated article')}")
    return DateControls(
        chart=histogram.build(facet, request),
        date_from=request.date_from,
        date_to=request.date_to,
        quick=_quick_ranges(request, results.newest_date),
        all_dates_url=search_url(request.without_dates()) if has_range else None,
        undated_count=facet.undated,
        undated_link=undated_link,
        quick_note=(f"Newest article: {results.newest_date:%B %Y}"
                    if results.newest_date else ""),
    )


def _hidden_fields(request: SearchRequest) -> list[tuple[str, str]]:
    # The filters travel with the search form, so typing never drops them; the
    # text, dates (their own inputs) and page (new text starts at 1) do not.
    return [(k, v) for k, v in request.to_params() if k not in ("q", "from", "to", "page")]


def _relaxations(request: SearchRequest, labels: dict[str, str],
                 count: Callable[[SearchRequest], int]) -> list[Relaxation]:
    candidates: list[tuple[str, SearchRequest]] = []
    for key in request.tags:
        candidates.append((f"without the tag {labels.get(key, key)}", request.without_tag(key)))
    for key in request.not_tags:
        candidates.append((f"including the tag {labels.get(key, key)}",
                           request.without_not_tag(key)))
    if request.date_from or request.date_to:
        candidates.append(("without the date filter", request.without_dates()))
    if request.undated != "include":
        candidates.append(("with dated and undated articles", request.with_undated("include")))
    for kind in request.kinds:
        candidates.append((f"without the kind {kind}", request.without_kind(kind)))
    for code in request.languages:
        candidates.append((f"in any language, not only {language_name(code)}",
                           request.without_language(code)))
    if len(candidates) > 1 and request.q:
        candidates.append((f"for \u201c{request.q}\u201d with no filters", request.cleared()))
    out = []
    for label, relaxed in candidates[:MAX_RELAXATIONS]:
        n = count(relaxed)
        if n:
            out.append(Relaxation(label=label, count=n, url=search_url(relaxed)))
    return out


def _status(results: SearchResults, request: SearchRequest) -> str:
    took = f"{results.took_ms:.0f} ms" if results.took_ms >= 1 else "under 1 ms"
    if results.total == 0:
        if not request.is_browse or request.has_filters:
            return "No articles match."
        return "The archive is empty."
    if not results.hits:
        return f"{plural(results.total, 'result')}; this page is past the last one."
    what = plural(results.total, "article") if request.is_browse else plural(
        results.total, "result")
    if results.pages > 1:
        return f"{results.first:,}–{results.last:,} of {what} ({took})"
    return f"{what} ({took})"


# -- the page -------------------------------------------------------------------


def search_page(
    results: SearchResults,
    request: SearchRequest,
    *,
    messages: list[str] = (),
    count: Callable[[SearchRequest], int] | None = None,
    max_page: int = 1000,
) -> SearchPage:
    """The view data of one search page.

    `count(request)` tells how many results another request has; it is used
    only when nothing matched, to say what dropping each filter would give.
    """
    labels = {**results.filter_labels, **{v.value: v.label for v in results.tag_facet.values}}
    zero = results.total == 0
    searched_for = None
    if results.searched_for and results.searched_for.strip() != request.q.strip():
        searched_for = results.searched_for
    suggestion = None
    if results.suggestion and results.suggestion != request.q:
        suggestion = Link(label=results.suggestion,
                          url=search_url(request.with_query(results.suggestion)))
    corrected = search_instead = None
    if results.corrected and results.corrected_from is not None:
        corrected = Link(label=results.corrected,
                         url=search_url(request.with_query(results.corrected)))
        search_instead = Link(label=results.corrected_from,
                              url=search_url(request.with_verbatim()))
    past_end = None
    if results.total and not results.hits and results.pages:
        last = min(results.pages, max_page)
        past_end = Link(label=f"Go to the last page ({last})",
                        url=search_url(request.with_page(last)))
    chips = _chips(request, labels)
    if request.is_browse:
        heading = "Browse the archive"
        title = "Archivist"
    else:
        heading = "Results"
        title = f"{request.q} – Archivist"
    return SearchPage(
        q=request.q,
        searched_for=searched_for,
        is_browse=request.is_browse,
        total=results.total,
        status=_status(results, request),
        heading=heading,
        messages=list(dict.fromkeys([*messages, *results.messages])),
        note=results.partial_match_note,
        hits=[hit_view(h, request) for h in results.hits],
        chips=chips,
        clear_url=search_url(request.cleared()) if len(chips) > 1 else None,
        hidden_fields=_hidden_fields(request),
        tags=_tag_options(results, request),
        more_tags=results.tag_facet.total_distinct > len(results.tag_facet.values),
        tag_finder_action=tag_finder_action(),
        finder_fields=[(k, v) for k, v in request.to_params() if k != "page"],
        dates=_dates(results, request),
        sorts=_sorts(request),
        page_sizes=_page_sizes(request),
        pagination=pagination(results, request, max_page),
        suggestion=suggestion,
        corrected=corrected,
        search_instead=search_instead,
        relaxations=_relaxations(request, labels, count) if zero and count else [],
        hints=HINTS if zero and not request.is_browse else [],
        past_end=past_end,
        feed_url=export_url("exports.feed", request),
        csv_url=export_url("exports.csv", request),
        excel_csv_url=excel_csv_url(request),
        json_url=export_url("exports.json", request),
        ris_url=export_url("exports.ris", request),
        bibtex_url=export_url("exports.bibtex", request),
        api_url=api_search_url(request),
        title=title,
        results_link=(Link(label=f"Show {plural(results.total, 'result')}", url="#results")
                      if results.hits else None),
        kinds=_choice_options(results.kind_facet, request.kinds, "kind",
                              request.with_kind, request.without_kind),
        languages=_choice_options(results.language_facet, request.languages, "language",
                                  request.with_language, request.without_language),
    )


# -- the article page -------------------------------------------------------------


@dataclass
class ArticlePage:
    """Everything the article page prints."""

    article: ArticleView
    date_iso: str | None
    date_text: str | None
    tags: list[Link]
    back: Link
    related: list[HitView]
    highlighted: bool
    source_url: str | None
    #: The article's citation files ("RIS", "BibTeX").
    citations: list[Link] = field(default_factory=list)
    #: One per paragraph: "Page 3" before the first paragraph of each page of
    #: a paged article (a PDF), "" everywhere else.
    page_marks: list[str] = field(default_factory=list)
    #: The Solar Hijri date of a Persian article, and its language's name.
    date_solar: str | None = None
    language: str | None = None


def article_page(article: ArticleView, request: SearchRequest,
                 related: list[Hit]) -> ArticlePage:
    """The article with links back to its search and on to related articles."""
    searched = request != SearchRequest() and not (
        request.is_browse and not request.has_filters and request.page == 1
    )
    back = Link(
        label="Back to results" if searched else "All articles",
        url=search_url(request),
    )
    # A tag on the article page starts from the reader's search, like on a hit.
    tag_base = dataclasses.replace(request, page=1)
    return ArticlePage(
        article=article,
        date_iso=article.date.isoformat() if article.date else None,
        date_text=date_text(article.date),
        tags=_tag_links(article.tags, tag_base),
        back=back,
        related=[hit_view(h, request) for h in related],
        highlighted=bool(request.q),
        source_url=_safe_url(article.url),
        citations=[
            Link(label="RIS", url=citation_url(article.id, "ris"),
                 description="This article's citation for EndNote, Zotero or Mendeley"),
            Link(label="BibTeX", url=citation_url(article.id, "bib"),
                 description="This article's citation for LaTeX and BibTeX"),
        ],
        page_marks=_page_marks(article.paragraph_pages, len(article.paragraphs)),
        date_solar=_solar_for(article.language, article.date),
        language=language_name(article.language) if article.language else None,
    )


def _page_marks(pages: list[int], n: int) -> list[str]:
    """For each of `n` paragraphs starting on `pages`: `Page N` where page N begins, else ""."""
    marks = []
    for i in range(n):
        starts = i < len(pages) and (i == 0 or pages[i] != pages[i - 1])
        marks.append(f"Page {pages[i]}" if starts else "")
    return marks


def _safe_url(url: str | None) -> str | None:
    # Only web links become clickable: a `javascript:` URL from a hostile
    # archive is shown as text by the template, never followed.
    if url and url.strip().lower().startswith(("http://", "https://")):
        return url.strip()
    return None


# -- search-box suggestions ------------------------------------------------------


#: What an option says it does, by kind (plain searches say nothing).
COMPLETION_KIND_LABELS = {"phrase": "", "word": "", "tag": "Tag", "title": "Article"}


@dataclass
class CompletionOption:
    """One suggestion under the search box, as printed.

    `id` is the element id the box points at (`aria-activedescendant`);
    `query` is the text the box holds once the option is chosen; `in_page`
    is True when `url` is a search (shown by swapping the results region),
    False for an article page.
    """

    id: str
    text: str
    kind: str
    kind_label: str
    url: str
    query: str
    in_page: bool


def completion_options(completions: list[Completion],
                       request: SearchRequest) -> list[CompletionOption]:
    """The options for `completions` of `request`'s text, each with its link:
    a search keeps the request's filters, a tag is added to them, a title
    opens its article (with the search typed so far, for the way back)."""
    options = []
    for n, c in enumerate(completions, 1):
        searched = request.with_query(c.query)
        if c.article_id is not None:
            url = article_url(c.article_id, searched if c.query else None)
        elif c.tag is not None:
            url = search_url(searched.with_tag(c.tag))
        else:
            url = search_url(searched)
        options.append(CompletionOption(
            id=f"q-option-{n}", text=c.text, kind=c.kind,
            kind_label=COMPLETION_KIND_LABELS.get(c.kind, ""), url=url,
            query=c.query if c.article_id is None else request.q, in_page=c.article_id is None))
    return options
