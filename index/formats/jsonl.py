"""Reader for JSON Lines exports (`.jsonl`, `.ndjson`): one article per line.

Each non-blank line is a JSON object::

    {"id": "a-1042", "title": "...", "date": "2022-05-28", "tags": ["interview"],
     "body": "...", "url": "https://...", "kind": "analysis", "language": "en",
     "publication": "Eastbrook Policy Review", "author": "Samira Haddad"}

`title` and `body` are required; `tags` may be a list of strings or one
comma-separated string; `date`, `url`, `id`, `kind`, `language`,
`publication` and `author` may be left out. A record's `id`, when given, is
the article's id everywhere (in the index and in its URL), so it must be
unique in the file and fit in a URL path.

`kind` is mapped to a canonical kind ("entrevista" is "Interview", see
`index.kinds`); a kind the table does not know is kept, capitalized, since
the export said so. `language` may be a code or a name ("es", "fa-IR",
"Spanish"); without one, the body's language is detected. A body that opens
with a byline lead ("Eastbrook Policy Review – Analysis: ...") loses it, and
the lead fills `publication` and `kind` where the record leaves them out.

Every line stands alone: a bad line becomes a `ReadError` carrying its line
number and the rest of the file is still read. This module never raises for
bad input and never invents a date: a missing date leaves the article
undated, and a date it cannot read fails the line rather than being dropped
in silence.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from index.article import Article, ReadError, SourceText, stable_id
from index.kinds import declared_kind, split_lead
from index.language import language_of
from index.normalize import normalize_tags, parse_date, split_tags

#: What an explicit record id may look like: URL-path-safe characters only
#: (RFC 3986 "unreserved", plus the colon), so it needs no escaping in links.
ID_PATTERN = re.compile(r"[A-Za-z0-9._~:-]{1,200}")

_ID_RULE = "use 1 to 200 letters, digits or . _ ~ : -"

_BOM = "\ufeff"


class _LineError(Exception):
    """A record's fault, raised inside this module and turned into a `ReadError`."""


@dataclass
class _Ids:
    """The ids claimed so far in one file, with the line that claimed each."""

    first_line: dict[str, int] = field(default_factory=dict)

    def claim(self, article_id: str, line: int) -> None:
        first = self.first_line.get(article_id)
        if first is not None:
            raise _LineError(f"duplicate id {article_id}, first seen on line {first}")
        self.first_line[article_id] = line


def read(source: SourceText) -> Iterator[Article | ReadError]:
    """Yield one `Article` or `ReadError` per non-blank line of the export."""
    ids = _Ids()
    # Split on "\n" only: str.splitlines() would also break at U+2028 and
    # other separators that JSON allows raw inside strings.
    for number, line in enumerate(source.text.split("\n"), start=1):
        if number == 1:
            line = line.removeprefix(_BOM)
        if not line.strip():
            continue
        try:
            yield _article(source, line, number, ids)
        except _LineError as exc:
            yield ReadError(source=source.path, reason=str(exc), line=number)
        except Exception as exc:  # noqa: BLE001 - one odd line must not stop the file
            yield ReadError(
                source=source.path,
                reason=f"unreadable record: {str(exc) or type(exc).__name__}",
                line=number,
            )


def _article(source: SourceText, line: str, number: int, ids: _Ids) -> Article:
    record = _parse(line)
    place = source.identity

    explicit_id = _explicit_id(record)
    if explicit_id is not None:
        # Claimed before the other checks, so a second record with this id is
        # reported as a duplicate even when the first one fails for another reason.
        ids.claim(explicit_id, number)

    title = " ".join(_text_field(record, "title").split())
    if not title:
        raise _LineError("no title")
    body = _text_field(record, "body").strip()
    if not body:
        raise _LineError("no body")

    date = _date(record.get("date"))
    tags = normalize_tags(_tag_labels(record.get("tags")))
    url = _text_field(record, "url").strip() or None
    kind = declared_kind(_text_field(record, "kind"))
    publication = " ".join(_text_field(record, "publication").split()) or None
    author = " ".join(_text_field(record, "author").split()) or None
    lead = split_lead(body, confirmed=(publication,) if publication else ())
    # A body that is nothing but a lead keeps it: a record needs a body.
    if lead is not None and lead.text.strip():
        body = lead.text.strip()
        publication = publication or lead.publication
        kind = kind or lead.kind
    language = language_of(_text_field(record, "language"), body)
    pages = _pages(record.get("pages"), len(body))

    if explicit_id is not None:
        article_id = explicit_id
    else:
        article_id = _derived_id(place, url, title, date)
        if article_id in ids.first_line:
            # Two records without an id that share a url, or a title and a
            # date: the line number tells them apart (stable while the file is).
            article_id = stable_id(place, title, date.isoformat() if date else "", str(number))
        ids.claim(article_id, number)

    return Article(
        id=article_id,
        source=source.path,
        title=title,
        body=body,
        date=date,
        tags=tags,
        kind=kind,
        language=language,
        url=url,
        publication=publication,
        author=author,
        pages=pages,
    )


def _pages(value, length: int) -> tuple[int, ...]:
    """Page start offsets as an export writes them (a paged source's), or ()
    when the value is not such a list: 0 first, then rising, inside the body."""
    if not isinstance(value, list) or not value or len(value) > 100_000:
        return ()
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in value):
        return ()
    if value[0] != 0 or any(b <= a for a, b in zip(value, value[1:], strict=False)) \
            or value[-1] >= length:
        return ()
    return tuple(value)


def _parse(line: str) -> dict:
    try:
        record = json.loads(line)
    except json.JSONDecodeError as exc:
        raise _LineError(f"invalid JSON: {exc.msg} at column {exc.colno}") from None
    except (ValueError, RecursionError) as exc:
        # Integers too long to convert, or nesting too deep to follow.
        raise _LineError(f"invalid JSON: {str(exc) or type(exc).__name__}") from None
    if not isinstance(record, dict):
        raise _LineError(f"not a JSON object but {_json_type(record)}")
    return record


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


def _text_field(record: dict, name: str) -> str:
    """A string field; absent or null reads as ""; any other type fails the line."""
    value = record.get(name)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise _LineError(f"{name} must be a string, not {_json_type(value)}")
    return value


def _explicit_id(record: dict) -> str | None:
    value = record.get("id")
    if value is None:
        return None
    # bool is an int in Python, but `"id": true` is no id.
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise _LineError(f"id must be a string or an integer, not {_json_type(value)}")
    text = str(value)
    if not ID_PATTERN.fullmatch(text):
        raise _LineError(f"id {text[:80]!r} is unfit for a URL: {_ID_RULE}")
    return text


def _date(value: object) -> dt.date | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    date = parse_date(value) if isinstance(value, str) else None
    if date is None:
        shown = value[:80] if isinstance(value, str) else json.dumps(value)[:80]
        raise _LineError(f"unrecognized date {shown!r}")
    return date


def _tag_labels(value: object) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return split_tags(value)
    if isinstance(value, list) and all(isinstance(tag, str) for tag in value):
        return list(value)
    raise _LineError("tags must be a list of strings or a comma-separated string")


def _derived_id(place: str, url: str | None, title: str, date: dt.date | None) -> str:
    """The id of a record that brings none: from its file's place in its source
    (`SourceText.identity`) and its url, else its title and date."""
    if url:
        return stable_id(place, url)
    return stable_id(place, title, date.isoformat() if date else "")
