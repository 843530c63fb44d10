"""Who may use the librarians' console: one password, a session, CSRF tokens.

The operator sets the password with `archivist set-password`, which stores
only its werkzeug hash in the instance folder (`admin-password`); the hash
may instead come from the configuration (`ADMIN_PASSWORD_HASH`, or the
environment as `ARCHIVIST_ADMIN_PASSWORD_HASH`). There is no default
password: until one is set, the console only explains how to set it.

A signed-in librarian holds a Flask session cookie: signed with the app's
secret key (generated once into the instance folder's `secret-key` unless
configured), `HttpOnly`, `SameSite=Lax`; over HTTPS (direct, or a trusted
proxy's `X-Forwarded-Proto`, see `webui.proxy`) it is `Secure` and named
`__Host-session`, so no other host or path can set or shadow it. The
session carries a random id recorded server-side (`webui.auth_store`):
signing out deletes the record and a new password deletes them all, so a
copied cookie stops working at once. It also remembers the password it was
opened with (a keyed fingerprint of the hash), which covers a hash changed
in the configuration. Every POST must carry the session's CSRF token, as a
form field or an `X-CSRF-Token` header, compared as bytes (any text, even
non-ASCII, is only ever a mismatch). Sign-in attempts are counted per client
address in the same database, shared by every worker, and reserved before
the password is hashed; past the limit the client is told to wait (429).

The secret key file is written whole beside its final name and linked into
place, so a worker never reads half a key; a file that does not hold a key
(empty, short) is replaced under a lock, never used.

This module keeps the rules; the console's views (`webui.admin`) apply them.
It never stores or logs a password.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import hmac
import ipaddress
import logging
import os
import secrets
import tempfile
import time
from pathlib import Path

from flask import Flask, current_app, g, has_request_context, request, session
from flask.sessions import SecureCookieSessionInterface
from werkzeug.security import check_password_hash, generate_password_hash

from webui.auth_store import AuthStore, Throttle

PASSWORD_FILE = "admin-password"
SECRET_FILE = "secret-key"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
#: Shortest password `set_password` accepts.
MIN_PASSWORD_CHARS = 10
#: Shortest secret key accepted, from the file or the configuration (generated: 64).
MIN_SECRET_CHARS = 32
#: The session cookie's name prefix on HTTPS: Secure, Path=/, no Domain, by the browser's rule.
HOST_PREFIX = "__Host-"

_SESSION = "admin"
_CSRF = "csrf"
_THROTTLE = "archivist.login_throttle"
_STORE = "archivist.auth_store"
_SIGNED_IN = "_archivist_signed_in"


def _https() -> bool:
    # After ProxyFix, when a proxy is trusted: its X-Forwarded-Proto counts.
    return has_request_context() and request.is_secure


class _SessionInterface(SecureCookieSessionInterface):
    """Flask's signed cookie session; on HTTPS a `Secure` `__Host-` cookie.

    Readers never sign in, so their requests carry no session cookie and
    leave the session untouched. For them the signing serializer is not
    built (Flask builds one per request, before looking for a cookie) and
    there is nothing to save.
    """

    def get_cookie_name(self, app: Flask) -> str:
        name = super().get_cookie_name(app)
        return HOST_PREFIX + name if _https() else name

    def get_cookie_domain(self, app: Flask) -> str | None:
        return None if _https() else super().get_cookie_domain(app)

    def get_cookie_path(self, app: Flask) -> str:
        return "/" if _https() else super().get_cookie_path(app)

    def get_cookie_secure(self, app: Flask) -> bool:
        if app.config.get("SESSION_COOKIE_SECURE"):
            return True
        return _https()

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
    configured = app.config.get("SECRET_KEY")
    if not configured:
        app.config["SECRET_KEY"] = _instance_secret(Path(app.instance_path), app.logger)
    elif len(str(configured)) < MIN_SECRET_CHARS:
        raise RuntimeError(f"SECRET_KEY is set but shorter than {MIN_SECRET_CHARS} "
                           "characters; set a longer one, or remove it to have one generated")
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    if not app.config.get("SESSION_COOKIE_SAMESITE"):
        app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    app.session_interface = _SessionInterface()
    store = app.extensions.setdefault(_STORE, AuthStore(app.instance_path))
    app.extensions.setdefault(_THROTTLE, Throttle(
        store,
        attempts=int(app.config.get("ADMIN_LOGIN_ATTEMPTS", 5)),
        window=float(app.config.get("ADMIN_LOGIN_WINDOW", 60.0)),
    ))


def _read_key(path: Path) -> str | None:
    """The key in `path`; None when there is no file, "" when it holds no usable key."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    try:
        key = raw.decode("ascii").strip()
    except UnicodeDecodeError:
        return ""
    return key if len(key) >= MIN_SECRET_CHARS else ""


def _write_temp_key(folder: Path) -> tuple[str, str]:
    """A new key, written whole and flushed to a private file in `folder`; (key, file)."""
    key = secrets.token_hex(32)
    fd, tmp = tempfile.mkstemp(prefix=f".{SECRET_FILE}.", dir=folder)  # mode 0600
    with os.fdopen(fd, "w", encoding="ascii") as f:
        f.write(key + "\n")
        f.flush()
        os.fsync(f.fileno())
    return key, tmp


