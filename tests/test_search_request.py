"""SearchRequest: parsing query strings forgivingly and rendering them back."""

import datetime as dt
from urllib.parse import parse_qsl, urlencode

import pytest
from hypothesis import given
from hypothesis import strategies as st
from werkzeug.datastructures import MultiDict

from search.request import MAX_Q, SearchRequest, date_bounds


def test_defaults_render_to_an_empty_query_string():
    req, errors = SearchRequest.from_args({})
    assert req == SearchRequest()
    assert errors == []
    assert req.to_query_string() == ""


def test_round_trip_through_a_query_string():
    args = MultiDict([("q", "oil prices"), ("tag", "Top  News"), ("tag", "energy"),
                      ("not_tag", "sport"), ("from", "2021"), ("to", "2022-05"),
                      ("undated", "exclude"), ("sort", "newest"), ("page", "3"),
                      ("per_page", "20"), ("utm_source", "x")])
    req, errors = SearchRequest.from_args(args)
    assert errors == []
    assert req.tags == ("top news", "energy")
    assert req.start == dt.date(2021, 1, 1) and req.end == dt.date(2022, 5, 31)
    again, errors2 = SearchRequest.from_args(MultiDict(req.to_params()))
    assert again == req and errors2 == []
    assert "utm_source" not in req.to_query_string()


def test_invalid_values_are_dropped_with_messages():
    req, errors = SearchRequest.from_args({
        "q": "x" * (MAX_Q + 20), "from": "yesterday", "sort": "random", "undated": "maybe",
        "page": "abc", "per_page": "1000",
    })
    assert len(req.q) == MAX_Q
    assert req.date_from == "" and req.sort == "relevance" and req.undated == "include"
    assert req.page == 1 and req.per_page == 100
    assert len(errors) == 6
    assert any("yesterday" in e for e in errors)


def test_reversed_dates_are_swapped_and_conflicting_tags_resolved():
    req, errors = SearchRequest.from_args({"from": "2023", "to": "2021", "tag": "a",
                                           "not_tag": "A"})
    assert (req.date_from, req.date_to) == ("2021", "2023")
    assert req.tags == ("a",) and req.not_tags == ()
    assert len(errors) == 2


def test_undated_only_drops_the_date_range():
    req, errors = SearchRequest.from_args({"from": "2021", "undated": "only"})
    assert req.undated == "only" and req.date_from == ""
    assert errors


@pytest.mark.parametrize("text, first, last", [
    ("2022", dt.date(2022, 1, 1), dt.date(2022, 12, 31)),
    ("2024-02", dt.date(2024, 2, 1), dt.date(2024, 2, 29)),
    ("2022-05-28", dt.date(2022, 5, 28), dt.date(2022, 5, 28)),
    ("1401/03/07", dt.date(2022, 5, 28), dt.date(2022, 5, 28)),
    ("۱۴۰۱", dt.date(2022, 3, 21), dt.date(2023, 3, 20)),
])
def test_date_bounds(text, first, last):
    assert date_bounds(text) == (first, last)


@pytest.mark.parametrize("text", ["2022-13", "2022-02-30", "abc", "22", "0999", ""])
def test_date_bounds_rejects(text):
    assert date_bounds(text) is None


def test_transitions_reset_the_page_and_return_new_requests():
    req = SearchRequest(q="oil", page=4)
    assert req.with_tag("Energy").tags == ("energy",)
    assert req.with_tag("energy").page == 1
    assert req.with_tag("x").with_not_tag("x").tags == ()
    assert req.with_not_tag("x").not_tags == ("x",)
    assert req.with_tag("x").without_tag("x").tags == ()
    dated = req.with_dates("2022", "2022-06")
    assert dated.end == dt.date(2022, 6, 30) and dated.page == 1
    assert dated.without_dates().start is None
    assert req.with_sort("oldest").sort == "oldest"
    assert req.with_page(7).page == 7 and req.with_page(5000).page == 1000
    assert req.with_undated("only").with_dates("2022", None).undated == "include"
    assert req.with_tag("a").with_dates("2022", "2022").cleared() == SearchRequest(q="oil")
    assert req.page == 4  # the original is untouched
    with pytest.raises(ValueError):
        req.with_dates("soon", None)


