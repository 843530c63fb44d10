"""Reader for saved article pages (`.html`): one page, one article.

A saved news or think-tank page is mostly not the article: menus, "latest
posts" lists, comment threads, cookie banners and footers surround a few
paragraphs of text. trafilatura finds those paragraphs, the title and the
tags; this module adds what the archive needs on top:

- a date read only from what the page says about itself (see `_page_date`),
  with Persian solar dates read by `index.normalize.parse_date`;
- tags from the page's keywords and `article:tag` metas, the
  `article:section` meta as the article's kind, the canonical URL;
- the site's chrome (menus, sidebars, comments, headers, footers) cut away
  before trafilatura and the date finder see the page (see `_without_chrome`).

It must never invent a date (an undated page stays undated: no "today", no
file time, no year from a copyright line or a sidebar entry) and never raise
on a bad page: any failure, trafilatura's included, becomes a `ReadError`.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections import deque
from collections.abc import Iterable, Iterator
from copy import deepcopy

import htmldate
import trafilatura
from lxml.etree import XPath
from lxml.html import HtmlElement

from index.article import Article, ReadError, SourceText, stable_id
from index.normalize import detect_language, normalize_tags, parse_date, split_tags

NO_TEXT = "no article text found"
NO_TITLE = "no title"

# Meta tags that carry the publication date, read when htmldate finds none.
# htmldate rejects dates before 1995, so a Persian solar date such as
# 1401/03/07 only survives through this path.
_DATE_METAS = (
    "article:published_time",
    "datepublished",
    "date",
    "dc.date",
    "dc.date.issued",
    "dcterms.created",
    "dcterms.issued",
    "pubdate",
    "publish-date",
    "publish_date",
)

# Site chrome: regions that belong to the site rather than the article.
_SIDE_TAGS = frozenset({"aside", "nav", "header", "footer"})
_SIDE_WORDS = frozenset(
    {
        "sidebar",
        "widget",
        "comment",
        "comments",
        "related",
        "popular",
        "mostread",
        "latest",
        "recent",
        "masthead",
        "menu",
        "navbar",
        "breadcrumb",
        "breadcrumbs",
        "newsletter",
        "share",
        "cookie",
    }
)
_NAME_SPLIT = re.compile(r"[\s_-]+")
_NEVER_SIDE = frozenset({"html", "body", "main", "article"})


def read(source: SourceText) -> Iterator[Article | ReadError]:
    """Yield the page's article, or one `ReadError` saying why there is none."""
    yield read_page(source)


def read_page(source: SourceText) -> Article | ReadError:
    """Read one saved page into an `Article`, or explain why it cannot be."""
    try:
        return _read(source)
    except Exception as exc:  # noqa: BLE001 - a reader reports, it never raises
        return ReadError(source=source.path, reason=f"unreadable HTML: {_describe(exc)}")


def _read(source: SourceText) -> Article | ReadError:
    tree = trafilatura.load_html(source.text)
    if tree is None:
        return ReadError(source=source.path, reason=NO_TEXT)
    half_spaces = _HalfSpaces(source.text)
    half_spaces.protect(tree)
    restore = half_spaces.restore

    metas = _meta_values(tree)
    without_chrome = _without_chrome(tree)
    try:
        doc = trafilatura.bare_extraction(
            without_chrome,
            with_metadata=True,
            include_comments=False,
            include_images=False,
            include_links=False,
            # trafilatura's date is not used (see `_page_date`); these
            # settings only keep its own date search quick.
            date_extraction_params={"extensive_search": False, "original_date": True},
        )
    except Exception as exc:  # noqa: BLE001 - trafilatura's failure is this page's failure
        return ReadError(source=source.path, reason=f"text extraction failed: {_describe(exc)}")
    found = doc.as_dict() if doc is not None else {}
    text = restore(found.get("text") or "").strip()
    if not text:
        return ReadError(source=source.path, reason=NO_TEXT)

    title = restore(
        _first_text(found.get("title"), *metas.get("og:title", ()), _title_element(tree))
    )
    if not title:
        return ReadError(source=source.path, reason=NO_TITLE)

    body = _body_without_title(text, title)
    if not body:
        return ReadError(source=source.path, reason=NO_TEXT)

    url = restore(_first_text(_canonical_link(tree), *metas.get("og:url", ()))) or None

    labels: list[str] = []
    for raw in (
        *(found.get("tags") or ()),
        *(found.get("categories") or ()),
        *metas.get("keywords", ()),
        *metas.get("article:tag", ()),
    ):
        labels.extend(split_tags(restore(str(raw))))

    kind = restore(_first_text(*metas.get("article:section", ()))) or None
    if kind:
        # trafilatura reports the section among its categories; it is the
        # article's kind, and as a tag it would only repeat the kind facet.
        labels = [label for label in labels if label.strip().casefold() != kind.casefold()]

    return Article(
        id=stable_id(source.identity),
        source=source.path,
        title=title,
        body=body,
        date=_page_date(without_chrome, tree, metas, url),
        tags=normalize_tags(labels),
        kind=kind,
        # The script of the text outranks <html lang>: site templates often
        # declare "en" whatever language the article is written in.
        language=detect_language(body) or _declared_language(tree),
        url=url,
    )


