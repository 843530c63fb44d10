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
"""

from __future__ import annotations

import os
import threading
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

_lock = threading.Lock()
_model = None
_failed = False


def _load():
    global _model, _failed
    if _model is not None or _failed:
        return _model
    with _lock:
        if _model is None and not _failed:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            try:
                import wordllama
                from wordllama import WordLlama

                folder = Path(wordllama.__file__).parent
                _model = WordLlama.load(config=_MODEL, dim=DIMENSIONS, cache_dir=folder,
                                        disable_download=True)
            except Exception:  # noqa: BLE001  no model: the index keeps words only
                _failed = True
    return _model


def article_text(title: str, body: str) -> str:
    """The text an article's vector is made from."""
    return f"{title}\n{body[:MAX_CHARS]}"


def vectors(texts: list[str]) -> np.ndarray | None:
    """Unit vectors (float32, one row per text), or None without a model."""
    if not texts:
        return None
    model = _load()
    if model is None:
        return None
    # The model pads every text of a call to the longest one: in length order,
    # neighbours are alike and the padding is small (unsorted, it doubled the cost).
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    made = np.asarray(model.embed([texts[i] for i in order], norm=True, batch_size=16),
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