def test_control_characters_and_surrogates_never_break_rendering():
    req, _ = SearchRequest.from_args({"q": "a\x00b\ud800c", "tag": "\udfff x"})
    assert "\x00" not in req.q and "\ud800" not in req.q
    assert req.to_query_string().startswith("q=a")


_text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=30)


@given(q=_text, tags=st.lists(_text, max_size=3), not_tags=st.lists(_text, max_size=2),
       sort=st.sampled_from(["relevance", "newest", "oldest"]),
       page=st.integers(1, 50), year=st.sampled_from(["", "1987", "2020-05", "1401"]))
def test_query_string_is_exactly_what_urlencode_gives(q, tags, not_tags, sort, page, year):
    # to_query_string quotes through a cache instead of calling urlencode;
    # the links it makes must not change by a single byte.
    args = MultiDict([("q", q), *[("tag", t) for t in tags],
                      *[("not_tag", t) for t in not_tags], ("sort", sort),
                      ("page", str(page)), ("from", year), ("to", year)])
    req, _ = SearchRequest.from_args(args)
    assert req.to_query_string() == urlencode(req.to_params())
    again, _ = SearchRequest.from_args(MultiDict(parse_qsl(req.to_query_string())))
    assert again == req


@given(q=_text, tags=st.lists(_text, max_size=3), not_tags=st.lists(_text, max_size=2),
       undated=st.sampled_from(["include", "exclude", "only"]), page=st.integers(1, 9),
       year=st.sampled_from(["", "1987"]), per_page=st.sampled_from(["10", "25"]),
       offered=st.lists(st.one_of(_text, st.sampled_from(["Oil", "oil ", "grain"])), max_size=5))
def test_tag_choice_query_strings_equal_the_transitions(q, tags, not_tags, undated, page, year,
                                                         per_page, offered):
    args = MultiDict([("q", q), *[("tag", t) for t in tags], *[("not_tag", t) for t in not_tags],
                      ("undated", undated), ("page", str(page)), ("from", year),
                      ("per_page", per_page)])
    req, _ = SearchRequest.from_args(args)
    offered = offered + list(req.tags[:1]) + list(req.not_tags[:1])  # known ones too
    assert req.tag_choice_query_strings(offered) == [
        (req.with_tag(t).to_query_string(), req.with_not_tag(t).to_query_string())
        for t in offered
    ]


@given(q=_text, tags=st.lists(_text, max_size=3), not_tags=st.lists(_text, max_size=2),
       undated=st.sampled_from(["include", "exclude", "only"]), page=st.integers(1, 9),
       year=st.sampled_from(["", "1987"]), sort=st.sampled_from(["relevance", "newest"]),
       per_page=st.sampled_from(["10", "25"]),
       dates=st.lists(st.sampled_from(["1987", "1987-03", "1987-03-09", " 2022-12 ", "",
                                       "1401", "۱۴۰۱-۰۲"]), max_size=6))
def test_date_choice_query_strings_equal_the_transitions(q, tags, not_tags, undated, page, year,
                                                          sort, per_page, dates):
    args = MultiDict([("q", q), *[("tag", t) for t in tags], *[("not_tag", t) for t in not_tags],
                      ("undated", undated), ("page", str(page)), ("from", year), ("to", year),
                      ("sort", sort), ("per_page", per_page)])
    req, _ = SearchRequest.from_args(args)
    assert req.date_choice_query_strings(dates) == [
        req.with_dates(d, d).to_query_string() for d in dates
    ]


def test_date_choice_query_strings_refuse_what_is_not_a_date():
    with pytest.raises(ValueError):
        SearchRequest(q="oil").date_choice_query_strings(["1987", "March"])
