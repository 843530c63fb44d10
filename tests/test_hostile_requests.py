"""Hostile requests against the real `archivist serve`, on every reader's route.

`search.plan` promises that any search text costs bounded work (at most
`MAX_CHARS` characters read, `MAX_TERMS` distinct words, `MAX_EXPANDING`
prefix or fuzzy words, 2 edits, `MAX_DEPTH` nested brackets) and that
whatever it drops or changes is said in a note; `SearchRequest.from_args`
and `webui.limits` clamp pages, page sizes and tags the same way. Here the
real server (`archivist serve` in a subprocess, over an index of 1,500
generated articles) is sent requests built to break those promises, on every
route a reader can reach: the search page (whole and as an htmx fragment),
the JSON API, the Atom feed, both exports, an article page and the tag finder.

Every answer must be 200 (nothing here deserves a 4xx: the app clamps and
explains rather than refusing, and no URL sent is near waitress's 256 KB
request-header limit) and a well-formed document of its type; the server
must log no traceback; each request must finish within `CEILING` seconds
(a hang detector, not a speed test: `tests/bench/hostile_bench.py`
measures the cost). Where the reader is told something, the search page and
the API must carry the note, and the API's document must show the bound
applied; both would fail if a bound were removed.

The module's server runs with `MAX_QUERY_CHARS` set to `MAX_Q` (4,000, the
most `SearchRequest` keeps) whatever the configured default, so the plan's
own bounds are reachable; one more test serves with an operator's tighter
setting (500), which `webui.limits` applies first.
"""

from __future__ import annotations

import csv
import html
import io
import json
import random
import string
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode
from xml.etree import ElementTree as ET

import pytest

from index.writer import update
from search.plan import MAX_DEPTH, MAX_EDITS, MAX_EXPANDING, MAX_EXPANSION, MAX_TERMS
from search.request import MAX_PAGE, MAX_PER_PAGE, MAX_Q, MAX_TAGS
from tests.corpus import TAGS, WORDS, write_corpus
from tests.servers import free_port, start_archivist, stop_process

#: Seconds any one request may take before it counts as a hang.
CEILING = 10.0
ARTICLES = 1500
ATOM = "{http://www.w3.org/2005/Atom}"
FRAGMENT = {"HX-Request": "true", "HX-Target": "results-region"}
CSV_HEADER = ["id", "title", "date", "kind", "tags", "url", "source"]


# -- the hostile requests -------------------------------------------------------------


def _varied_text(rng: random.Random, chars: int) -> str:
    """`chars` characters of words: the corpus's own and made-up ones (more
    than `MAX_TERMS` distinct)."""
    words: list[str] = []
    while sum(len(w) + 1 for w in words) < chars + 20:
        if rng.random() < 0.5:
            words.append(rng.choice(WORDS))
        else:
            words.append("".join(rng.choice(string.ascii_lowercase)
                                 for _ in range(rng.randint(4, 9))))
    return " ".join(words)[:chars].strip()


def _distinct_words(rng: random.Random, n: int) -> str:
    seen: dict[str, None] = {}
    while len(seen) < n:
        seen["".join(rng.choice(string.ascii_lowercase) for _ in range(rng.randint(4, 9)))] = None
    return " ".join(seen)


def _many_tags(rng: random.Random, n: int) -> list[tuple[str, str]]:
    tags = list(TAGS) + [f"made-up tag {i}" for i in range(n - len(TAGS))]
    rng.shuffle(tags)
    return [("q", "oil")] + [("tag", t) for t in tags]


@dataclass(frozen=True)
class Hostile:
    """One hostile request: its parameters, the notes a reader must be shown
    (on the search page and in the API's `messages`), and a check of the
    API's document that fails if the bound behind the note were gone."""

    params: list[tuple[str, str]]
    notes: tuple[str, ...] = ()
    api: object = None  # callable(document) -> None, asserting


