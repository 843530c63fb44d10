"""The console's sign-in state, one copy for every worker process: SQLite in the instance folder.

`archivist serve --workers N` runs N processes; a throttle or a session list
kept in memory would be N throttles and N lists. This module keeps both in
one small SQLite database beside the password hash (`console-auth.sqlite3`,
owner-only, in WAL mode so readers never wait for a writer), and every
change is one short `BEGIN IMMEDIATE` transaction, so two processes never
act on the same stale count.

- **Sign-in attempts.** An attempt is *reserved* before the slow password
  hash is computed: the count of the client's attempts in the window and the
  new row are one transaction, so of a burst of concurrent attempts only as
  many as the limit get through to the hash, whichever worker and thread
  they land on. A reservation counts as a failure unless the password turns
  out right (then the client's rows are cleared); a worker that dies
  mid-check leaves a row that simply ages out. Rows are keyed by client
  address only, so one address's lock-out never touches another's; rows
  older than the window are pruned on every reservation and the table never
  holds more than `MAX_ATTEMPT_ROWS`.
- **Sessions.** Each console session has a random id, carried in the signed
  cookie and recorded here (as its SHA-256, so the file cannot be replayed
  into cookies). A console request is signed in only while its id is
  recorded: signing out deletes the row, a new password deletes every row,
  so a captured cookie stops working at once instead of living on for its
  twelve hours.

This module never sees a password, and stores no session id in clear. It
knows nothing of Flask; `webui.auth` decides what the rows mean.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
import sqlite3
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

DB_FILE = "console-auth.sqlite3"
#: Attempt rows kept at most (a flood from many addresses evicts the oldest rows).
MAX_ATTEMPT_ROWS = 100_000
#: Live sessions kept at most; signing in beyond this ends the oldest.
MAX_SESSIONS = 1_000
#: Seconds a worker waits for another's transaction before giving up.
BUSY_TIMEOUT = 5.0

_SCHEMA = """
CREATE TABLE IF NOT EXISTS attempts (
    id INTEGER PRIMARY KEY,
    client TEXT NOT NULL,
    at REAL NOT NULL,
    failed INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS attempts_by_client ON attempts (client, at);
CREATE INDEX IF NOT EXISTS attempts_by_time ON attempts (at);
CREATE TABLE IF NOT EXISTS sessions (
    sid TEXT PRIMARY KEY,
    who TEXT NOT NULL,
    created REAL NOT NULL,
    expires REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS sessions_by_expiry ON sessions (expires);
"""


def _digest(sid: str) -> str:
    return hashlib.sha256(sid.encode("utf-8", "replace")).hexdigest()


class AuthStore:
    """The database of one instance folder; safe to share between threads.

    Each thread of each process opens its own connection on first use (a
    connection must not cross a fork or be used by two threads at once).
    """

    def __init__(self, instance_path: str | Path) -> None:
        self.path = Path(instance_path) / DB_FILE
        self._local = threading.local()

    # -- connections ---------------------------------------------------------------

    def _db(self) -> sqlite3.Connection:
        local = self._local
        if getattr(local, "pid", None) != os.getpid():
            local.conn = self._connect()
            local.pid = os.getpid()
        return local.conn

    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # Created owner-only before SQLite opens it; its -wal and -shm files
        # take the same permissions.
        os.close(os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600))
        conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT, isolation_level=None)
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.executescript(_SCHEMA)
        return conn

    @contextlib.contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One short write transaction, holding the database's write lock throughout."""
        db = self._db()
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    def close(self) -> None:
        """Close this thread's connection (others close when their thread ends)."""
        conn = getattr(self._local, "conn", None)
        if conn is not None and self._local.pid == os.getpid():
            conn.close()
        self._local = threading.local()

    # -- sign-in attempts -------------------------------------------------------------

    def reserve_attempt(self, client: str, limit: int, window: float) -> tuple[int | None, float]:
        """Count `client`'s attempts in the last `window` seconds and, below `limit`,
        record one more, atomically. Returns (the new row's id, 0) or (None, seconds
        to wait)."""
        now = time.time()
        with self._write() as db:
            db.execute("DELETE FROM attempts WHERE at <= ?", (now - window,))
            count, oldest = db.execute(
                "SELECT count(*), min(at) FROM attempts WHERE client = ? AND at > ?",
                (client, now - window)).fetchone()
            if count >= limit:
                return None, max(oldest + window - now, 1.0)
            row = db.execute("INSERT INTO attempts (client, at) VALUES (?, ?)",
                             (client, now)).lastrowid
            # Row ids only grow, so this keeps the newest rows whatever their age.
            db.execute("DELETE FROM attempts WHERE id <= ?", (row - MAX_ATTEMPT_ROWS,))
            return row, 0.0

    def attempt_failed(self, row: int) -> None:
        # The row already counts; this only records the verdict for whoever reads the table.
        with self._write() as db:
            db.execute("UPDATE attempts SET failed = 1 WHERE id = ?", (row,))

    def attempt_succeeded(self, client: str) -> None:
        """The client knows the password: forget its attempts (the reservation too)."""
        with self._write() as db:
            db.execute("DELETE FROM attempts WHERE client = ?", (client,))

    def attempts(self, client: str) -> int:
        """Attempt rows recorded for `client` (for tests and the curious operator)."""
        return self._db().execute("SELECT count(*) FROM attempts WHERE client = ?",
                                  (client,)).fetchone()[0]

    # -- sessions -----------------------------------------------------------------------

    def open_session(self, who: str, lifetime: float) -> str:
        """Record a new session for `who`, live for `lifetime` seconds; return its id."""
        sid = secrets.token_urlsafe(32)
        now = time.time()
        with self._write() as db:
            db.execute("DELETE FROM sessions WHERE expires <= ?", (now,))
            db.execute("INSERT INTO sessions (sid, who, created, expires) VALUES (?, ?, ?, ?)",
                       (_digest(sid), who, now, now + lifetime))
            db.execute("DELETE FROM sessions WHERE sid NOT IN "
                       "(SELECT sid FROM sessions ORDER BY created DESC LIMIT ?)",
                       (MAX_SESSIONS,))
        return sid

    def session_live(self, sid: str) -> bool:
        if not sid:
            return False
        found = self._db().execute("SELECT 1 FROM sessions WHERE sid = ? AND expires > ?",
                                   (_digest(sid), time.time())).fetchone()
        return found is not None

    def close_session(self, sid: str) -> None:
        with self._write() as db:
            db.execute("DELETE FROM sessions WHERE sid = ?", (_digest(sid),))

    def revoke_all(self) -> int:
        """End every session (a new password); return how many there were."""
        with self._write() as db:
            return db.execute("DELETE FROM sessions").rowcount

    def sessions(self) -> int:
        return self._db().execute("SELECT count(*) FROM sessions").fetchone()[0]


@dataclass
class Attempt:
    """One sign-in attempt, reserved before the password is checked.

    `wait` is non-zero when the client is locked out (nothing was reserved).
    Call `failed()` or `succeeded()` once the password has been checked.
    """

    store: AuthStore
    client: str
    row: int | None
    wait: float = 0.0

    def failed(self) -> None:
        if self.row is not None:
            self.store.attempt_failed(self.row)

    def succeeded(self) -> None:
        self.store.attempt_succeeded(self.client)


class Throttle:
    """At most `attempts` sign-ins per client address in any `window` seconds,
    counted across every worker process."""

    def __init__(self, store: AuthStore, attempts: int = 5, window: float = 60.0) -> None:
        self.store = store
        self.attempts = max(1, attempts)
        self.window = max(1.0, window)

    def reserve(self, client: str) -> Attempt:
        row, wait = self.store.reserve_attempt(client, self.attempts, self.window)
        return Attempt(self.store, client, row, wait)
