"""Reader for saved article pages (`.html`): one page, one article.

A saved news or think-tank page is mostly not the article: menus, "latest
posts" lists, comment threads, cookie banners and footers surround a few
paragraphs of text. trafilatura finds those paragraphs, the title and the
tags; this module adds what the archive needs on top:

- a date read only from what the page says about itself (see `_page_date`),
  with Persian solar dates read by `index.normalize.parse_date`;
- tags from the page's keywords and `article:tag` metas, the
  `article:section` meta as the article's kind (a canonical kind, see
  `index.kinds`), the canonical URL, the author (`author` or
  `article:author` meta) and the publication (the byline lead, else
  `og:site_name`);
- a body that starts with the article's first sentence: the headline, a
  date or byline line under it, and a byline lead ("Eastbrook Policy
  Review – Interview:") are metadata, and kept out of the indexed text;
- the language the page declares (`<html lang>`, `og:locale`), unless the
  text is plainly in another script (see `_language`);
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
from index.kinds import canonical_kind, split_lead
from index.language import iso_code
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

    author = restore(_author(metas) or "") or None
    site_name = restore(_first_text(*metas.get("og:site_name", ()))) or None
    headings = (*metas.get("og:title", ()), _title_element(tree) or "", *_headlines(tree))
    body = _body_without_heading(
        text, titles=(title, *map(restore, headings)), author=author
    )
    lead = split_lead(body, confirmed=(site_name,) if site_name else ())
    if lead is not None:
        body = lead.text.strip()
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

    section = restore(_first_text(*metas.get("article:section", ())))
    kind = canonical_kind(section)
    if kind:
        # trafilatura reports the section among its categories; it is the
        # article's kind, and as a tag it would only repeat the kind facet.
        # A section that names no kind ("Business") stays a tag.
        labels = [label for label in labels if label.strip().casefold() != section.casefold()]
    elif lead is not None:
        kind = lead.kind

    return Article(
        id=stable_id(source.identity),
        source=source.path,
        title=title,
        body=body,
        date=_page_date(without_chrome, tree, metas, url),
        tags=normalize_tags(labels),
        kind=kind,
        language=_language(_declared_language(tree, metas), body),
        url=url,
        publication=lead.publication if lead is not None else site_name,
        author=author,
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


def _declared_language(tree: HtmlElement, metas: dict[str, list[str]]) -> str | None:
    """The ISO 639-1 code of `<html lang>`, else of the `og:locale` meta, else None."""
    root = tree.getroottree().getroot()
    for value in (root.get("lang"), root.get("xml:lang"), *metas.get("og:locale", ())):
        code = iso_code(value)
        if code:
            return code
    return None


# Languages written in a script other than Latin, by script. A language not
# listed here is taken to be written in Latin letters.
_SCRIPTS = {
    "arabic": {"fa", "ar", "ur", "ps", "ckb", "ku", "sd", "ug"},
    "cyrillic": {"ru", "uk", "bg", "sr", "mk", "be", "kk", "ky", "mn", "tg"},
    "greek": {"el"},
    "hebrew": {"he", "yi"},
    "cjk": {"zh", "ja", "ko"},
    "devanagari": {"hi", "mr", "ne"},
}


def _script(code: str) -> str:
    return next((name for name, codes in _SCRIPTS.items() if code in codes), "latin")


def _language(declared: str | None, body: str) -> str | None:
    """The declared language, unless the text is written in another script.

    A page's own declaration beats a statistical guess (a dozen words of
    Spanish are too few to tell from Portuguese), but site templates often
    declare "en" whatever the article is written in; when the detected
    language is written in another script than the declared one (Persian
    text on an `lang="en"` page), the text wins.
    """
    detected = detect_language(body)
    if declared is None:
        return detected
    if detected is None or _script(detected) == _script(declared):
        return declared
    return detected


def _author(metas: dict[str, list[str]]) -> str | None:
    """The author named by an `author` or `article:author` meta.

    `article:author` is often a link to a profile page; a URL is not a name.
    """
    for value in (*metas.get("author", ()), *metas.get("article:author", ())):
        name = _first_text(value)
        if name and not re.match(r"(https?:)?//|www\.", name, re.IGNORECASE):
            return name
    return None


def _headlines(tree: HtmlElement) -> list[str]:
    """The text of the page's `<h1>` elements: the headline as shown."""
    return [_first_text(h1.text_content()) for h1 in tree.iter("h1")]