def _api_fuzzy(doc: dict) -> None:
    assert doc["searched_for"].endswith(f"~{MAX_EDITS}"), doc["searched_for"]


def _api_leading(doc: dict) -> None:
    assert doc["searched_for"] and not any(w.startswith("*") for w in
                                           doc["searched_for"].split()), doc["searched_for"]


def _api_expanding(doc: dict) -> None:
    assert doc["searched_for"].count("*") == MAX_EXPANDING, doc["searched_for"]


def _api_terms(doc: dict) -> None:
    distinct = set(doc["searched_for"].split())  # a repeated word may be written twice
    assert MAX_TERMS // 2 < len(distinct) <= MAX_TERMS, len(distinct)


def _api_nested(doc: dict) -> None:
    assert doc["searched_for"] == "oil" and doc["total"] > 0, doc["searched_for"]


def _api_browse(doc: dict) -> None:
    assert doc["searched_for"] == "" and doc["total"] == ARTICLES, doc["total"]


def _api_page(doc: dict) -> None:
    assert 1 <= doc["pages"] <= MAX_PAGE and doc["page"] == doc["pages"], (doc["page"],
                                                                           doc["pages"])
    assert doc["hits"], "the last page is shown, not an empty one"


def _api_per_page(doc: dict) -> None:
    assert doc["per_page"] == MAX_PER_PAGE and len(doc["hits"]) == MAX_PER_PAGE, doc["per_page"]


def _api_tags(doc: dict) -> None:
    assert doc["request"].count("tag=") == MAX_TAGS, doc["request"].count("tag=")


def _api_prefix_capped(doc: dict) -> None:
    assert doc["total"] > 0 and doc["searched_for"] == "marker*", doc["searched_for"]


_rng = random.Random(20_260_401)
HOSTILE: dict[str, Hostile] = {
    "fuzzy ~9 on a 30-letter word": Hostile(
        [("q", "abcdefghijklmnopqrstuvwxyzabcd~9")],
        (f"at most {MAX_EDITS} letters may differ",), _api_fuzzy),
    "leading stars": Hostile(
        [("q", "*a* *e* *o*")], ("A word cannot start with '*'",), _api_leading),
    "eight prefixes": Hostile(
        [("q", "a* b* c* d* e* f* g* h*")],
        (f"At most {MAX_EXPANDING} words may end in '*' or '~'",), _api_expanding),
    "4,000 characters of varied words": Hostile(
        [("q", _varied_text(_rng, MAX_Q))],
        (f"Only the first {MAX_TERMS} different words were searched for",), _api_terms),
    "400 nested brackets": Hostile(
        [("q", "(" * 400 + "oil" + ")" * 400)],
        (f"Brackets nested deeper than {MAX_DEPTH} were ignored",), _api_nested),
    "300 double quotes": Hostile(
        [("q", '"' * 300)], ("Nothing to search for in",), _api_browse),
    "page 1,000,000,000": Hostile(
        [("q", "oil"), ("page", "1000000000")],
        (f"'page' must be between 1 and {MAX_PAGE}", "showing the last"), _api_page),
    "per_page 100,000": Hostile(
        [("q", "oil"), ("per_page", "100000")],
        (f"'per_page' must be between 1 and {MAX_PER_PAGE}",), _api_per_page),
    "1,000 tag parameters": Hostile(
        _many_tags(_rng, 1000), (f"Only the first {MAX_TAGS} tags are used",), _api_tags),
    "1,000 NOTs": Hostile(
        [("q", " ".join(["NOT"] * 1000))], ("too common to search for",), _api_browse),
    "title: 500 times": Hostile(
        [("q", "title:" * 500)], ("'title:' with nothing after it was ignored",),
        _api_browse),
    "2,000 distinct random words": Hostile(
        [("q", _distinct_words(_rng, 2000))],
        (f"cut to its first {MAX_Q} characters",
         f"Only the first {MAX_TERMS} different words were searched for"), _api_terms),
    "fuzzy ~6 on a 20-letter word": Hostile(
        [("q", "abcdefghijklmnopqrst~6")],
        (f"at most {MAX_EDITS} letters may differ",), _api_fuzzy),
    # Not in the list of the original brief: a prefix standing for 1,500 words
    # (Marker0 ... Marker1499), which only MAX_EXPANSION keeps cheap.
    "prefix of 1,500 words": Hostile(
        [("q", "marker*")], (f"stands for more than {MAX_EXPANSION} words",),
        _api_prefix_capped),
}


