"""Snippets begin and end at sentence or word boundaries, never inside a word."""

from __future__ import annotations

import random
import re

from search.snippets import MAX_SNIPPETS, SNIPPET_SIZE, lead, passages

WORDS = "harbour cranes shipping tariff negotiation electricity interconnector".split()


def _long_sentence_text(rng: random.Random, n: int = 120) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n)) + "."


def _cut(piece) -> str:
    """The text a passage took from the article, without the ellipses added around it."""
    return piece.text.removeprefix("… ").removesuffix(" …")


def test_lead_of_one_long_sentence_ends_on_a_word():
    text = _long_sentence_text(random.Random(3))
    piece = lead(text)
    body = piece.text.removesuffix(" …")
    assert body.split()[-1] in WORDS, body[-30:]
    assert piece.text.endswith(" …")


def test_passages_inside_long_sentences_start_and_end_on_words():
    rng = random.Random(7)
    text = _long_sentence_text(rng, 400)
    # "tariff" all along one 3,000-character sentence: room for every passage.
    spans = [(m.start(), m.end(), 0) for m in re.finditer("tariff", text)]
    assert spans[-1][0] - spans[0][0] > 4 * SNIPPET_SIZE
    pieces = passages(text, spans)
    assert len(pieces) == MAX_SNIPPETS
    for piece in pieces:
        core = _cut(piece).rstrip(".")
        assert all(w in WORDS for w in core.split()), core
        assert piece.spans and all(piece.text[a:b] == "tariff" for a, b in piece.spans)
    ranges = sorted((p.offset, p.offset + len(_cut(p))) for p in pieces)
    assert all(end <= start for (_, end), (start, _) in zip(ranges, ranges[1:], strict=False))


def test_words_next_to_each_other_share_one_mark():
    from search.snippets import Piece, render

    text = "Crude oil prices rose; oil, then prices."
    spans = [(6, 9), (10, 16), (23, 26), (33, 39)]
    html = str(render([Piece(text, spans)])[0])
    assert html == ("Crude <mark>oil prices</mark> rose; <mark>oil</mark>, then "
                    "<mark>prices</mark>.")
