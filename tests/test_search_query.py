"""The query module's shortcut for plain words agrees with Whoosh's parser."""

from hypothesis import given, settings
from hypothesis import strategies as st

from search import query as q

# Words a reader types: stop words, stems, digits, capitals, Persian and
# Arabic letters, accents, operators spelled in lower case.
WORDS = st.sampled_from([
    "oil", "prices", "Oil", "THE", "the", "and", "or", "not", "bank", "england",
    "1987", "3rd", "kitab", "کتاب", "كتاب", "يك", "۱۴۰۱", "café", "naïve", "sal",
    "commun", "running", "a", "is", "to", "Ölpreis", "x", "ab12",
])
TEXTS = st.lists(st.one_of(WORDS, st.text(st.characters(categories=["L", "Nd"]),
                                          min_size=1, max_size=8)),
                 min_size=1, max_size=5).map(" ".join)


@settings(max_examples=300, deadline=None)
@given(TEXTS)
def test_plain_text_query_equals_the_parsers(text):
    assert q._is_plain(text)
    assert q._plain_query(text) == q.make_parser().parse(text).normalize()


def test_anything_with_syntax_goes_to_the_parser():
    for text in ['"oil prices"', "oil OR gas", "title:oil", "oil*", "oil~", "-oil", "oil_gas",
                 "date:2021", "(oil)", "oil AND gas", "oil+gas", "don't"]:
        assert not q._is_plain(text), text


def test_parse_uses_the_shortcut_without_changing_the_answer():
    fast = q.parse("Oil  prices the")
    assert fast.searched_for == "Oil prices the"
    assert fast.words == ["Oil", "prices", "the"]
    assert fast.query == q.make_parser().parse("Oil prices the").normalize()
    only_stop = q.parse("the and")
    assert only_stop.query is None and only_stop.messages