# -- the server ---------------------------------------------------------------------------


@dataclass
class Server:
    url: str
    pid: int
    log: Path
    article_id: str


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):  # a 3xx is an answer to check, not follow
        return None


_OPENER = urllib.request.build_opener(_NoRedirect)


@dataclass
class Answer:
    status: int
    content_type: str
    body: bytes
    seconds: float

    @property
    def text(self) -> str:
        return self.body.decode("utf-8")


def fetch(url: str, headers: dict | None = None) -> Answer:
    t0 = time.monotonic()
    try:
        with _OPENER.open(urllib.request.Request(url, headers=headers or {}),
                          timeout=CEILING + 20) as r:
            status, ctype, body = r.status, r.headers.get("Content-Type", ""), r.read()
    except urllib.error.HTTPError as e:
        status, ctype, body = e.code, e.headers.get("Content-Type", ""), e.read()
    return Answer(status, ctype, body, time.monotonic() - t0)


def _serve(index_dir: Path, log: Path, max_query_chars: int) -> tuple[subprocess.Popen, str]:
    """`archivist serve` with `MAX_QUERY_CHARS` set, once it answers, and its URL."""
    port = free_port()
    proc = start_archivist(index_dir, port, log, timeout=60,
                           env={"ARCHIVIST_MAX_QUERY_CHARS": str(max_query_chars)})
    return proc, f"http://127.0.0.1:{port}"


@pytest.fixture(scope="module")
def index_dir(tmp_path_factory) -> Path:
    base = tmp_path_factory.mktemp("hostile")
    write_corpus(base / "corpus", ARTICLES)
    summary = update(base / "index", [base / "corpus"])
    assert summary.articles == ARTICLES
    return base / "index"


@pytest.fixture(scope="module")
def server(index_dir) -> Server:
    log = index_dir.parent / "serve.log"
    proc, url = _serve(index_dir, log, MAX_Q)
    try:
        hit = json.loads(fetch(url + "/api/search?q=oil").body)["hits"][0]
        yield Server(url, proc.pid, log, hit["id"])
    finally:
        stop_process(proc)


# -- the routes -------------------------------------------------------------------------


def _html_page(answer: Answer, marker: str) -> str:
    assert answer.content_type.startswith("text/html"), answer.content_type
    text = answer.text
    assert text.rstrip().endswith("</html>"), text[-200:]
    assert marker in text, marker
    return html.unescape(text)


def check_page(answer: Answer) -> str:
    return _html_page(answer, 'id="results-region"')


def check_fragment(answer: Answer) -> str:
    text = answer.text
    assert 'id="results-region"' in text and "</html>" not in text, text[:300]
    return html.unescape(text)


def check_api(answer: Answer) -> dict:
    doc = json.loads(answer.body)
    assert {"total", "hits", "messages", "searched_for"} <= set(doc), sorted(doc)
    return doc


def check_feed(answer: Answer) -> None:
    assert ET.fromstring(answer.body).tag == f"{ATOM}feed"


def check_csv(answer: Answer) -> None:
    rows = list(csv.reader(io.StringIO(answer.text)))
    assert rows and rows[0] == CSV_HEADER, rows[:1]
    assert all(len(r) == len(CSV_HEADER) for r in rows)


def check_export(answer: Answer) -> dict:
    doc = json.loads(answer.body)
    assert doc["exported"] == len(doc["hits"]) <= doc["limit"], doc["exported"]
    return doc


