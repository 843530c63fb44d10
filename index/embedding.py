"""Meaning vectors of articles and queries, from a static embedding model.

Words alone miss an article that says "airfoil" to a reader who asked about
"wings". A static embedding model gives every text a vector so that texts
about the same things point the same way; the search side mixes their
cosine with the word score (`search.semantic`).

The model is WordLlama's `l2_supercat_256` (256 dimensions), which ships
inside the `wordllama` wheel: it is loaded from the package's own folder
with downloads disabled and the Hugging Face hub set offline, so nothing is
fetched at run time. It is a table of token vectors averaged over a text,
so an article costs well under a millisecond.

Vectors are unit length and kept as float16 (512 bytes an article: plenty
for a cosine). If the model cannot be loaded, `vectors` returns None and
the index simply has no meaning vectors (search falls back to words).

**Tokens a piece at a time.** The model's tokenizer (Llama's BPE) has no
pre-tokenizer: it merges byte pairs over a whole text at once, which was
the larger part of an article's cost. None of its merges joins a
character to a following word boundary (`▁`), and none involves an ASCII
digit, so the text can be cut before each `▁` that follows another
character and around each digit, each piece tokenized alone and
remembered, and the pieces' tokens joined: the same tokens (`_Pieces`,
checked against the tokenizer's own merges when the model loads). Each
text's token vectors are then summed on their own, in order, as the
model's padded batches sum them (padding adds zeros), and divided and
normalized as it does: a vector is the one `WordLlama.embed` makes, bit
for bit (`tests/test_embedding.py`).
"""

from __future__ import annotations

import json
import os
import re
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np

#: Dimensions of a vector, and its size as stored (float16).
DIMENSIONS = 256
VECTOR_BYTES = DIMENSIONS * 2
#: Characters of an article's text that make its vector: the title and lead carry
#: its subject, and the cost grows with the length (1,500 characters cost half of
#: 3,000, and embedding was the largest part of indexing an article).
MAX_CHARS = 1500
_MODEL = "l2_supercat"
#: Texts the model pools together when it tokenizes them itself (sorted by
#: length, so their padding is small).
BATCH = 16

_lock = threading.Lock()
_model = None
_pieces = None
_failed = False


def _load():
    global _model, _pieces, _failed
    if _model is not None or _failed:
        return _model
    with _lock:
        if _model is None and not _failed:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            try:
                import wordllama
                from wordllama import WordLlama

                folder = Path(wordllama.__file__).parent
                model = WordLlama.load(config=_MODEL, dim=DIMENSIONS, cache_dir=folder,
                                       disable_download=True)
                _pieces = _Pieces.of(model.tokenizer)
                _model = model
            except Exception:  # noqa: BLE001  no model: the index keeps words only
                _failed = True
    return _model


_SPACE = "\u2581"  # what the tokenizer writes for a space, and before a text
#: A run of word boundaries and the characters up to the next one.
_PIECE = re.compile(f"{_SPACE}*[^{_SPACE}]+|{_SPACE}+")
#: The same, with each ASCII digit a piece of its own.
_PIECE_OR_DIGIT = re.compile(f"{_SPACE}*[^{_SPACE}0-9]+|{_SPACE}+|[0-9]")
_DIGITS = frozenset("0123456789")


class _Pieces:
    """The tokenizer's ids of a text, found a piece at a time (see the module
    docstring). `of` gives one only for a tokenizer whose settings make that
    exact; any other is used as it is."""

    #: Pieces remembered at most (then forgotten all at once).
    LIMIT = 200_000

    def __init__(self, model, special: tuple[str, ...], pad_id: int,
                 pieces: re.Pattern[str] = _PIECE) -> None:
        self._model = model
        self._special = special
        self.pad_id = pad_id
        self._pieces = pieces
        self._known: dict[str, tuple[int, ...]] = {}

    @classmethod
    def of(cls, tokenizer) -> _Pieces | None:
        spec = json.loads(tokenizer.to_str())
        bpe = spec.get("model") or {}
        expected_normalizer = {"type": "Sequence", "normalizers": [
            {"type": "Prepend", "prepend": _SPACE},
            {"type": "Replace", "pattern": {"String": " "}, "content": _SPACE}]}
        if (spec.get("normalizer") != expected_normalizer or spec.get("pre_tokenizer")
                or bpe.get("type") != "BPE" or bpe.get("dropout") or bpe.get("ignore_merges")
                or tokenizer.padding is None):
            return None
        digits_alone = True
        for merge in bpe.get("merges", []):
            left, right = merge.split(" ") if isinstance(merge, str) else merge
            if right.startswith(_SPACE) and not left.endswith(_SPACE):
                return None  # a merge across a cut: pieces would not add up
            if left[-1] in _DIGITS or right[0] in _DIGITS:
                digits_alone = False
        special = tuple(t["content"] for t in spec.get("added_tokens") or [])
        return cls(tokenizer.model, special, tokenizer.padding["pad_id"],
                   _PIECE_OR_DIGIT if digits_alone else _PIECE)

    def ids(self, text: str) -> list[int] | None:
        """The token ids of `text`, or None when the tokenizer must see it
        whole (it holds a special token such as `<s>`)."""
        if any(s in text for s in self._special):
            return None
        if not text:
            return []  # the tokenizer prepends nothing to an empty text
        known = self._known
        ids: list[int] = []
        for piece in self._pieces.findall(_SPACE + text.replace(" ", _SPACE)):
            got = known.get(piece)
            if got is None:
                if len(known) >= self.LIMIT:
                    known.clear()
                got = known[piece] = tuple(t.id for t in self._model.tokenize(piece))
            ids.extend(got)
        return ids


