"""The OpenAPI description holds: schemathesis against the live server.

The app is served by waitress on a free loopback port over the web UI tests'
index (`live` in conftest.py; it includes articles whose every field is
hostile markup). The schema is fetched from the server itself
(`/api/openapi.json`), then schemathesis generates requests from it, a
bounded number per operation, and checks each answer: no server error, a
documented status code and content type, and a body that validates against
the documented schema.
"""

from __future__ import annotations

import json
import urllib.request

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.webui_fixtures import corpus

#: Generated requests per operation: enough to reach odd parameters, small for `make test`.
EXAMPLES = 60

SETTINGS = settings(
    max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                           HealthCheck.filter_too_much],
)


@pytest.fixture(scope="module")
def schema(live):
    return schemathesis.openapi.from_url(f"{live.url}/api/openapi.json")


def test_the_document_is_openapi_3_1_and_names_both_operations(live):
    with urllib.request.urlopen(f"{live.url}/api/openapi.json", timeout=10) as r:
        assert r.status == 200
        assert r.headers["Content-Type"].startswith("application/json")
        doc = json.load(r)
    assert doc["openapi"].startswith("3.1")
    assert set(doc["paths"]) == {"/api/search", "/api/articles/{article_id}",
                                 "/api/articles/{article_id}/citation"}
    search = doc["paths"]["/api/search"]["get"]
    names = {p["name"] for p in search["parameters"]}
    assert names == {"q", "tag", "not_tag", "from", "to", "undated", "sort", "page", "per_page",
                     "verbatim", "explain"}


def test_generated_searches_get_valid_answers(live, schema):
    operation = schema["/api/search"]["GET"]

    @SETTINGS
    @given(case=operation.as_strategy())
    def check(case):
        response = case.call_and_validate(base_url=live.url, timeout=30)
        assert response.status_code == 200

    check()


def test_generated_article_ids_get_valid_answers(live, schema):
    operation = schema["/api/articles/{article_id}"]["GET"]

    @SETTINGS
    @given(case=operation.as_strategy())
    def check(case):
        response = case.call_and_validate(base_url=live.url, timeout=30)
        assert response.status_code in (200, 404)

    check()


def test_every_real_article_validates_against_the_schema(live, schema):
    # Random ids almost never exist; every article of the index, hostile ones
    # included, must come back as a documented 200.
    operation = schema["/api/articles/{article_id}"]["GET"]
    for article in corpus():
        case = operation.Case(path_parameters={"article_id": article.id})
        response = case.call_and_validate(base_url=live.url, timeout=30)
        assert response.status_code == 200, article.id
        assert response.json()["id"] == article.id


@SETTINGS
@given(q=st.sampled_from(["harbour", "report", "drought OR election", "\"the harbour\"",
                          "marker1*", "-harbour", "بندر"]),
       page=st.integers(1, 5), per_page=st.integers(1, 100))
def test_searches_that_find_things_validate_too(live, schema, q, page, per_page):
    # Generated text rarely matches anything, so hits and facets would go
    # unchecked; these queries find articles and fill every part of the answer.
    operation = schema["/api/search"]["GET"]
    case = operation.Case(query={"q": q, "page": page, "per_page": per_page})
    response = case.call_and_validate(base_url=live.url, timeout=30)
    assert response.json()["total"] > 0
