"""The JSON Lines reader: one record per line, and a bad line fails alone."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from index.article import Article, ReadError, SourceText, Tag, stable_id
from index.formats import jsonl

FIXTURES = Path(__file__).parent / "fixtures" / "jsonl"
PATH = "/archive/export.jsonl"


def read_all(text: str, path: str = PATH) -> list[Article | ReadError]:
    return list(jsonl.read(SourceText(path=path, text=text)))


def read_fixture(name: str) -> list[Article | ReadError]:
    path = FIXTURES / name
    # Decoded as plain UTF-8 so that a byte order mark reaches the reader.
    return read_all(path.read_bytes().decode("utf-8"), str(path))


def line(**record: object) -> str:
    return json.dumps(record, ensure_ascii=False)


def only_error(text: str) -> ReadError:
    results = read_all(text)
    assert len(results) == 1, results
    assert isinstance(results[0], ReadError), results[0]
    return results[0]


def only_article(text: str) -> Article:
    results = read_all(text)
    assert len(results) == 1, results
    assert isinstance(results[0], Article), results[0]
    return results[0]


# --- a good export ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def good() -> list[Article]:
    results = read_fixture("export-good.jsonl")
    assert all(isinstance(r, Article) for r in results), results
    return results  # type: ignore[return-value]


def test_one_article_per_non_blank_line(good: list[Article]) -> None:
    # Eight lines, three of them blank.
    assert [a.title for a in good] == [
        "An Analysis of the Coalition Meeting in Morocco",
        "Grain corridor talks resume in Istanbul",
        "نشست ائتلاف جهانی در مراکش",
        "Editor's note on the archive",
        "Undated briefing on regional water policy",
    ]


def test_source_is_the_file(good: list[Article]) -> None:
    assert {a.source for a in good} == {str(FIXTURES / "export-good.jsonl")}


def test_record_with_id_list_tags_and_kind(good: list[Article]) -> None:
    first = good[0]
    assert first.id == "scfr-1042"
    assert first.date == dt.date(2022, 5, 28)
    assert first.kind == "Interview"  # "interview" in the record, canonical here
    assert first.url == "https://scfr.example.org/en/1042"
    assert first.language == "en"
    assert [t.label for t in first.tags] == ["Interview", "Political", "Top News"]
    assert first.body.startswith("A Middle East expert said")


def test_comma_string_tags_are_split_and_trimmed(good: list[Article]) -> None:
    grain = good[1]
    assert [t.label for t in grain.tags] == ["economy", "Black Sea", "shipping"]
    assert grain.date == dt.date(2022, 5, 28)
    assert grain.kind is None


def test_persian_record(good: list[Article]) -> None:
    persian = good[2]
    assert persian.date == dt.date(2022, 5, 28)  # ۱۴۰۱/۰۳/۰۷, solar calendar
    assert persian.language == "fa"
    # Tags separated by the Arabic comma.
    assert [t.label for t in persian.tags] == ["مصاحبه", "سیاسی", "اخبار مهم"]
    assert "نشان\u200cدهنده" in persian.body


def test_integer_id_becomes_the_article_id(good: list[Article]) -> None:
    note = good[3]
    assert note.id == "77"
    assert note.date is None  # "date": null
    assert note.tags == ()


def test_empty_date_is_undated_and_language_field_wins(good: list[Article]) -> None:
    briefing = good[4]
    assert briefing.date is None
    assert briefing.language == "en"
    assert briefing.tags == (Tag("water", "Water"), Tag("policy", "Policy"))


def test_ids_without_an_id_field(good: list[Article]) -> None:
    path = str(FIXTURES / "export-good.jsonl")
    # With a url: from the path and the url.
    assert good[2].id == stable_id(path, "https://scfr.example.org/fa/1042")
    # Without: from the path, the title and the date.
    assert good[1].id == stable_id(path, "Grain corridor talks resume in Istanbul", "2022-05-28")
    assert good[4].id == stable_id(path, "Undated briefing on regional water policy", "")
    assert len({a.id for a in good}) == len(good)


def test_a_byte_order_mark_and_crlf_line_ends() -> None:
    results = read_fixture("export-bom.jsonl")
    assert [type(r) for r in results] == [Article, Article]
    assert results[0].title == "Exported from a spreadsheet"
    assert results[0].date == dt.date(2023, 1, 9)
    assert results[1].body == "Windows line endings end every line."


def test_blank_lines_are_skipped_but_counted() -> None:
    text = "\n   \n" + line(title="T", body="") + "\n\n"
    error = only_error(text)
    assert error.line == 3


def test_line_separator_inside_a_string_does_not_split_the_record() -> None:
    article = only_article(line(title="Two\u2028parts", body="First\u2029second"))
    assert article.body == "First\u2029second"


# --- bad lines fail alone -------------------------------------------------------------


def test_bad_lines_fail_alone_with_their_line_numbers() -> None:
    results = read_fixture("export-bad-lines.jsonl")
    path = str(FIXTURES / "export-bad-lines.jsonl")
    assert all(r.source == path for r in results)
    articles = {r.title: r for r in results if isinstance(r, Article)}
    assert set(articles) == {"First good record", "First with id", "Last good record"}
    errors = {r.line: r.reason for r in results if isinstance(r, ReadError)}
    assert set(errors) == {2, 3, 4, 5, 6, 7, 9, 10}
    assert errors[2].startswith("invalid JSON: ")
    assert errors[3] == "not a JSON object but an array"
    assert errors[4] == "no title"
    assert errors[5] == "no body"
    assert errors[6].startswith("tags must be")
    assert errors[7].startswith("id 'has space' is unfit for a URL")
    assert errors[9] == "duplicate id dup-1, first seen on line 8"
    assert errors[10] == "unrecognized date 'next Tuesday-ish'"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("{not json}", "invalid JSON: Expecting property name enclosed in double quotes"),
        ('{"title": "T", "body": "B"} trailing', "invalid JSON: Extra data"),
        ("42", "not a JSON object but a number"),
        ('"a string"', "not a JSON object but a string"),
        ("null", "not a JSON object but null"),
        (line(body="B"), "no title"),
        (line(title="", body="B"), "no title"),
        (line(title=None, body="B"), "no title"),
        (line(title="T"), "no body"),
        (line(title="T", body=" \n "), "no body"),
        (line(title=["T"], body="B"), "title must be a string, not an array"),
        (line(title="T", body=7), "body must be a string, not a number"),
        (line(title="T", body="B", tags={"a": 1}), "tags must be a list of strings"),
        (line(title="T", body="B", tags=["ok", 3]), "tags must be a list of strings"),
        (line(title="T", body="B", id=""), "id '' is unfit for a URL"),
        (line(title="T", body="B", id="a/b"), "id 'a/b' is unfit for a URL"),
        (line(title="T", body="B", id="x" * 201), "is unfit for a URL"),
        (line(title="T", body="B", id=1.5), "id must be a string or an integer, not a number"),
        (line(title="T", body="B", id=True), "id must be a string or an integer, not a boolean"),
        (line(title="T", body="B", date="xyz"), "unrecognized date 'xyz'"),
        (line(title="T", body="B", date="2022"), "unrecognized date '2022'"),
        (line(title="T", body="B", date="2022-02-30"), "unrecognized date '2022-02-30'"),
        (line(title="T", body="B", date=20220528), "unrecognized date '20220528'"),
        (line(title="T", body="B", url=5), "url must be a string, not a number"),
        (line(title="T", body="B", kind=[]), "kind must be a string, not an array"),
    ],
)
def test_each_bad_line_reason(text: str, reason: str) -> None:
    error = only_error(text)
    assert reason in error.reason
    assert error.line == 1
    assert error.source == PATH


def test_ids_allow_url_safe_punctuation() -> None:
    article = only_article(line(id="urn:scfr:2022.05~28_a-1", title="T", body="B"))
    assert article.id == "urn:scfr:2022.05~28_a-1"


def test_duplicate_id_is_caught_even_when_the_first_record_failed() -> None:
    text = "\n".join([line(id="a1", title="", body="B"), line(id="a1", title="T", body="B")])
    first, second = read_all(text)
    assert isinstance(first, ReadError) and first.reason == "no title"
    assert isinstance(second, ReadError)
    assert second.reason == "duplicate id a1, first seen on line 1"
    assert second.line == 2


def test_string_and_integer_ids_share_one_namespace() -> None:
    text = "\n".join([line(id=5, title="T", body="B"), line(id="5", title="U", body="C")])
    first, second = read_all(text)
    assert isinstance(first, Article) and first.id == "5"
    assert isinstance(second, ReadError) and second.reason.startswith("duplicate id 5")


def test_records_with_the_same_title_and_date_get_distinct_ids() -> None:
    same = line(title="Weekly digest", date="2022-05-28", body="B")
    text = "\n".join([same, same, same])
    results = read_all(text)
    assert all(isinstance(r, Article) for r in results)
    ids = [r.id for r in results]
    assert ids[0] == stable_id(PATH, "Weekly digest", "2022-05-28")
    assert len(set(ids)) == 3


def test_ids_are_stable_across_reads() -> None:
    text = "\n".join([line(title="A", body="B"), line(title="A", body="C")])
    assert [r.id for r in read_all(text)] == [r.id for r in read_all(text)]


def test_unknown_fields_are_ignored() -> None:
    article = only_article(line(title="T", body="B", editor="Someone", views=12))
    assert article.title == "T"


# --- never raises ----------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(st.text())
def test_arbitrary_text_never_raises(text: str) -> None:
    results = read_all(text)
    assert all(isinstance(r, (Article, ReadError)) for r in results)
    assert len(results) <= sum(1 for part in text.split("\n") if part.strip())


_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=10,
)
_records = st.dictionaries(
    st.sampled_from(
        ["title", "body", "date", "tags", "id", "url", "kind", "language", "publication",
         "author", "x"]
    ),
    _json_values,
)


@settings(max_examples=80, deadline=None)
@given(st.lists(_records, max_size=6))
def test_arbitrary_records_never_raise(records: list[dict]) -> None:
    text = "\n".join(json.dumps(r, ensure_ascii=False) for r in records)
    results = read_all(text)
    assert len(results) == len(records)
    for number, result in enumerate(results, start=1):
        assert isinstance(result, (Article, ReadError))
        if isinstance(result, ReadError):
            assert result.line == number and result.reason
        else:
            assert result.title and result.body and result.id


# --- publication, author, kind and language ---------------------------------------------


@pytest.fixture(scope="module")
def metadata() -> dict[str, Article]:
    results = read_fixture("export-metadata.jsonl")
    assert all(isinstance(r, Article) for r in results), results
    return {r.id: r for r in results}  # type: ignore[union-attr]


def test_publication_author_kind_and_language_fields(metadata: dict[str, Article]) -> None:
    spanish = metadata["mpp-0312"]
    assert spanish.publication == "Mirador de Políticas Públicas"
    assert spanish.author == "Redacción"
    assert spanish.kind == "Interview"  # "Entrevista"
    assert spanish.language == "es"
    french = metadata["rtr-1105"]
    assert (french.author, french.kind, french.language) == ("Hélène Marchetti", "Opinion", "fr")


def test_a_body_lead_fills_what_the_record_leaves_out(metadata: dict[str, Article]) -> None:
    persian = metadata["dbs-0218"]
    assert persian.publication == "دیدبان سیاست"
    assert persian.kind == "Report"  # "گزارش", given by the record and by the lead
    assert persian.language == "fa"  # "Persian"
    assert persian.body.startswith("هزینه انرژی")
    assert persian.author is None


def test_an_explicit_kind_outranks_the_lead_and_is_kept_when_unknown(
    metadata: dict[str, Article],
) -> None:
    record = metadata["epr-0901"]
    assert record.kind == "Fact Check"
    assert record.publication == "Eastbrook Policy Review"
    assert record.body == "Port fees rose for the third year in a row."
    assert record.language == "en"


@pytest.mark.parametrize(
    ("language", "code"),
    [("es", "es"), ("ES", "es"), ("fa-IR", "fa"), ("fa_IR", "fa"), ("French", "fr"), ("", "en")],
)
def test_language_field_forms(language: str, code: str) -> None:
    body = "The port authority said the new terminal would double container traffic."
    assert only_article(line(title="T", body=body, language=language)).language == code


def test_a_lead_without_a_kind_needs_the_record_to_name_the_publication() -> None:
    body = "Harbour Weekly – The port will close for a week."
    assert only_article(line(title="T", body=body)).body == body
    named = only_article(line(title="T", body=body, publication="Harbour Weekly"))
    assert named.body == "The port will close for a week."
    assert named.kind is None


@pytest.mark.parametrize("name", ["publication", "author"])
def test_publication_and_author_must_be_strings(name: str) -> None:
    error = only_error(line(title="T", body="B", **{name: ["x"]}))
    assert error.reason == f"{name} must be a string, not an array"
