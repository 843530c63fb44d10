"""Every reader against hostile input: random bytes and damaged real articles.

The reader contract (`index.formats`) says a reader never raises for bad
input; it yields `Article` values or `ReadError`s that say why. Hypothesis
feeds each reader (page dumps, HTML, JSON Lines) random text and mutated
copies of the real samples in `tests/fixtures/` and `index/sample_archive/`
(bytes flipped, cut, spliced, repeated, encodings broken), and feeds
`index.sources.load` the same bytes written to real files, followed by the
reader the file's name selects. The properties: nothing escapes as an
exception, every value is an `Article` or a `ReadError` with a reason, and
each single-article format yields exactly one value.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from index.article import Article, ReadError, SourceText
from index.formats import html, jsonl, pagedump, reader_for
from index.sources import FoundFile, load

ROOT = Path(__file__).resolve().parents[1]
SAMPLE_DIRS = (ROOT / "tests" / "fixtures", ROOT / "index" / "sample_archive")
SAMPLES: dict[str, list[bytes]] = {"pagedump": [], "html": [], "jsonl": []}
for _folder in SAMPLE_DIRS:
    for _path in sorted(_folder.rglob("*")):
        _fmt = {".txt": "pagedump", ".html": "html", ".jsonl": "jsonl"}.get(_path.suffix)
        if _fmt and _path.is_file():
            SAMPLES[_fmt].append(_path.read_bytes())
ALL_SAMPLES = [data for datas in SAMPLES.values() for data in datas]
EXTENSIONS = {"pagedump": ".txt", "html": ".html", "jsonl": ".jsonl"}

FAST = settings(max_examples=150, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
# trafilatura is slow per page, so HTML gets fewer examples.
SLOW = settings(FAST, max_examples=60)

# Bytes that tend to break parsers: quotes, brackets, separators, markup, BOMs,
# NULs, broken UTF-8 sequences, Persian letters, JSON punctuation.
NASTY = [b"\x00", b"\xff", b"\xef\xbb\xbf", b"\xc3", b"\xe2\x80\xae", b"\r", b"\n\n", b"|",
         b"<", b">", b"</", b"<!--", b"<![CDATA[", b"&#0;", b"&", b"{", b"}", b"[", b"]",
         b'"', b"\\", b"\\u0000", b"\\ud800", b":", b",", b"null", b"1e999", b"-0",
         "\u06cc\u200c".encode(), b"\xe2\x80\xa8", b"<script>", b"<meta charset=x>",
         b"2022/13/45 | ", b"1401/12/30", b"\t"]


@st.composite
def mutated(draw, samples: list[bytes]) -> bytes:
    """A real sample damaged by a few random edits."""
    data = bytearray(draw(st.sampled_from(samples)))
    for _ in range(draw(st.integers(1, 6))):
        n = len(data)
        at = draw(st.integers(0, n))
        kind = draw(st.sampled_from(["flip", "insert", "nasty", "delete", "truncate",
                                     "repeat", "splice"]))
        if kind == "flip" and n:
            i = min(at, n - 1)
            data[i] = draw(st.integers(0, 255))
        elif kind == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=40))
        elif kind == "nasty":
            data[at:at] = draw(st.sampled_from(NASTY)) * draw(st.integers(1, 50))
        elif kind == "delete":
            del data[at:at + draw(st.integers(1, 400))]
        elif kind == "truncate":
            del data[at:]
        elif kind == "repeat":
            data[at:at] = bytes(data[at:at + draw(st.integers(1, 300))]) * draw(st.integers(1, 8))
        elif kind == "splice":
            other = draw(st.sampled_from(ALL_SAMPLES))
            start = draw(st.integers(0, len(other)))
            data[at:at] = other[start:start + draw(st.integers(1, 2000))]
    return bytes(data)


def inputs(fmt: str) -> st.SearchStrategy[bytes]:
    """Random bytes, random text, and damaged samples of `fmt` (and of the others)."""
    return st.one_of(
        st.binary(max_size=3000),
        st.text(max_size=2000).map(lambda s: s.encode("utf-8", "surrogatepass")),
        st.lists(st.sampled_from(NASTY), max_size=60).map(b"".join),
        mutated(SAMPLES[fmt]),
        mutated(SAMPLES[fmt]),
        mutated(ALL_SAMPLES),
    )


def as_text(data: bytes, how: str) -> str:
    """Bytes decoded the ways a reader may receive text (lossy ways included)."""
    if how == "surrogates":
        return data.decode("utf-8", "surrogateescape")
    return data.decode(how, "replace")


def check_values(values: list, single: bool, path: str) -> None:
    """The reader contract, value by value."""
    assert values, "a reader must say something about every file"
    if single:
        assert len(values) == 1, values
    for value in values:
        assert isinstance(value, (Article, ReadError)), type(value)
        if isinstance(value, ReadError):
            assert value.reason and value.reason.strip(), value
            assert value.source == path
        else:
            assert value.id and value.id.strip()
            assert value.title.strip(), value
            assert value.source == path
            assert value.date is None or isinstance(value.date, dt.date)
            assert all(t.key and t.key == t.key.strip() for t in value.tags), value.tags
            value.fingerprint()  # every stored field must encode


def run_reader(read, data: bytes, how: str, single: bool) -> None:
    path = "/archive/fuzzed-file"
    values = list(read(SourceText(path, as_text(data, how), "utf-8")))
    check_values(values, single, path)


DECODINGS = st.sampled_from(["utf-8", "cp1252", "latin-1", "surrogates"])


@FAST
@given(data=inputs("pagedump"), how=DECODINGS)
def test_page_dump_reader_never_raises(data, how):
    run_reader(pagedump.read, data, how, single=True)


@SLOW
@given(data=inputs("html"), how=DECODINGS)
def test_html_reader_never_raises(data, how):
    run_reader(html.read, data, how, single=True)


@FAST
@given(data=inputs("jsonl"), how=DECODINGS)
def test_jsonl_reader_never_raises_and_answers_every_line(data, how):
    text = as_text(data, how)
    path = "/archive/fuzzed-file"
    values = list(jsonl.read(SourceText(path, text, "utf-8")))
    lines = [ln for ln in text.removeprefix("\ufeff").split("\n") if ln.strip()]
    assert len(values) == len(lines)
    if values:
        check_values(values, single=False, path=path)


@FAST
@given(data=st.binary(min_size=1, max_size=200).flatmap(
    lambda head: st.tuples(st.just(head), st.sampled_from([pagedump.read, jsonl.read]))))
def test_random_bytes_of_every_shape_are_answered(data):
    raw, read = data
    path = "/archive/fuzzed-file"
    values = list(read(SourceText(path, raw.decode("latin-1"), "cp1252")))
    if read is pagedump.read or raw.decode("latin-1").strip():
        check_values(values, single=read is pagedump.read, path=path)


@settings(SLOW, max_examples=90)
@given(data=st.one_of(inputs("pagedump"), inputs("jsonl"), inputs("html")),
       fmt=st.sampled_from(sorted(EXTENSIONS)))
def test_load_then_read_a_file_on_disk(data, fmt):
    # The indexer's own path: a real file, loaded (hashed, decoded) by
    # `index.sources.load`, then read by the reader its extension names.
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"fuzzed{EXTENSIONS[fmt]}"
        path.write_bytes(data)
        loaded = load(FoundFile(str(path), fmt), max_bytes=4096)
    assert loaded.path == str(path)
    assert loaded.format == fmt
    if loaded.error is not None:
        assert loaded.text is None
        assert isinstance(loaded.error, ReadError)
        assert loaded.error.reason.strip()
        if len(data) > 4096:
            assert "too large" in loaded.error.reason
        return
    assert len(data) <= 4096 and data.strip()
    assert loaded.sha and loaded.text is not None and loaded.text.encoding in ("utf-8", "cp1252")
    values = list(reader_for(fmt)(loaded.text))
    if fmt == "jsonl":
        if values:
            check_values(values, single=False, path=str(path))
    else:
        check_values(values, single=True, path=str(path))


def test_the_samples_were_found():
    # Guards the fuzzing above from silently running on nothing.
    assert len(SAMPLES["pagedump"]) >= 10
    assert len(SAMPLES["html"]) >= 5
    assert len(SAMPLES["jsonl"]) >= 3


def test_unmutated_samples_are_articles():
    # The mutation baseline: every sample page dump and HTML page is an
    # article, and the JSON Lines samples hold mostly articles.
    for fmt in ("pagedump", "html"):
        for data in SAMPLES[fmt]:
            values = list(reader_for(fmt)(SourceText("/archive/s", data.decode("utf-8"))))
            assert len(values) == 1 and isinstance(values[0], Article), values
    values = [v for data in SAMPLES["jsonl"]
              for v in jsonl.read(SourceText("/archive/s", data.decode("utf-8")))]
    assert sum(isinstance(v, Article) for v in values) > len(values) // 2
