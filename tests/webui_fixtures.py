"""A small real index for the web UI tests, and helpers to read its HTML.

The corpus is written here as `Article` values (no files to parse), so each
test knows exactly what is in it: 36 ordinary articles over four years with
a few tags, three undated ones, a Persian one, and a hostile handful whose
titles, tags, bodies and URLs try to run script in the reader's browser.
The index is built through the real writer and store: once per run for the
modules that share it (`corpus_index` in conftest.py), or by a module itself
with `build_index` when it needs an archive of its own.
"""

from __future__ import annotations

import datetime as dt
import threading
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import lxml.html

from index.article import Article, Tag
from index.embedded import store
from index.embedded.engine import write_articles

TOPICS = ["harbour", "railway", "drought", "election"]
TAG_SETS = [("Energy",), ("Trade", "Energy"), ("Politics",), ("Trade",)]

HOSTILE_TITLE = '<script>window.__pwned = 1; alert("title")</script> Harbour <b>bold</b>'
HOSTILE = [
    Article(
        id="hostile-title", source="/archive/hostile1.txt",
        title=HOSTILE_TITLE,
        body=('A harbour story. <img src=x onerror="window.__pwned=2;alert(2)"> '
              '"><svg onload=alert(3)> and <iframe src="javascript:alert(4)"></iframe> end.'),
        date=dt.date(2021, 6, 1),
        tags=(Tag("<img src=x onerror=alert(5)>", "<img src=x onerror=alert(5)>"),),
        kind="<script>alert(6)</script>",
        url="javascript:alert(7)",
    ),
    Article(
        id="hostile-body", source="/archive/hostile2.txt",
        title="Harbour notes \u202e reversed",
        body=("<style>body{display:none}</style><a href=\"javascript:alert(8)\">click</a> "
              "harbour {{ 7*7 }} {% raw %} <mark>fake mark</mark> &lt;script&gt;"),
        date=dt.date(2021, 6, 2),
        tags=(Tag('x" onmouseover="alert(9)', 'x" onmouseover="alert(9)'),),
        url="https://example.org/a?b=<script>",
    ),
]

PERSIAN = Article(
    id="persian-1", source="/archive/fa.txt",
    title="گزارش بندر و کشتیرانی",
    body="این گزارش درباره بندر و تجارت دریایی است. بندر شلوغ بود.",
    date=dt.date(2022, 3, 1),
    tags=(Tag("اقتصاد", "اقتصاد"),),
    language="fa",
)


def corpus() -> list[Article]:
    """All articles of the test index."""
    articles = []
    for i in range(36):
        topic = TOPICS[i % 4]
        tags = tuple(Tag(t.lower(), t) for t in TAG_SETS[i % 4])
        date = dt.date(2019 + i % 4, 1 + i % 12, 1 + i % 28)
        articles.append(Article(
            id=f"art-{i:02d}", source=f"/archive/{i:02d}.txt",
            title=f"Report {i} on the {topic}",
            body=(f"Paragraph one of report {i} covers the {topic} in detail. "
                  f"Marker{i} appears here.\n\nA second paragraph mentions the {topic} again "
                  "together with ports, budgets and weather."),
            date=date, tags=tags, kind="News" if i % 2 else "Analysis",
            url=f"https://example.org/{i}",
        ))
    for j in range(3):
        articles.append(Article(
            id=f"undated-{j}", source=f"/archive/undated{j}.txt",
            title=f"Undated memo {j} about the harbour",
            body="An undated memo about the harbour and its cranes.",
            tags=(Tag("memo", "Memo"),),
        ))
    articles.append(PERSIAN)
    articles.extend(HOSTILE)
    return articles


def build_index(index_dir: Path, articles: list[Article] | None = None) -> Path:
    """Write `articles` (default: `corpus()`) as the current generation of `index_dir`."""
    gen, ix = store.new_generation(index_dir)
    write_articles(ix, corpus() if articles is None else articles)
    ix.close()
    store.make_current(index_dir, gen)
    return index_dir


# -- reading pages ----------------------------------------------------------------


def parse_html(data: bytes | str):
    """An lxml tree of a page or fragment."""
    return lxml.html.fromstring(data)


def query_of(url: str) -> list[tuple[str, str]]:
    """The (name, value) pairs of a URL's query string, in order."""
    return parse_qsl(urlsplit(url).query, keep_blank_values=True)


def path_of(url: str) -> str:
    return urlsplit(url).path


# -- a real server ---------------------------------------------------------------------


class LiveServer:
    """The app served by waitress on a free loopback port, in a background thread."""

    def __init__(self, app) -> None:
        from webui.server import make_server

        self.server = make_server(app, host="127.0.0.1", port=0, threads=4)
        self.url = f"http://127.0.0.1:{self.server.effective_port}"
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        # Closed by the server's own loop thread: a socket closed from here could
        # vanish under that thread's select(), which then died with EBADF.
        try:
            self.server.trigger.pull_trigger(self._close_all)
        except OSError:
            # The loop already ended and closed its trigger (seen once in CI, after
            # the test's own checks had passed): there is nothing left to close.
            pass
        self.thread.join(timeout=5)

    def _close_all(self) -> None:
        """In the loop thread: end every open connection (a browser keeps some
        alive), then the server; with nothing left to watch, the loop returns."""
        for channel in list(self.server.active_channels.values()):
            channel.close()
        self.server.close()
