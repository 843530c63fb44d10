"""Snippets begin and end at sentence or word boundaries, never inside a word."""

from __future__ import annotations

import random
import re

from search.snippets import lead, passages

WORDS = "harbour cranes shipping tariff negotiation electricity interconnector".split()


def _long_sentence_text(rng: random.Random, n: int = 120) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n)) + "."


def test_lead_of_one_long_sentence_ends_on_a_word():
    text = _long_sentence_text(random.Random(3))
    piece = lead(text)
    body = piece.text.removesuffix(" …")
    assert body.split()[-1] in WORDS, body[-30:]
    assert piece.text.endswith(" …")


def test_passages_inside_long_sentences_start_and_end_on_words():
    rng = random.Random(7)
    text = _long_sentence_text(rng, 400)
    spans = [(m.start(), m.end(), 0) for m in re.finditer("tariff", text)][:5]
    for piece in passages(text, spans):
        core = piece.text.removeprefix("… ").removesuffix(" …").rstrip(".")
        assert all(w in WORDS for w in core.split()), core


def test_words_next_to_each_other_share_one_mark():
    from search.snippets import Piece, render

    text = "Crude oil prices rose; oil, then prices."
    spans = [(6, 9), (10, 16), (23, 26), (33, 39)]
    html = str(render([Piece(text, spans)])[0])
    assert html == ("Crude <mark>oil prices</mark> rose; <mark>oil</mark>, then "
                    "<mark>prices</mark>.")
