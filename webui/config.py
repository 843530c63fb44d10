"""Configuration: the one place settings come from.

Defaults below, then the instance folder's `archivist.cfg` (a Python file of
UPPERCASE assignments, Flask style), then environment variables named
`ARCHIVIST_<SETTING>`, then explicit overrides (tests, CLI options). Code
elsewhere reads `app.config`; nothing else looks at the environment.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

DEFAULTS: dict[str, Any] = {
    # Folder holding the index generations; None means "<instance folder>/index".
    "INDEX_DIR": None,
    # The search engine readers are served by ("whoosh": the embedded index in INDEX_DIR).
    "ENGINE": "whoosh",
    # With ENGINE "typesense": the cluster's node URLs (a list, or URLs separated by
    # commas), its API key and the collection (or alias) holding the archive
    # (index/typesense_client.py).
    "TYPESENSE_NODES": [],
    "TYPESENSE_API_KEY": None,
    "TYPESENSE_COLLECTION": "archivist",
    # Whole answers kept per index version (search/cache.py); 0: none.
    "ANSWER_CACHE": 1024,
    # Largest article file an indexing run reads, in bytes.
    "MAX_FILE_BYTES": 20 * 1024 * 1024,
    # Seconds an indexing run waits for another run's write lock.
    "LOCK_TIMEOUT": 10.0,
    # Web UI limits.
    "MAX_QUERY_CHARS": 4000,
    "MAX_PAGE": 1000,
    "MAX_PER_PAGE": 100,
    "EXPORT_LIMIT": 1000,
    # "Relevance + recency": an article this many days older scores half as much.
    "RECENCY_HALF_LIFE_DAYS": 365.0,
    # Relevance mixes meaning vectors into word scores (search/semantic.py), with this weight.
    "SEMANTIC": True,
    "SEMANTIC_WEIGHT": 0.25,
    # Pseudo-relevance feedback (search/feedback.py): the best articles' shared words
    # re-weigh the best candidates (RM3).
    "FEEDBACK": True,
    # The librarians' console.
    # Folders of the archive (a list; in the environment, paths joined by os.pathsep).
    "SOURCES": [],
    "MAX_UPLOAD_BYTES": 50 * 1024 * 1024,  # per upload, counted after unzipping
    "MAX_UPLOAD_FILES": 500,
    "UPLOAD_DRY_RUN_FILES": 20,  # larger uploads always get a dry run first
    # Entries per upload of every kind (form files, zip members and folders), refused ones
    # included; a zip declaring more is refused before it is unpacked.
    "MAX_UPLOAD_ENTRIES": 2000,
    # The folder uploads go to by default, a source of its own (created by the first
    # upload); None means "<instance folder>/uploads". Configured SOURCES can be chosen too.
    "UPLOAD_DIR": None,
    "ADMIN_LOGIN_ATTEMPTS": 5,  # failed sign-ins per window per client address
    "ADMIN_LOGIN_WINDOW": 60.0,  # seconds
    "ADMIN_SESSION_HOURS": 12,
    "ADMIN_PASSWORD_HASH": None,  # wins over the instance folder's admin-password file
    "SECRET_KEY": None,  # None: generated once into the instance folder (secret-key)
    # Reverse proxies in front of the app whose X-Forwarded-For/-Proto/-Host are believed
    # (werkzeug's ProxyFix, that many hops from the right); 0: no proxy, the headers are ignored.
    "TRUSTED_PROXIES": 0,
    # Host names the app answers to (a list, or names separated by commas); any other Host
    # gets 400. None: every host is answered (and the feed trusts only loopback hosts).
    "TRUSTED_HOSTS": None,
    # Where readers reach the archive, e.g. "https://archive.example.org": the feed's absolute
    # links are made from it, never from the request's Host. None: see TRUSTED_HOSTS.
    "PUBLIC_URL": None,
    # Strict-Transport-Security max-age (seconds) sent on HTTPS responses only; 0: none.
    "HSTS_MAX_AGE": 365 * 24 * 3600,
    "HISTORY_KEEP": 50,
    "HEALTH_TOP_TAGS": 15,
}

#: Settings whose environment value is a number, with its type.
_NUMERIC = {"MAX_FILE_BYTES": int, "LOCK_TIMEOUT": float, "MAX_QUERY_CHARS": int,
            "MAX_PAGE": int, "MAX_PER_PAGE": int, "EXPORT_LIMIT": int,
            "RECENCY_HALF_LIFE_DAYS": float, "SEMANTIC_WEIGHT": float,
            "MAX_UPLOAD_BYTES": int, "MAX_UPLOAD_FILES": int, "UPLOAD_DRY_RUN_FILES": int,
            "ADMIN_LOGIN_ATTEMPTS": int, "ADMIN_LOGIN_WINDOW": float,
            "ADMIN_SESSION_HOURS": int, "HISTORY_KEEP": int, "HEALTH_TOP_TAGS": int,
            # Proxy hops believed; HSTS max-age in seconds.
            "TRUSTED_PROXIES": int, "HSTS_MAX_AGE": int, "ANSWER_CACHE": int}

#: Settings whose environment value is yes/no ("1", "true", "yes", "on" are yes).
_FLAGS = {"SEMANTIC", "FEEDBACK"}

# Entries per upload, a number in the environment too.
_NUMERIC["MAX_UPLOAD_ENTRIES"] = int

CONFIG_FILE = "archivist.cfg"


def load(config: Any, instance_path: str, overrides: Mapping[str, Any] | None = None,
         environ: Mapping[str, str] | None = None) -> None:
    """Fill a Flask `config` object in the documented order of precedence."""
    config.from_mapping(DEFAULTS)
    config.from_pyfile(os.path.join(instance_path, CONFIG_FILE), silent=True)
    env = os.environ if environ is None else environ
    for key in DEFAULTS:
        raw = env.get(f"ARCHIVIST_{key}")
        if raw:
            if key in _FLAGS:
                config[key] = raw.strip().lower() in ("1", "true", "yes", "on")
            else:
                config[key] = _NUMERIC[key](raw) if key in _NUMERIC else raw
    if overrides:
        config.update({k: v for k, v in overrides.items() if v is not None})
    if not config.get("INDEX_DIR"):
        config["INDEX_DIR"] = os.path.join(instance_path, "index")
    config["INDEX_DIR"] = str(Path(config["INDEX_DIR"]).expanduser().resolve())
