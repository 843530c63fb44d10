"""Who may use the librarians' console: one password, a session, CSRF tokens.

The operator sets the password with `archivist set-password`, which stores
only its werkzeug hash in the instance folder (`admin-password`); the hash
may instead come from the configuration (`ADMIN_PASSWORD_HASH`, or the
environment as `ARCHIVIST_ADMIN_PASSWORD_HASH`). There is no default
password: until one is set, the console only explains how to set it.

A signed-in librarian holds a Flask session cookie: signed with the app's
secret key (generated once into the instance folder's `secret-key` unless
configured), `HttpOnly`, `SameSite=Lax`, and `Secure` whenever the request
came over HTTPS. The session remembers the password it was opened with (a
keyed fingerprint of the hash), so setting a new password signs everyone
out. Every POST must carry the session's CSRF token, as a form field or an
`X-CSRF-Token` header. Failed sign-ins are counted per client address, and
past the limit in a minute the client is told to wait (429).

This module keeps the rules; the console's views (`webui.admin`) apply them.
It never stores or logs a password.
"""

from __future__ import annotations

import collections
import hashlib
import hmac
import os
import secrets
import threading
import time
from pathlib import Path

from flask import Flask, current_app, has_request_context, request, session
from flask.sessions import SecureCookieSessionInterface
from werkzeug.security import check_password_hash, generate_password_hash

PASSWORD_FILE = "admin-password"
SECRET_FILE = "secret-key"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
#: Shortest password `set_password` accepts.
MIN_PASSWORD_CHARS = 10

_SESSION = "admin"
_CSRF = "csrf"
_THROTTLE = "archivist.login_throttle"


class _SessionInterface(SecureCookieSessionInterface):
    """Flask's signed cookie session, marked `Secure` on HTTPS requests.

    Readers never sign in, so their requests carry no session cookie and
    leave the session untouched. For them the signing serializer is not
    built (Flask builds one per request, before looking for a cookie) and
    there is nothing to save.
    """

    def get_cookie_secure(self, app: Flask) -> bool:
        if app.config.get("SESSION_COOKIE_SECURE"):
            return True
        return has_request_context() and request.is_secure

    def open_session(self, app: Flask, request):
        if app.secret_key and not request.cookies.get(self.get_cookie_name(app)):
            return self.session_class()
        return super().open_session(app, request)

    def save_session(self, app: Flask, session, response) -> None:
        if not session and not session.modified and not session.accessed:
            return  # what Flask would do, without working out the cookie's rules
        super().save_session(app, session, response)


def init_app(app: Flask) -> None:
    """Give `app` a secret key, the session cookie rules and the sign-in throttle."""
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _instance_secret(Path(app.instance_path))
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    if not app.config.get("SESSION_COOKIE_SAMESITE"):
        app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    app.session_interface = _SessionInterface()
    app.extensions.setdefault(_THROTTLE, Throttle(
        attempts=int(app.config.get("ADMIN_LOGIN_ATTEMPTS", 5)),
        window=float(app.config.get("ADMIN_LOGIN_WINDOW", 60.0)),
    ))


def _instance_secret(instance: Path) -> str:
    """The key kept in the instance folder, created on first use (owner-only)."""
    path = instance / SECRET_FILE
    try:
        return path.read_text("ascii").strip()
    except FileNotFoundError:
        pass
    instance.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    try:
        # O_EXCL: two processes starting at once must agree on one key.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text("ascii").strip()
    with os.fdopen(fd, "w", encoding="ascii") as f:
        f.write(key + "\n")
    return key


# -- the password ----------------------------------------------------------------


def password_hash(app: Flask | None = None) -> str | None:
    """The configured password hash, else the instance folder's; None if unset."""
    app = app or current_app
    configured = app.config.get("ADMIN_PASSWORD_HASH")
    if configured:
        return str(configured).strip()
    try:
        stored = (Path(app.instance_path) / PASSWORD_FILE).read_text("utf-8").strip()
    except FileNotFoundError:
        return None
    return stored or None


