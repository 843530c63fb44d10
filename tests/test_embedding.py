"""Meaning vectors are the model's own, bit for bit.

`index.embedding` tokenizes a text a piece at a time and pools the token
vectors itself; each vector must equal what `WordLlama.embed` makes of the
whole text, for any script, spacing or special token a text may hold.
"""

from __future__ import annotations

import numpy as np
import pytest

from index import embedding

TEXTS = [
    "Oil prices rose on Tuesday after the ministers met in Vienna.",
    "  two  leading and trailing spaces  ",
    "Tabs\tand\nnewlines\n\nand a\u00a0no-break space",
    "Persian: سیاست خارجی ایران و گفت‌وگوهای هسته‌ای; Arabic: هذا كتاب",
    "Emoji 😀, CJK 中文, Cyrillic Москва, Greek Ελλάδα, accents économie",
    "\u2581 the tokenizer's own space mark \u2581\u2581 written out",
    "<s> a special token </s> and <unk> inside",
    "x" * 3000,
    "a",
    "U.S. 3,000 AT&T's 1986/87 mid-1987 -- ... !!!",
]


@pytest.fixture(scope="module")
def model():
    loaded = embedding._load()
    if loaded is None:
        pytest.skip("no embedding model installed")
    return loaded


def test_vectors_are_the_model_own_bit_for_bit(model):
    made = embedding.vectors(TEXTS)
    expected = np.asarray(model.embed(TEXTS, norm=True, batch_size=embedding.BATCH),
                          dtype=np.float32)
    assert made.view(np.uint32).tolist() == expected.view(np.uint32).tolist()
    # Again, from the pieces it remembered; and one text at a time.
    assert embedding.vectors(TEXTS).view(np.uint32).tolist() == made.view(np.uint32).tolist()
    for text, row in zip(TEXTS, made, strict=True):
        assert embedding.vectors([text])[0].view(np.uint32).tolist() == row.view(
            np.uint32).tolist()


def test_pieces_give_the_tokenizer_own_ids(model):
    pieces = embedding._pieces
    assert pieces is not None, "the model's tokenizer can be read a piece at a time"
    for text in TEXTS:
        ids = pieces.ids(text)
        whole = model.tokenizer.encode(text, add_special_tokens=False).ids
        assert ids is None or ids == whole, text
    assert pieces.ids("<s> special") is None


def test_an_article_vector_is_half_its_title_and_half_its_body(model):
    long_body = "The wing's lift grew with the angle of attack. " * 60  # past MAX_CHARS
    articles = [("Airfoil flutter", long_body), ("", "Only a body here."),
                ("Only a title", ""), ("", "")]
    made = embedding.article_vectors(articles)

    def own(text: str) -> np.ndarray:
        return np.asarray(model.embed([text], norm=True), dtype=np.float32)[0]

    both = own("Airfoil flutter") + own(long_body[:embedding.MAX_CHARS])
    assert np.allclose(made[0], both / np.linalg.norm(both), atol=1e-6)
    # The title pulls as hard as the whole body: halfway between the two.
    assert made[0] @ own("Airfoil flutter") == pytest.approx(
        made[0] @ own(long_body[:embedding.MAX_CHARS]), abs=1e-5)
    assert np.allclose(made[1], own("Only a body here."), atol=1e-6)
    assert np.allclose(made[2], own("Only a title"), atol=1e-6)
    assert not made[3].any()  # nothing to say: no direction, and no NaN
    assert embedding.article_vectors([]) is None