# --- the body and the site chrome around it ---------------------------------------------


def _body_without_heading(text: str, titles: Iterable[str | None], author: str | None) -> str:
    """The extracted text, minus the heading trafilatura often repeats.

    The heading is the headline (any of `titles`: the chosen title, og:title,
    `<title>` with or without its " | Site" suffix, an `<h1>`) and the date
    or byline line under it ("5 May 2024", "By Jane Roe | 5 May 2024").
    Left in, they lead every snippet ("Tidal Energy Trials Begin 5 May 2024
    Engineers ...") and index the title's words twice.

    The headline may come after a kicker line ("News", "Analysis", a section
    name) or a date line placed above it; those go too, but only when they
    are short and the headline follows within the first few lines. The last
    line of the text is never dropped as a date line.
    """
    lines = text.strip().splitlines()
    wanted = {_fold_heading(t) for t in _title_forms(titles)}
    wanted.discard("")
    for i, line in enumerate(lines[:3]):
        if _fold_heading(line) in wanted:
            if all(_is_kicker(k) or _is_dateline(k, author) for k in lines[:i]):
                lines = lines[i + 1:]
            break
    for _ in range(2):
        if len(lines) > 1 and _is_dateline(lines[0], author):
            lines = lines[1:]
    return "\n".join(lines).strip()


_SITE_SUFFIX = re.compile(r"\s+[|–—-]\s+[^|–—-]+$")


def _title_forms(titles: Iterable[str | None]) -> Iterator[str]:
    """Each title, and a `<title>`-style "Headline | Site" without its site."""
    for title in titles:
        if title:
            yield title
            yield _SITE_SUFFIX.sub("", title)


def _fold_heading(line: str) -> str:
    return " ".join(line.split()).strip(" .:").casefold()


# "By Jane Roe", "Por Ana Gómez", "Par Claire Martin", "نوشته علی رضایی". (Not
# Persian "از": it also means "from" and opens ordinary sentences.)
_BYLINE = re.compile(r"(?:by|por|par|نوشته)\s+(?P<names>.{1,60})", re.IGNORECASE)
_NAME_JOINERS = frozenset({"and", "y", "e", "et", "de", "del", "la", "van", "von", "و"})
# Words that may stand before a date on a date line.
_DATE_LABEL = re.compile(
    r"^(published|updated|posted|last\s+updated|publicado|actualizado|publié|mis\s+à\s+jour"
    r"|تاریخ\s+انتشار|تاریخ)"
    r"(\s+(on|el|le))?\s*:?\s*",
    re.IGNORECASE,
)


def _is_dateline(line: str, author: str | None) -> bool:
    """True for a short line made only of a date, a byline or the author's name.

    Parts may be separated by `|`, `·` or `•`: "By Jane Roe | 5 May 2024".
    Every part has to be one of these, so a sentence that merely contains a
    date ("On 5 May 2024 the trial began.") is never a date line.
    """
    if len(line) > 100:
        return False
    folded_author = _fold_heading(author) if author else None
    parts = [p for p in re.split(r"\s*[|·•]\s*", line.strip()) if p]
    if not parts:
        return False
    for part in parts:
        if _is_byline(part):
            continue
        if folded_author and _fold_heading(part) == folded_author:
            continue
        if parse_date(_DATE_LABEL.sub("", part, count=1)) is not None:
            continue
        return False
    return True


def _is_byline(part: str) -> bool:
    """"By" and a few names: capitalized words, "and" between them, no sentence."""
    m = _BYLINE.fullmatch(part)
    if not m:
        return False
    words = m["names"].replace(",", " ").split()
    if not 0 < len(words) <= 6 or words[-1].endswith((".", "!", "?", ":")):
        return False
    return all(not w[0].islower() or w in _NAME_JOINERS for w in words)


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