def _instance_secret(instance: Path, log: logging.Logger | None = None) -> str:
    """The key kept in the instance folder, created on first use (owner-only).

    Workers starting together must agree on one key and never read a
    partial one: each writes its candidate whole into a private temporary
    file and links it to the final name, which fails if another got there
    first (then that one's complete key is read). A file that holds no usable
    key (empty, say, after a crash of an older version) is replaced under a
    lock, so that every worker uses the same replacement.
    """
    path = instance / SECRET_FILE
    instance.mkdir(parents=True, exist_ok=True)
    for _ in range(10):
        key = _read_key(path)
        if key:
            return key
        if key is None:
            key, tmp = _write_temp_key(instance)
            try:
                os.link(tmp, path)
            except FileExistsError:
                continue  # another worker linked its key first: read that one
            finally:
                os.unlink(tmp)
            return key
        with _key_lock(instance):
            if _read_key(path):
                continue  # replaced by another worker meanwhile
            key, tmp = _write_temp_key(instance)
            os.replace(tmp, path)
        (log or logging.getLogger(__name__)).warning(
            "%s held no usable secret key (fewer than %d characters); a new key replaced it "
            "and console sessions signed with the old one have ended", path, MIN_SECRET_CHARS)
        return key
    raise RuntimeError(f"could not read or create the secret key in {path}")


@contextlib.contextmanager
def _key_lock(instance: Path):
    fd = os.open(instance / f".{SECRET_FILE}.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


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
    # Every session opened with the old password ends now, in every worker.
    store = AuthStore(folder)
    try:
        store.revoke_all()
    finally:
        store.close()
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


def store() -> AuthStore:
    """The app's shared sign-in database (attempts and live sessions)."""
    return current_app.extensions[_STORE]


def sign_in(who: str) -> None:
    """Open a console session for `who` (already authenticated)."""
    _end_recorded_session()  # a fresh id on every sign-in: no session fixation
    session.clear()
    hours = float(current_app.config.get("ADMIN_SESSION_HOURS", 12))
    sid = store().open_session(who, hours * 3600)
    session[_SESSION] = {
        "who": who, "since": time.time(), "pw": _fingerprint(password_hash() or ""),
        "sid": sid,
    }
    session[_CSRF] = secrets.token_urlsafe(32)
    setattr(g, _SIGNED_IN, True)


def sign_out() -> None:
    """End this session here and on the server: its cookie is worthless from now on."""
    _end_recorded_session()
    session.clear()
    setattr(g, _SIGNED_IN, False)


def _end_recorded_session() -> None:
    data = session.get(_SESSION)
    if isinstance(data, dict) and isinstance(data.get("sid"), str):
        store().close_session(data["sid"])


def signed_in() -> bool:
    """True when the request carries a live session for the current password.

    Asked several times per console page; the database is read once per request.
    """
    known = g.get(_SIGNED_IN)
    if known is None:
        known = _session_is_live()
        setattr(g, _SIGNED_IN, known)
    return known


def _session_is_live() -> bool:
    data = session.get(_SESSION)
    stored = password_hash()
    if not isinstance(data, dict) or not stored:
        return False
    hours = float(current_app.config.get("ADMIN_SESSION_HOURS", 12))
    if time.time() - float(data.get("since", 0)) > hours * 3600:
        return False
    if not _same(data.get("pw"), _fingerprint(stored)):
        return False
    sid = data.get("sid")
    return isinstance(sid, str) and store().session_live(sid)


def _same(given, expected: str) -> bool:
    """Constant-time equality of two texts, as bytes: never raises on non-ASCII text."""
    if not isinstance(given, str) or not expected:
        return False
    return hmac.compare_digest(given.encode("utf-8", "replace"),
                               expected.encode("utf-8", "replace"))


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
    """True when the request carries this session's CSRF token.

    Compared as bytes: `hmac.compare_digest` raises on non-ASCII text, and a
    hostile token must be a plain mismatch (400), not an error (500).
    """
    expected = session.get(_CSRF)
    given = request.form.get(CSRF_FIELD) or request.headers.get(CSRF_HEADER) or ""
    return isinstance(expected, str) and _same(given, expected)


# -- sign-in attempts ------------------------------------------------------------------


def client_address() -> str:
    """The key the throttle counts a sign-in under: the client's address.

    `request.remote_addr` is the socket's peer, or, with `TRUSTED_PROXIES`
    set, the address the trusted proxy saw (`webui.proxy`); a client's own
    `X-Forwarded-For` never counts otherwise. An IPv6 client is counted by
    its /64 network, which one subscriber usually holds whole (one address
    each would give it billions of fresh tries).
    """
    raw = request.remote_addr or ""
    try:
        ip = ipaddress.ip_address(raw)
    except ValueError:
        return raw[:100] or "unknown"
    if ip.version == 6:
        if ip.ipv4_mapped:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


def throttle() -> Throttle:
    return current_app.extensions[_THROTTLE]
