"""The query plan: what each form a reader types means, and its bounds.

These tests read the plan itself (plain dataclasses), no index involved;
`test_query_reference.py` checks what the plans find against SQLite FTS5
and brute force.
"""

from __future__ import annotations

import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st

from search import plan as P
from search.plan import All, Any, DateRange, Fuzzy, Not, Phrase, Prefix, Word, plan


def leaves(node):
    if isinstance(node, (All, Any)):
        for c in node.nodes:
            yield from leaves(c)
    elif isinstance(node, Not):
        yield from leaves(node.node)
    elif node is not None:
        yield node


def depth(node) -> int:
    if isinstance(node, (All, Any)):
        return 1 + max((depth(c) for c in node.nodes), default=0)
    if isinstance(node, Not):
        return 1 + depth(node.node)
    return 0


def test_punctuated_words_keep_their_parts_and_joined_form():
    w = plan("al-Qaeda").root
    assert w == Word("al-Qaeda", ("al", "qaeda"), "al-qaeda", "al-qaeda")
    us = plan("U.S.").root
    assert (us.parts, us.joined) == (("u", "s"), "u.s")
    att = plan("AT&T").root
    assert (att.parts, att.joined) == (("at", "t"), "at&t")
    assert plan("France's").root.parts == ("franc",)  # the possessive is the bare word
    assert plan("JAPAN'S").root.parts == ("japan",)
    assert plan("1986/87").root.joined == "1986/87"


def test_boolean_forms_as_people_type_them():
    r = plan("oil AND NOT opec")
    assert r.root == All((Word("oil", ("oil",), None, "oil"), Not(Word("opec", ("opec",),
                                                                         None, "opec"))))
    assert not r.notes
    assert plan("oil -opec").root == r.root
    assert plan("+oil -opec").root == r.root
    either = plan("(oil OR gas) prices").root
    assert isinstance(either, All) and isinstance(either.nodes[0], Any)
    # Lower-case operators are words, too common to search for.
    assert [w.text for w in leaves(plan("oil and gas or not coal").root)] == [
        "oil", "gas", "coal"]


def test_operators_with_nothing_around_them_are_dropped_with_a_note():
    for text, note in [("oil AND", "'AND' with nothing after"), ("oil OR", "'OR' with nothing"),
                       ("oil NOT", "'NOT' with nothing after"), ("AND oil", "nothing before")]:
        r = plan(text)
        assert r.root == Word("oil", ("oil",), None, "oil"), text
        assert any(note in n for n in r.notes), (text, r.notes)


def test_fields_tags_phrases_and_dates():
    assert plan("title:oil").root.fields == ("title",)
    tag = plan("tag:كتاب").root
    assert tag.fields == ("tags",) and tag.tag == "کتاب"  # Arabic kaf and yeh folded
    ph = plan('title:"bank of england"').root
    assert isinstance(ph, Phrase) and ph.terms == ("bank", "england") and ph.fields == ("title",)
    grouped = plan("title:(oil OR gas)").root
    assert all(w.fields == ("title",) for w in leaves(grouped))
    d = plan("date:[2021 to 2022-06]").root
    assert d == DateRange(dt.date(2021, 1, 1), dt.date(2022, 6, 30))
    assert plan("date:2022").root == DateRange(dt.date(2022, 1, 1), dt.date(2022, 12, 31))


def test_prefix_and_fuzzy_are_bounded():
    assert plan("negotiat*").root == Prefix("negotiat", "negotiat")
    fz = plan("abcdefghijklmnopqrst~6")
    assert fz.root == Fuzzy("abcdefghijklmnopqrst", "abcdefghijklmnopqrst", 2)
    assert any("at most 2" in n for n in fz.notes)
    assert isinstance(plan("oil~").root, Word)  # too short to be fuzzy: searched as typed
    many = plan("a* b* c* d* e* f* g* h*")
    assert sum(isinstance(n, Prefix) for n in leaves(many.root)) == P.MAX_EXPANDING
    assert any("At most 3 words" in n for n in many.notes)
    lead = plan("*a* *e*")
    assert any("cannot start with" in n for n in lead.notes)


