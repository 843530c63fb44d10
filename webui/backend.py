"""The app's one search engine: opened on first use, shared by every request.

A Flask app serves many requests on many threads (waitress runs eight by
default). Opening the index is the slow part of a search, so each app holds
a single engine, created the first time a request needs it and never at
import or app-creation time (a test can build an app for an index that does
not exist yet). `make_engine` is the one factory: `ENGINE` "whoosh" (the
default) is `search.embedded.engine.Engine` over `INDEX_DIR`, "typesense"
is `search.typesense.TypesenseEngine` over the cluster that
`TYPESENSE_NODES`, `TYPESENSE_API_KEY` and `TYPESENSE_COLLECTION` name;
either is wrapped in the answer cache. Both engines notice a re-indexed
archive by themselves, so a long-running server never needs a restart.

This module only holds the engine; it never runs a search itself.
"""

from __future__ import annotations

import threading

from flask import Flask, current_app

from search.cache import ANSWER_CACHE_SIZE, CachedEngine
from search.protocol import ReadEngine

_KEY = "archivist.engine"


class _Holder:
    """The lazily created engine of one app, guarded against a creation race."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.engine: ReadEngine | None = None

    def get(self, config) -> ReadEngine:
        # Double-checked: after the first request, readers never take the lock.
        engine = self.engine
        if engine is None:
            with self.lock:
                if self.engine is None:
                    self.engine = make_engine(config)
                engine = self.engine
        return engine

    def close(self) -> None:
        with self.lock:
            close = getattr(self.engine, "close", None)
            if close is not None:
                close()
            self.engine = None


def init_app(app: Flask) -> None:
    """Give `app` its (not yet opened) engine slot."""
    app.extensions[_KEY] = _Holder()


def get_engine(app: Flask | None = None) -> ReadEngine:
    """The engine of `app` (default: the current app), opening it if needed."""
    app = app or current_app
    return app.extensions[_KEY].get(app.config)


#: The engines a configuration may name (`ENGINE`).
ENGINES = ("whoosh", "typesense")


def make_engine(config) -> ReadEngine:
    """The engine a configuration asks for (the app's, the console's and the
    CLI's alike), its answers cached per index version (`ANSWER_CACHE`
    answers; 0 for none).

    Raises `ValueError` naming what is wrong: an unknown `ENGINE`, or a
    Typesense engine without nodes or API key (`index.typesense_client.SettingsError`).
    """
    name = str(config.get("ENGINE") or "whoosh").strip().lower()
    engine: ReadEngine
    if name == "whoosh":
        from search.embedded.engine import Engine

        engine = Engine(config["INDEX_DIR"],
                        half_life_days=float(config["RECENCY_HALF_LIFE_DAYS"]),
                        semantic=bool(config["SEMANTIC"]),
                        semantic_weight=float(config["SEMANTIC_WEIGHT"]),
                        feedback=bool(config["FEEDBACK"]))
    elif name == "typesense":
        from index.typesense_client import settings_from
        from search.typesense import TypesenseEngine

        engine = TypesenseEngine(settings_from(config))
    else:
        raise ValueError(f"unknown engine {name!r}: choose one of {', '.join(ENGINES)}")
    size = int(config.get("ANSWER_CACHE", ANSWER_CACHE_SIZE))
    return CachedEngine(engine, size) if size > 0 else engine


def close_engine(app: Flask) -> None:
    """Close `app`'s engine, if it was ever opened (tests and shutdown)."""
    holder = app.extensions.get(_KEY)
    if holder is not None:
        holder.close()