def set_password(instance_path: str | Path, password: str) -> Path:
    """Store the hash of `password` in the instance folder (owner-only); return the file."""
    if len(password) < MIN_PASSWORD_CHARS:
        raise ValueError(f"the password must have at least {MIN_PASSWORD_CHARS} characters")
    folder = Path(instance_path)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / PASSWORD_FILE
    tmp = folder / f".{PASSWORD_FILE}.{os.getpid()}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(generate_password_hash(password) + "\n")
    os.replace(tmp, path)
    return path


def check_password(password: str) -> bool:
    stored = password_hash()
    if not stored or not password:
        return False
    try:
        return check_password_hash(stored, password)
    except (ValueError, TypeError):  # a malformed configured hash never lets anyone in
        return False


def _fingerprint(stored: str) -> str:
    key = str(current_app.config["SECRET_KEY"]).encode()
    return hmac.new(key, stored.encode(), hashlib.sha256).hexdigest()[:24]


# -- the session -------------------------------------------------------------------


def sign_in(who: str) -> None:
    """Open a console session for `who` (already authenticated)."""
    session.clear()
    session[_SESSION] = {
        "who": who, "since": time.time(), "pw": _fingerprint(password_hash() or ""),
    }
    session[_CSRF] = secrets.token_urlsafe(32)


def sign_out() -> None:
    session.clear()


def signed_in() -> bool:
    """True when the request carries a live session for the current password."""
    data = session.get(_SESSION)
    stored = password_hash()
    if not isinstance(data, dict) or not stored:
        return False
    hours = float(current_app.config.get("ADMIN_SESSION_HOURS", 12))
    if time.time() - float(data.get("since", 0)) > hours * 3600:
        return False
    return hmac.compare_digest(str(data.get("pw", "")), _fingerprint(stored))


def who() -> str:
    """The signed-in librarian's name and address, for the history."""
    data = session.get(_SESSION) or {}
    return f"{data.get('who') or 'librarian'} ({request.remote_addr or 'unknown address'})"


# -- CSRF ----------------------------------------------------------------------------


def csrf_token() -> str:
    """This session's CSRF token (created on first use, also before signing in)."""
    token = session.get(_CSRF)
    if not token:
        token = session[_CSRF] = secrets.token_urlsafe(32)
    return token


def csrf_ok() -> bool:
    """True when the request carries this session's CSRF token."""
    expected = session.get(_CSRF)
    given = request.form.get(CSRF_FIELD) or request.headers.get(CSRF_HEADER) or ""
    return bool(expected) and hmac.compare_digest(str(expected), str(given))


# -- failed sign-ins ------------------------------------------------------------------


class Throttle:
    """Failed sign-ins per client in a sliding window; thread-safe, bounded in memory."""

    #: Clients tracked at most; beyond that the stalest are forgotten.
    MAX_CLIENTS = 10_000

    def __init__(self, attempts: int = 5, window: float = 60.0) -> None:
        self.attempts = max(1, attempts)
        self.window = window
        self._lock = threading.Lock()
        self._failures: dict[str, collections.deque[float]] = {}

    def wait_for(self, client: str) -> float:
        """Seconds `client` must wait before trying again (0 when it may try now)."""
        now = time.monotonic()
        with self._lock:
            times = self._recent(client, now)
            if len(times) < self.attempts:
                return 0.0
            return max(times[0] + self.window - now, 1.0)

    def failed(self, client: str) -> None:
        now = time.monotonic()
        with self._lock:
            self._recent(client, now).append(now)
            if len(self._failures) > self.MAX_CLIENTS:
                for key in list(self._failures)[: len(self._failures) - self.MAX_CLIENTS]:
                    del self._failures[key]

    def succeeded(self, client: str) -> None:
        with self._lock:
            self._failures.pop(client, None)

    def _recent(self, client: str, now: float) -> collections.deque[float]:
        times = self._failures.setdefault(client, collections.deque())
        while times and times[0] <= now - self.window:
            times.popleft()
        return times


def throttle() -> Throttle:
    return current_app.extensions[_THROTTLE]