def _describe(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__


class _HalfSpaces:
    """Carries Persian half-spaces through trafilatura.

    trafilatura drops characters that are not "printable", and the
    zero-width non-joiner (U+200C) is one of them; in Persian it is the
    half-space inside words such as "اطلاع‌رسانی", and losing it glues the
    parts together. It is swapped for a printable stand-in that the page does
    not use before extraction, and swapped back in everything read out.
    """

    ZWNJ = "\u200c"
    CANDIDATES = ("\ufffc", "\u2e3b", "\u2bd1", "\u2e4e")

    def __init__(self, page: str) -> None:
        self.stand_in = next((c for c in self.CANDIDATES if c not in page), None)

    def protect(self, tree: HtmlElement) -> None:
        if self.stand_in is None:
            return
        old, new = self.ZWNJ, self.stand_in
        for el in tree.iter():
            if isinstance(el.text, str) and old in el.text:
                el.text = el.text.replace(old, new)
            if isinstance(el.tail, str) and old in el.tail:
                el.tail = el.tail.replace(old, new)
            for name, value in el.attrib.items():
                if old in value:
                    el.set(name, value.replace(old, new))

    def restore(self, text: str) -> str:
        return text.replace(self.stand_in, self.ZWNJ) if self.stand_in else text


# --- the head: metas, title, canonical link, language ----------------------------------


def _meta_values(tree: HtmlElement) -> dict[str, list[str]]:
    """Every `<meta>` content, keyed by its lower-cased property, name or itemprop.

    A list per key, because `article:tag` is repeated once per tag.
    """
    values: dict[str, list[str]] = {}
    for meta in tree.iter("meta"):
        key = meta.get("property") or meta.get("name") or meta.get("itemprop")
        content = meta.get("content")
        if key and content and content.strip():
            values.setdefault(key.strip().lower(), []).append(content.strip())
    return values


def _first_text(*candidates: str | None) -> str:
    """The first candidate with any text in it, whitespace collapsed."""
    for candidate in candidates:
        if candidate:
            text = " ".join(str(candidate).split())
            if text:
                return text
    return ""


def _title_element(tree: HtmlElement) -> str | None:
    title = tree.find(".//title")
    return title.text_content() if title is not None else None


def _canonical_link(tree: HtmlElement) -> str | None:
    for link in tree.iter("link"):
        rel = (link.get("rel") or "").lower().split()
        href = (link.get("href") or "").strip()
        if "canonical" in rel and href:
            return href
    return None


def _declared_language(tree: HtmlElement) -> str | None:
    """`fa` or `en` from `<html lang="...">`; other languages are not ours to name."""
    root = tree.getroottree().getroot()
    lang = (root.get("lang") or root.get("xml:lang") or "").strip().lower()
    primary = lang.replace("_", "-").split("-")[0]
    return primary if primary in ("fa", "en") else None


# --- the body and the site chrome around it ---------------------------------------------


def _body_without_title(text: str, title: str) -> str:
    """The extracted text, minus the headline trafilatura often repeats.

    The headline may come after a kicker line ("News", "Analysis", a section
    name) placed above it on the page; the kicker goes too, but only when it
    is short and the headline follows within the first few lines.
    """
    lines = text.strip().splitlines()
    wanted = title.casefold()
    for i, line in enumerate(lines[:3]):
        if " ".join(line.split()).casefold() == wanted:
            if all(_is_kicker(k) for k in lines[:i]):
                lines = lines[i + 1:]
            break
    return "\n".join(lines).strip()


def _is_kicker(line: str) -> bool:
    line = line.strip()
    return 0 < len(line) <= 40 and not line.endswith((".", "!", "?", ":"))


def _without_chrome(tree: HtmlElement) -> HtmlElement:
    """A copy of the page without its chrome.

    Chrome is navigation, sidebars, comment sections, site headers and
    footers, recognized by tag (`nav`, `aside`, `header`, `footer`) or by a
    class or id word ("sidebar", "widget", "comments", ...). A region that
    holds the headline, an `article` or the `main` element is never chrome.
    Nor is a region chosen by its name that holds most of the page's prose
    (text outside links): a layout wrapper called "content-sidebar-wrap" is
    not a sidebar, but a menu is all links.

    trafilatura gets this copy, not the page: on a short article or a page
    without one it falls back to "all the text there is", which on the full
    page includes the menu.
    """
    pruned = deepcopy(tree)
    page_prose = _prose_chars(pruned)
    regions = {el for el in pruned.iter() if _is_chrome(el, page_prose)}
    for el in regions:
        if not any(a in regions for a in el.iterancestors()):
            el.drop_tree()  # keeps the tail text, which belongs to the parent
    return pruned


_PROSE = XPath(".//text()[not(ancestor::a) and not(ancestor::script) and not(ancestor::style)]")


def _prose_chars(el: HtmlElement) -> int:
    """How many non-blank characters of `el`'s text are not link text."""
    return sum(len("".join(str(t).split())) for t in _PROSE(el))


def _is_chrome(el: HtmlElement, page_prose: int) -> bool:
    if not isinstance(el.tag, str) or el.tag in _NEVER_SIDE:
        return False
    if next(el.iterdescendants("h1", "article", "main"), None) is not None:
        return False
    if el.tag in _SIDE_TAGS:
        # An article's own header and footer carry its byline and date.
        return el.tag in ("aside", "nav") or not any(a.tag == "article" for a in el.iterancestors())
    names = f"{el.get('class') or ''} {el.get('id') or ''}".lower()
    if not _SIDE_WORDS.intersection(_NAME_SPLIT.split(names)):
        return False
    return _prose_chars(el) * 2 <= page_prose


# --- the date ---------------------------------------------------------------------------


def _page_date(
    without_chrome: HtmlElement, tree: HtmlElement, metas: dict[str, list[str]], url: str | None
) -> dt.date | None:
    """The publication date the page states about itself, or None: never a guess.

    htmldate (the date finder inside trafilatura) reads the URL, the head,
    JSON-LD and date-like elements. It reads the page without its chrome,
    because a sidebar's "latest posts" dates or the masthead's "Monday,
    6 November 2023" (the day the page was saved) are not the article's, and
    with extensive search off, because that search scans running text, where
    a copyright line ("© 2021") is the likeliest find.
    """
    found = htmldate.find_date(
        without_chrome,
        extensive_search=False,
        original_date=True,
        url=url,
        max_date=dt.date.today().isoformat(),
    )
    return parse_date(found) or _date_from_markup(tree, metas)


def _date_from_markup(tree: HtmlElement, metas: dict[str, list[str]]) -> dt.date | None:
    for key in _DATE_METAS:
        for value in metas.get(key, ()):
            date = parse_date(value)
            if date is not None:
                return date
    for value in _json_ld_dates(tree):
        date = parse_date(value)
        if date is not None:
            return date
    return None


def _json_ld_dates(tree: HtmlElement) -> Iterator[str]:
    for script in tree.iter("script"):
        if (script.get("type") or "").strip().lower() != "application/ld+json":
            continue
        try:
            data = json.loads(script.text_content())
        except (ValueError, RecursionError):
            continue
        yield from _values_of(data, "datePublished")


def _values_of(data: object, key: str) -> Iterable[str]:
    """Every string stored under `key` anywhere in a JSON value (JSON-LD nests freely)."""
    # Breadth first, so the outermost object's date (the page's own) comes first.
    queue = deque([data])
    while queue:
        item = queue.popleft()
        if isinstance(item, dict):
            value = item.get(key)
            if isinstance(value, str):
                yield value
            queue.extend(v for v in item.values() if isinstance(v, (dict, list)))
        elif isinstance(item, list):
            queue.extend(item)
