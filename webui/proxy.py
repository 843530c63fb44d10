"""How the app is reached: trusted proxies, trusted host names, the public URL.

Archivist binds to 127.0.0.1 by default, so anything public reaches it
through a reverse proxy. Three settings say what that proxy may tell it:

- `TRUSTED_PROXIES` (default 0): how many proxies stand in front of the
  app. Only when it is above 0 is werkzeug's `ProxyFix` put around the app,
  and it then believes that many entries, counted from the right, of
  `X-Forwarded-For` (the client address the sign-in throttle counts),
  `X-Forwarded-Proto` (HTTPS: `Secure` `__Host-` cookie, HSTS) and
  `X-Forwarded-Host`. At 0 those headers are ignored, whoever sends them.
  Above 0 the proxy must set (replace, or append to) all three itself: a
  header it passes through untouched is the client's word.
- `TRUSTED_HOSTS` (default none): the host names this archive answers to
  (Flask's own setting; ".example.org" matches its subdomains). When set,
  a request naming any other `Host` is answered 400.
- `PUBLIC_URL` (default none): where readers reach the archive, e.g.
  `https://archive.example.org`. Absolute links (the Atom feed's) are made
  from it and never from the request.

With neither `PUBLIC_URL` nor `TRUSTED_HOSTS`, the feed uses the request's
host only when it is a loopback name (`localhost`, 127.0.0.0/8, ::1): the
default set-up, where nothing but this machine (or a local proxy that sends
its own upstream address, nginx's default) can reach the server. Any other
`Host` could have been written by the client, and a cache in front would
keep the feed it made; such a feed request is answered 400 with what to set.

This module reads only the settings it is given; it never trusts a header
that the configuration did not ask it to.
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit

from flask import Flask, Response, current_app, request
from werkzeug.exceptions import SecurityError
from werkzeug.middleware.proxy_fix import ProxyFix

#: Shown when a feed is asked for on a host the archive cannot trust.
UNTRUSTED_HOST = (
    "This archive does not know its public address, so it cannot make a feed for the "
    "address this request named. Whoever runs the archive can set PUBLIC_URL (or "
    "TRUSTED_HOSTS) in its configuration.")


def init_app(app: Flask) -> None:
    """Apply the proxy and host settings of `app`'s configuration (call once)."""
    proxies = int(app.config.get("TRUSTED_PROXIES") or 0)
    if proxies < 0:
        raise ValueError("TRUSTED_PROXIES must be 0 (no proxy) or the number of proxies")
    if proxies:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies,
                                x_host=proxies)
    hosts = app.config.get("TRUSTED_HOSTS")
    if isinstance(hosts, str):  # from the environment: names separated by commas or spaces
        hosts = re.split(r"[\s,]+", hosts)
    hosts = [h for h in hosts or () if h]
    app.config["TRUSTED_HOSTS"] = hosts or None  # None: Flask checks no host
    app.register_error_handler(SecurityError, _untrusted_host)
    public = app.config.get("PUBLIC_URL")
    if public:
        parts = urlsplit(str(public).strip())
        if parts.scheme not in ("http", "https") or not parts.hostname \
                or parts.query or parts.fragment:
            raise ValueError(f"PUBLIC_URL must be an http(s) URL such as "
                             f"https://archive.example.org, not {public!r}")
        app.config["PUBLIC_URL"] = str(public).strip().rstrip("/")
    else:
        app.config["PUBLIC_URL"] = None


def _untrusted_host(_error: SecurityError) -> Response:
    # Plain text: with no trusted host Flask has no URL adapter, so no page
    # that builds a link (every template does) can be rendered.
    return Response("This archive does not answer to that host name.\n", 400,
                    mimetype="text/plain")


def public_root() -> str | None:
    """Scheme and host (and path) to put before a path the app made, in an
    absolute link; None when this request's host is not to be trusted.

    The app's paths start with its mount point (`SCRIPT_NAME`); a
    `PUBLIC_URL` that ends with the same mount point gives it only once.
    """
    configured = current_app.config.get("PUBLIC_URL")
    if configured:
        mount = request.script_root
        if mount and configured.endswith(mount):
            return configured[: -len(mount)]
        return configured
    # With TRUSTED_HOSTS set, Flask has already answered 400 to any other host.
    if current_app.config.get("TRUSTED_HOSTS") or is_loopback(request.host):
        return request.host_url.rstrip("/")
    return None


def is_loopback(host: str) -> bool:
    """True for `localhost` and loopback addresses, with or without a port."""
    try:
        name = urlsplit(f"//{host}").hostname or ""
    except ValueError:
        return False
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False