def article_vectors(articles: Sequence[tuple[str, str]]) -> np.ndarray | None:
    """Each (title, body) article's meaning vector: the title's vector and
    the vector of the body's first `MAX_CHARS` characters, added as unit
    vectors and normalized, so the title and the body each have half of it.

    One pooled vector of title and body together let the body's hundreds of
    tokens drown the title's ten, although the title is where an article
    says what it is about (BM25F weighs a title word three times a body
    word for the same reason). Weighed half and half, the articles that
    the meaning part lifts are those whose subject, not only whose wording,
    is the reader's: `make eval` gave nDCG@10 +0.008 for keyword queries and
    +0.007 for typed questions on Cranfield, -0.002 and +0.007 on CACM, and
    -0.003 and 0.000 on CISI. A title or body that is empty leaves the
    other's vector alone. None without a model.
    """
    if not articles:
        return None
    titles = [title or "" for title, _ in articles]
    bodies = [(body or "")[:MAX_CHARS] for _, body in articles]
    texts = [t for t in titles if t.strip()] + [b for b in bodies if b.strip()]
    made = vectors(texts) if texts else np.zeros((0, DIMENSIONS), dtype=np.float32)
    if made is None:
        return None
    out = np.zeros((len(articles), DIMENSIONS), dtype=np.float32)
    rows = iter(made)
    for part in (titles, bodies):
        for i, text in enumerate(part):
            if text.strip():
                out[i] += next(rows)
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    return np.divide(out, norms, out=np.zeros_like(out), where=norms > 0)


def vectors(texts: list[str]) -> np.ndarray | None:
    """Unit vectors (float32, one row per text), or None without a model."""
    if not texts:
        return None
    model = _load()
    if model is None:
        return None
    if _pieces is None:
        return _embed(model, texts)
    table = model.embedding
    sums = np.zeros((len(texts), DIMENSIONS), dtype=np.float32)
    counts = np.zeros(len(texts), dtype=np.float32)
    whole = []  # texts the tokenizer must see whole
    for row, text in enumerate(texts):
        ids = _pieces.ids(text)
        if ids is None:
            whole.append(row)
            sums[row] = 1.0  # a stand-in, replaced below (and not a zero to divide by)
        elif ids:
            # The token vectors added in order, as the model's pooling adds them.
            sums[row] = table[np.clip(ids, 0, table.shape[0] - 1)].sum(axis=0)
            counts[row] = len(ids)
    # The model's pooling and normalizing, to the same bits.
    v = sums / np.maximum(counts, 1.0)[:, np.newaxis]
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    if whole:
        v[whole] = _embed(model, [texts[row] for row in whole])
    return v


def _embed(model, texts: list[str]) -> np.ndarray:
    """`model.embed` of `texts`, normalized (float32, one row per text)."""
    # The model pads every text of a call to the longest one: in length order,
    # neighbours are alike and the padding is small (unsorted, it doubled the cost).
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    made = np.asarray(model.embed([texts[i] for i in order], norm=True, batch_size=BATCH),
                      dtype=np.float32).reshape(len(texts), DIMENSIONS)
    v = np.empty_like(made)
    v[order] = made
    return v


def to_bytes(vector: np.ndarray) -> bytes:
    """A vector as stored in the index (float16)."""
    return np.asarray(vector, dtype="<f2").tobytes()


def from_bytes(data: bytes) -> np.ndarray:
    """Stored vectors (one or many, concatenated) back as float16 rows."""
    return np.frombuffer(data, dtype="<f2").reshape(-1, DIMENSIONS)
