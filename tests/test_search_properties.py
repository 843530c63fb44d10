"""Property tests: any text and any parameters give results or a clear message."""

import datetime as dt

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from whoosh.filedb.filestore import RamStorage

from index.article import Article
from index.embedded.engine import write_articles
from index.embedded.schema import make_schema
from index.normalize import normalize_tags
from search.embedded.engine import Engine
from search.request import SearchRequest

_IX = RamStorage().create_index(make_schema())
write_articles(_IX, [
    Article(id=f"d{i}", source=f"/p/{i}", title=f"Oil report {i} کتاب",
            body=f"Officials discussed oil, wheat and یک کتاب in report {i}. Prices rose.",
            date=dt.date(2020 + i % 3, 1 + i % 12, 1 + i % 28) if i % 4 else None,
            tags=normalize_tags(["Energy", f"t{i % 5}"]))
    for i in range(30)
])
ENGINE = Engine.from_index(_IX)

QUERY_ALPHABET = st.sampled_from(list('"()[]:*~-+^ORANDNOT tag title date 2021 oil کتاب يك '))
queries = st.one_of(st.text(max_size=80), st.text(QUERY_ALPHABET, max_size=60))
values = st.one_of(st.text(max_size=30), st.lists(st.text(max_size=20), max_size=3))
SETTINGS = settings(max_examples=150, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(q=queries, tag=values, not_tag=values, frm=values, to=values, undated=values,
       sort=values, page=values, per_page=values)
def test_any_request_answers(q, tag, not_tag, frm, to, undated, sort, page, per_page):
    args = {"q": q, "tag": tag, "not_tag": not_tag, "from": frm, "to": to,
            "undated": undated, "sort": sort, "page": page, "per_page": per_page}
    req, errors = SearchRequest.from_args(args)
    assert all(isinstance(e, str) and e for e in errors)
    req.to_query_string()
    r = ENGINE.run(req)
    assert r.total >= 0 and len(r.hits) <= req.per_page
    assert r.total > 0 or r.hits == []
    assert isinstance(r.searched_for, str)
    j = r.to_json()
    assert j["total"] == r.total
    # Every count in the facets is a count of these results.
    assert all(v.count <= r.total for v in r.tag_facet.values)
    assert sum(b.count for b in r.date_facet.buckets) <= r.total


@SETTINGS
@given(q=queries)
def test_any_query_text_on_the_article_page(q):
    view = ENGINE.get("d1", q=q)
    assert view is not None and view.paragraphs
    ENGINE.tag_values(q, 5)