def check_article(answer: Answer) -> None:
    _html_page(answer, 'id="article-body"')


def check_tags(answer: Answer) -> None:
    _html_page(answer, "Find a tag")


#: Route name -> (path, extra headers, checker).
ROUTES = {
    "/": ("/", {}, check_page),
    "/ (htmx fragment)": ("/", FRAGMENT, check_fragment),
    "/api/search": ("/api/search", {}, check_api),
    "/feed.atom": ("/feed.atom", {}, check_feed),
    "/export.csv": ("/export.csv", {}, check_csv),
    "/export.json": ("/export.json", {}, check_export),
    "/articles/<id>": ("/articles/{id}", {}, check_article),
    "/tags": ("/tags", {}, check_tags),
}

#: Notes that come from reading the parameters (`from_args`, `webui.limits`):
#: also in the JSON export's `messages`. The others come from the engine.
REQUEST_NOTES = ("must be between", "tags are used", "cut to its first")


def _log_since(log: Path, offset: int) -> str:
    with open(log, encoding="utf-8", errors="replace") as f:
        f.seek(offset)
        return f.read()


@pytest.mark.parametrize("route", list(ROUTES))
@pytest.mark.parametrize("name", list(HOSTILE))
def test_hostile_request(server, name, route):
    """Each hostile request on each route: 200, well-formed, in time, no
    traceback logged, and the reader told what was changed."""
    hostile = HOSTILE[name]
    path, headers, checker = ROUTES[route]
    url = server.url + path.format(id=server.article_id) + "?" + urlencode(hostile.params)
    logged = server.log.stat().st_size
    answer = fetch(url, headers)
    assert answer.status == 200, (answer.status, answer.text[:500])
    assert answer.seconds < CEILING, f"{name} on {route} took {answer.seconds:.1f} s"
    new_log = _log_since(server.log, logged)
    assert "Traceback" not in new_log, new_log[:3000]
    document = checker(answer)
    if route in ("/", "/ (htmx fragment)"):
        shown, expected = document, hostile.notes
    elif route == "/api/search":
        hostile.api(document)
        shown, expected = "\n".join(document["messages"]), hostile.notes
    elif route == "/export.json":
        shown = "\n".join(document["messages"])
        expected = tuple(n for n in hostile.notes if any(r in n for r in REQUEST_NOTES))
    else:
        return
    for note in expected:
        assert note in shown, f"{note!r} not shown on {route}"


def test_a_thousand_blank_tags_redirect_to_the_clean_address(server):
    """A form sending 1,000 empty `tag=` fields is sent to the clean URL (303),
    whose page then answers normally."""
    answer = fetch(server.url + "/?" + urlencode([("q", "oil")] + [("tag", "")] * 1000))
    assert answer.status == 303 and answer.seconds < CEILING, answer.status
    clean = fetch(server.url + "/?q=oil")
    assert clean.status == 200
    check_page(clean)


def test_a_tighter_max_query_chars_cuts_the_text_first_and_says_so(index_dir):
    """With `MAX_QUERY_CHARS = 500` configured, `webui.limits` cuts a long text
    to 500 characters before anything reads it, and says so, on the page and
    in the API."""
    log = index_dir.parent / "serve-500.log"
    proc, url = _serve(index_dir, log, 500)
    try:
        q = _distinct_words(random.Random(7), 2000)
        api = fetch(url + "/api/search?" + urlencode({"q": q}))
        assert api.status == 200 and api.seconds < CEILING
        doc = check_api(api)
        assert "The search text was cut to its first 500 characters." in doc["messages"]
        assert len(doc["searched_for"]) <= 500
        page = fetch(url + "/?" + urlencode({"q": q}))
        assert page.status == 200 and page.seconds < CEILING
        assert "cut to its first 500 characters" in check_page(page)
    finally:
        stop_process(proc)
    assert "Traceback" not in log.read_text("utf-8", "replace")