def test_questions_drop_question_words_and_rank_by_most():
    r = plan("What are the effects of heat on aircraft wings?")
    assert r.question and r.ranked_by_most
    assert r.words == ["effects", "heat", "aircraft", "wings"]
    assert not plan("oil prices").ranked_by_most
    # Requests are questions too, however they start.
    for request, words in [("I am looking for papers on oil prices in 1987",
                            ["oil", "prices", "1987"]),
                           ("Please find me articles about drought in Kansas",
                            ["drought", "Kansas"]),
                           ("to what extent can wing flutter be predicted",
                            ["extent", "wing", "flutter", "predicted"]),
                           ("references on heat transfer to cones", ["heat", "transfer", "cones"]),
                           ("papers on drought", ["drought"]),
                           ("articles about al-Qaeda", ["al-Qaeda"])]:
        r = plan(request)
        assert r.question and r.words == words, request
        # One word left is found alike by all or most words: no ranking note.
        assert r.ranked_by_most == (len(words) >= 2), request
    # A word that asks for material is a request only before "on", "about"
    # or a question word; elsewhere it is what the reader asks about.
    r = plan("How are articles retrieved automatically from information requests?")
    assert r.words == ["articles", "retrieved", "automatically", "information", "requests"]
    r = plan("What articles exist which deal with time sharing?")
    assert "articles" not in r.words and "time" in r.words
    long = plan("tariff quota wheat export subsidy dispute grain")
    assert long.ranked_by_most and not long.question


def test_parentheses_without_an_operator_are_read_as_punctuation():
    """A pasted sentence's aside is words, not a group: the sentence is a
    question (its question words dropped) ranked by most words; beside an
    operator, parentheses still group."""
    r = plan("how do stability measurements (made using free-flight models) compare "
             "with similar measurements in wind tunnels")
    assert r.question and r.ranked_by_most
    assert "made" in r.words and "how" not in r.words
    assert all(not isinstance(n, (All, Any)) for n in r.root.nodes)
    grouped = plan("(oil OR gas) prices")
    assert isinstance(grouped.root, All) and isinstance(grouped.root.nodes[0], Any)
    assert plan("(heat transfer) cylinders").root == plan("heat transfer cylinders").root


def test_long_texts_are_read_up_to_the_limits():
    words = [f"w{i}x" for i in range(300)]
    r = plan(" ".join(words))
    assert len(r.words) == P.MAX_TERMS
    assert any(f"first {P.MAX_TERMS}" in n for n in r.notes)
    text = "oil " * 2000
    r = plan(text)
    assert any("first 4000 characters" in n for n in r.notes)


def test_nesting_is_capped_without_recursion():
    r = plan("(" * 400 + "oil" + ")" * 400 + " NOT gas")
    oil, gas = Word("oil", ("oil",), None, "oil"), Word("gas", ("gas",), None, "gas")
    assert r.root == All((oil, Not(gas)))
    assert any("nested deeper" in n for n in r.notes)
    assert plan("NOT " * 999 + "oil").root == Not(Word("oil", ("oil",), None, "oil"))
    assert plan("title:" * 500 + "oil").root.fields == ("title",)


def test_unbalanced_quotes_and_brackets_still_search():
    for text in ['"oil wheat', "oil (wheat", "oil) wheat", '"' * 300 + "oil"]:
        r = plan(text)
        assert {w.text for w in leaves(r.root)} >= {"oil"}, text


SYNTAX = st.lists(st.sampled_from(list('ab oil()"*~-+:!?&./\'') +
                                  ["AND", "OR", "NOT", "title:", "tag:", "date:", "[", "]",
                                   " to ", "2021", "U.S.", "الـ", "کتاب", "~2", "~9"]),
                  max_size=40).map("".join)


@settings(max_examples=400, deadline=None)
@given(SYNTAX)
def test_any_text_gives_a_bounded_plan_and_never_raises(text):
    r = plan(text)
    assert depth(r.root) <= 3 * P.MAX_DEPTH + 3
    assert sum(isinstance(n, (Prefix, Fuzzy)) for n in leaves(r.root)) <= P.MAX_EXPANDING
    assert len({n for n in leaves(r.root)}) <= P.MAX_TERMS + P.MAX_EXPANDING
    for n in leaves(r.root):
        if isinstance(n, Fuzzy):
            assert 1 <= n.distance <= P.MAX_EDITS
            assert P.FUZZY_LENGTHS[0] <= len(n.word) <= P.FUZZY_LENGTHS[1]
    # What was searched for reads back as the same plan.
    assert plan(r.searched_for).root == r.root or r.question
