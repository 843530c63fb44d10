"""Turn the Reuters-21578 newswire corpus into page dumps, for benchmarks.

Archivist's own sample archive is a few dozen articles; to measure indexing
and search at a realistic size we borrow Reuters-21578 (22 gzip'd SGML files,
21,578 stories from 1987) and rewrite every story that has both a title and a
body in the page dump shape of ``tests/fixtures/seed-article.txt``::

    TITLE

    1987/02/26 | topic, topic, place

    First paragraph of the body.

    Second paragraph.

``copies=N`` writes the corpus N times over, each copy with its own file
names and dates moved forward by 400 days per copy, so a 10x benchmark sees
ten times the files and a wider date range rather than ten identical dates.

This module must never write anywhere but the output folder it is given, and
its output must never depend on anything but the corpus and ``copies``: two
runs produce byte-identical trees. The corpus is research data licensed
"for research purposes only"; the page dumps are benchmark input, never
something to ship.

Run it as ``python -m tests.bench.reuters OUT_DIR [--copies N]``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gzip
import html
import re
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

#: Where the shared corpus lives, seen from /work/main/tests/bench/.
DEFAULT_CORPUS = Path(__file__).resolve().parents[3] / "shared/corpora/reuters21578"

#: How many stories share one shard folder (keeps directory listings small).
SHARD_SIZE = 1000

#: How far each extra copy's dates move forward.
DAYS_PER_COPY = 400

_STORY = re.compile(r"<REUTERS\b([^>]*)>(.*?)</REUTERS>", re.DOTALL)
_NEWID = re.compile(r'\bNEWID="(\d+)"')
_DATE = re.compile(r"<DATE>\s*(\d{1,2})-([A-Za-z]{3})-(\d{4})")
_TITLE = re.compile(r"<TITLE>(.*?)</TITLE>", re.DOTALL)
_BODY = re.compile(r"<BODY>(.*?)</BODY>", re.DOTALL)
_TOPICS = re.compile(r"<TOPICS>(.*?)</TOPICS>", re.DOTALL)
_PLACES = re.compile(r"<PLACES>(.*?)</PLACES>", re.DOTALL)
_D = re.compile(r"<D>(.*?)</D>", re.DOTALL)

# The wire's sign-off: "Reuter", "REUTER...", "reuter" and a couple of
# "REUTERS", sometimes on the last line of text rather than its own line.
# "told Reuters." ending a sentence is prose, so only these spellings count.
_SIGN_OFFS = ("Reuter", "reuter", "REUTER", "REUTERS")

# The corpus writes C0 controls and DEL as character references (&#3;,
# &#127;). html.unescape would delete them, but &#127; stands where a letter
# was lost ("dlr&#127;untied"), so every control becomes a space instead.
_CONTROL_REFS = re.compile(r"&#(?:[0-9]|[12][0-9]|3[01]|127);")
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")

_MONTHS = {
    m: i
    for i, m in enumerate(
        ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"),
        start=1,
    )
}


@dataclass(frozen=True)
class Story:
    """One usable Reuters story, already cleaned into plain text."""

    newid: int
    date: dt.date
    title: str
    tags: tuple[str, ...]
    paragraphs: tuple[str, ...]


def _clean(raw: str) -> str:
    """SGML text to plain text: entities resolved, control characters gone."""
    text = html.unescape(_CONTROL_REFS.sub(" ", raw.replace("\r", "")))
    return _CONTROLS.sub(" ", text)


def _strip_sign_off(body: str) -> str:
    """The body without its closing "Reuter" (a few stories carry two)."""
    text = body.rstrip()
    while True:
        # Only the tail is looked at: a regex anchored at the end would
        # still try every position of the body, and that was most of a run.
        trimmed = text.rstrip(". \t\n")
        for word in _SIGN_OFFS:
            rest = trimmed[: -len(word)]
            if trimmed.endswith(word) and not rest[-1:].isalnum():
                text = rest.rstrip()
                break
        else:
            return text


def _paragraphs(body: str) -> tuple[str, ...]:
    """Re-flow the wire's 65-column lines into paragraphs.

    Reuters starts each paragraph with an indented line; the lines after it
    are hard-wrapped continuations. Blank lines also end a paragraph.
    """
    paragraphs: list[str] = []
    current: list[str] = []
    for line in body.split("\n"):
        starts_new = not line.strip() or line[:1].isspace()
        if starts_new and current:
            paragraphs.append(" ".join(current))
            current = []
        words = " ".join(line.split())
        if words:
            current.append(words)
    if current:
        paragraphs.append(" ".join(current))
    return tuple(paragraphs)


def _story(attrs: str, inner: str) -> Story | None:
    """Parse one <REUTERS> element, or None when it lacks a title, body or date."""
    newid = _NEWID.search(attrs)
    date = _DATE.search(inner)
    title = _TITLE.search(inner)
    body = _BODY.search(inner)
    if not (newid and date and title and body):
        return None
    title_text = " ".join(_clean(title.group(1)).split())
    paragraphs = _paragraphs(_strip_sign_off(_clean(body.group(1))))
    month = _MONTHS.get(date.group(2).upper())
    if not title_text or not paragraphs or month is None:
        return None
    # Only the day is read: one story's time of day is malformed
    # ("605:12:19.12") and a page dump carries no time anyway.
    day = dt.date(int(date.group(3)), month, int(date.group(1)))
    tags: list[str] = []
    for block in (_TOPICS.search(inner), _PLACES.search(inner)):
        if block:
            for code in _D.findall(block.group(1)):
                code = " ".join(_clean(code).split())
                if code and code not in tags:
                    tags.append(code)
    return Story(int(newid.group(1)), day, title_text, tuple(tags), paragraphs)


def read_corpus(corpus_dir: Path) -> Iterator[Story]:
    """Every usable story of the corpus, in file order then document order."""
    files = sorted(corpus_dir.glob("reut2-*.sgm.gz"))
    if not files:
        raise FileNotFoundError(f"no reut2-*.sgm.gz files in {corpus_dir}")
    for path in files:
        # latin-1 maps every byte, so the one stray 0xFC cannot stop a run.
        text = gzip.decompress(path.read_bytes()).decode("latin-1")
        for match in _STORY.finditer(text):
            story = _story(match.group(1), match.group(2))
            if story is not None:
                yield story


def page_dump(story: Story, shift_days: int = 0) -> str:
    """The page dump text of `story`, its date moved by `shift_days`.

    A story with neither topics nor places gets a date line without the
    ``|`` part, the same shape a hand-saved page with no tags would have.
    """
    date = story.date + dt.timedelta(days=shift_days)
    date_line = date.strftime("%Y/%m/%d")
    if story.tags:
        date_line += " | " + ", ".join(story.tags)
    return "\n\n".join((story.title, date_line, *story.paragraphs)) + "\n"


def convert(corpus_dir: Path, out_dir: Path, copies: int = 1) -> int:
    """Write the corpus as page dumps under `out_dir`; return how many were written.

    Copy 0 is written as ``out_dir/<shard>/<NEWID>.txt``; copy k >= 1 as
    ``out_dir/copy-k/<shard>/<NEWID>-k.txt`` with dates k*400 days later. So
    the output of ``copies=10`` contains the output of ``copies=1``, and a
    benchmark can grow an existing tree. Shards are ``NEWID // 1000`` in
    three digits, so a story keeps its file name whatever else changes.
    """
    if copies < 1:
        raise ValueError("copies must be at least 1")
    stories = list(read_corpus(Path(corpus_dir)))
    out_dir = Path(out_dir)
    written = 0
    for k in range(copies):
        base = out_dir if k == 0 else out_dir / f"copy-{k}"
        suffix = "" if k == 0 else f"-{k}"
        made: set[Path] = set()
        for story in stories:
            shard = base / f"{story.newid // SHARD_SIZE:03d}"
            if shard not in made:
                shard.mkdir(parents=True, exist_ok=True)
                made.add(shard)
            target = shard / f"{story.newid}{suffix}.txt"
            target.write_text(page_dump(story, k * DAYS_PER_COPY), encoding="utf-8", newline="\n")
            written += 1
    return written


def main(argv: list[str] | None = None) -> int:
    """Command line entry point: convert, then say how many and how long."""
    parser = argparse.ArgumentParser(
        prog="python -m tests.bench.reuters",
        description="Write Reuters-21578 stories as Archivist page dumps.",
    )
    parser.add_argument("out_dir", type=Path, help="folder to write the page dumps into")
    parser.add_argument("--copies", type=int, default=1, help="write the corpus N times")
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS, help="corpus folder")
    args = parser.parse_args(argv)
    if args.copies < 1:
        parser.error("--copies must be at least 1")
    started = time.perf_counter()
    try:
        count = convert(args.corpus, args.out_dir, args.copies)
    except FileNotFoundError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    elapsed = time.perf_counter() - started
    print(f"wrote {count} page dumps to {args.out_dir} in {elapsed:.1f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
