"""Serving the app: waitress in one process, gunicorn for several.

`serve` is what `archivist serve` calls. With one worker it is `run`: a
waitress server in this process (waitress is pure Python and runs wherever
Python does). `make_server` binds such a server without serving it (port 0
picks a free one, which the browser tests use).

One Python process runs one thread at a time, so one process uses one core
however many threads it has. With `workers=N` (N > 1) the app is served by
gunicorn, the standard pre-fork WSGI server on POSIX, started from here
(`_prefork`, settings in `gunicorn_settings`): its master forks N workers
(gthread, `threads` each) that each listen on the port (SO_REUSEPORT) and
build their own app, so no index, searcher or thread crosses processes. The
master replaces a worker that dies and stops them all, finishing their
requests, on SIGTERM or Ctrl+C; a worker whose master is gone notices
within a second and leaves.
Each worker tunes its garbage collector once its app is built
(`settle_heap`, from gunicorn's `post_worker_init` hook).

Before the app sees a request, the server bounds it: its body (waitress's
`max_request_body_size`; under gunicorn, which has no such setting,
`limit_body`), its request line and its header fields. Anything larger is
refused before the body is read. The app's own, tighter limits per route
(`webui.admin`) apply after that.

Nothing here reads configuration: the caller passes it.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import io
import logging
import os
import signal
import socket
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from flask import Flask
from waitress.server import create_server
from werkzeug.exceptions import RequestEntityTooLarge

# waitress logs a warning for every request that waits for a free thread; under
# load that is thousands of lines a minute (and a server whose stderr is piped
# but unread would block on them). Queueing is visible in latency figures.
logging.getLogger("waitress.queue").setLevel(logging.ERROR)

# -- limits on what a client may send ----------------------------------------------------

#: Room in a request body above the largest upload. The console's upload form
#: accepts MAX_UPLOAD_BYTES plus 1 MiB (its other fields and the multipart
#: framing) and answers anything larger with its own page; the server lets
#: one more MiB through so that near misses get that page, not a bare 413.
BODY_MARGIN = 2 * 1024 * 1024

#: Longest request line (method, path and query) gunicorn accepts, else 414:
#: its largest finite setting, and the 8 KB nginx and Apache accept by default.
#: The search box takes 4,000 characters; that many fit as ASCII, about 1,300
#: in Persian (six bytes a letter once percent-encoded).
MAX_REQUEST_LINE = 8190
#: Header fields per request, and bytes per field (gunicorn's defaults, named).
MAX_HEADER_FIELDS = 100
MAX_HEADER_FIELD_BYTES = 8190


def max_request_body(config: Mapping[str, Any]) -> int:
    """The largest request body the server passes to the app configured by
    `config`: the largest upload plus `BODY_MARGIN`, and never less than a
    console form may be."""
    from webui.admin import FORM_BYTES

    return max(int(config["MAX_UPLOAD_BYTES"]) + BODY_MARGIN, FORM_BYTES)


def limit_body(app: Callable, max_bytes: int) -> Callable:
    """`app` behind a cap of `max_bytes` on each request's body.

    A declared `Content-Length` above the cap is answered 413 before the
    app runs and before any of the body is read; reading a body of unknown
    length (chunked) past the cap raises werkzeug's 413 inside the app. For
    servers without a body limit of their own (gunicorn); waitress does the
    same itself.
    """
    refusal = (f"413 Content Too Large: this server accepts request bodies of at most "
               f"{max_bytes:,} bytes.\n").encode()

    def capped(environ: dict, start_response: Callable) -> Iterable[bytes]:
        declared = environ.get("CONTENT_LENGTH")
        if declared:
            try:
                too_large = int(declared) > max_bytes
            except ValueError:  # the server refuses a malformed length itself
                too_large = False
            if too_large:
                start_response("413 Content Too Large", [
                    ("Content-Type", "text/plain; charset=utf-8"),
                    ("Content-Length", str(len(refusal))),
                    ("Connection", "close"),
                ])
                return [refusal]
        elif environ.get("wsgi.input_terminated"):
            environ["wsgi.input"] = _CappedInput(environ["wsgi.input"], max_bytes)
        return app(environ, start_response)

    return capped


class _CappedInput(io.RawIOBase):
    """A request body that raises 413 once more than `cap` bytes have been read.

    (werkzeug's `LimitedStream` with `is_max` returns a longer body cut at
    the limit when it is read whole, as if that were all of it.)
    """

    def __init__(self, stream, cap: int) -> None:
        super().__init__()
        self.stream, self.cap, self.seen = stream, cap, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        # One byte past the cap is enough to know the body is too large.
        data = self.stream.read(min(len(buffer), self.cap + 1 - self.seen))
        self.seen += len(data)
        if self.seen > self.cap:
            raise RequestEntityTooLarge()
        buffer[:len(data)] = data
        return len(data)


# -- tuning of each serving process -------------------------------------------------------

#: glibc's M_ARENA_MAX option number for mallopt(3).
_M_ARENA_MAX = -8
#: Malloc arenas per process: glibc's default (8 per core) lets each of a
#: process's threads grow its own arena (waitress runs eight), and private
#: memory under eight threads was about twice what two arenas need for the
#: same requests. A gunicorn worker with one thread uses two arenas anyway.
MALLOC_ARENAS = 2


def limit_malloc_arenas(arenas: int = MALLOC_ARENAS) -> bool:
    """Cap glibc's malloc arenas for this process (before its threads start).

    The same as starting Python with `MALLOC_ARENA_MAX` (no library offers
    mallopt, hence ctypes); an explicit environment setting wins. Returns
    False where there is no glibc.
    """
    if os.environ.get("MALLOC_ARENA_MAX"):
        return False
    name = ctypes.util.find_library("c")
    try:
        return bool(name and ctypes.CDLL(name).mallopt(_M_ARENA_MAX, arenas))
    except (OSError, AttributeError):  # no C library to load, or one without mallopt
        return False


#: New container objects between two collections of the youngest generation.
YOUNG_GC_THRESHOLD = 5_000


def settle_heap() -> None:
    """Take the objects alive now out of the garbage collector's sight.

    Called once the app is built and before the first request: modules,
    routes and the app live as long as the process, yet every full
    collection would walk all of them again, a pause of tens of ms that
    stalls every request of the process. `gc.freeze` moves them to a
    permanent generation (they are still freed by reference counting; only
    cycle-hunting skips them). The index and its caches are opened later and
    stay visible to the collector, so a retired index generation is still
    collected.

    The youngest generation is then collected after every 5,000 new
    container objects instead of every 700. A search page allocates tens of
    thousands of short-lived objects (parser tokens, query nodes, template
    frames) that reference counting frees anyway, and about 40 that only
    the collector can free (bleach's html5lib parser and werkzeug's request
    hold reference cycles). Over the same 2,300 requests of the load test's
    mix in one process: at 700, 895 young and 7 full collections took
    0.48 s; at 50,000, three young ones took 0.23 s but stalled the worker
    about 110 ms each (every request queued behind them waited); at 5,000,
    24 collections took 0.17 s, none longer than 12 ms.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNG_GC_THRESHOLD, *gc.get_threshold()[1:])


# -- one process: waitress -----------------------------------------------------------------


def make_server(app: Flask, host: str = "127.0.0.1", port: int = 5000, threads: int = 8,
                max_body: int | None = None):
    """A bound, not yet running, waitress server for `app`.

    `max_body` defaults to `max_request_body(app.config)`. Call `.run()` to
    serve (blocking), `.close()` to stop; `.effective_port` is the port
    actually bound.
    """
    if max_body is None:
        max_body = max_request_body(app.config)
    # waitress would strip X-Forwarded-* itself; the app's ProxyFix (on only
    # with TRUSTED_PROXIES) decides which of them to believe.
    return create_server(app, host=host, port=port, threads=threads, ident="archivist",
                         max_request_body_size=max_body, clear_untrusted_proxy_headers=False)


def run(app: Flask, host: str = "127.0.0.1", port: int = 5000, threads: int = 8,
        max_body: int | None = None) -> None:
    """Serve `app` with waitress in this process until interrupted."""
    limit_malloc_arenas()
    server = make_server(app, host=host, port=port, threads=threads, max_body=max_body)
    settle_heap()
    print(f"Archivist is serving on http://{host}:{server.effective_port}/ (Ctrl+C stops)",
          flush=True)
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        server.close()


def serve(make_app: Callable[[], Flask], host: str = "127.0.0.1", port: int = 5000,
          threads: int = 8, workers: int = 1, max_body: int | None = None) -> None:
    """Serve the app built by `make_app` with `workers` processes.

    With one worker this is `run`. With more, gunicorn's master forks the
    workers and `make_app` is called in each after the fork; `max_body`
    (required then) caps request bodies in every worker. Returns when the
    server has stopped.
    """
    if workers <= 1:
        _check_port_free(host, port)
        run(make_app(), host, port, threads, max_body)
        return
    if max_body is None:
        raise ValueError("max_body is required with several workers")
    _check_port_free(host, port)
    server = _prefork(make_app, gunicorn_settings(host, port, threads, workers), max_body)
    print(f"Archivist is serving on http://{_bind(host, port)}/ with {workers} worker "
          "processes (gunicorn; Ctrl+C stops)", flush=True)
    try:
        server.run()
    except SystemExit as e:  # gunicorn's master leaves through sys.exit, 0 once stopped
        if e.code not in (None, 0):
            raise


# -- several processes: gunicorn --------------------------------------------------------------

#: Seconds a stopping worker has to finish the requests it holds.
GRACEFUL_SECONDS = 10


def gunicorn_settings(host: str, port: int, threads: int, workers: int) -> dict[str, Any]:
    """gunicorn's settings for `serve` with several workers.

    `reuse_port`: each worker listens on a socket of its own (SO_REUSEPORT)
    and the kernel hands each new connection to one of them by a hash of its
    addresses. A browser keeps its connection, and every request on it goes
    to the worker that took it, so how connections split decides how long
    each worker's queue is. On one socket shared by all workers, the worker
    that wakes first takes them, and a burst of readers often lands mostly
    on one worker; the hash splits them about evenly. (The hash ignores
    load, and connections still queued on a worker that dies are reset with
    it.) With port 0 the workers share one socket: each would pick a
    different free port otherwise.
    """
    return {
        "bind": [_bind(host, port)],
        "workers": workers,
        "worker_class": "gthread",  # keep-alive connections; `threads` per worker
        "threads": threads,
        "reuse_port": port != 0,
        "graceful_timeout": GRACEFUL_SECONDS,
        "limit_request_line": MAX_REQUEST_LINE,
        "limit_request_fields": MAX_HEADER_FIELDS,
        "limit_request_field_size": MAX_HEADER_FIELD_BYTES,
        # Which proxy to believe is the app's decision (as under waitress), not
        # gunicorn's: by default it trusts X-Forwarded-Proto from loopback.
        "forwarded_allow_ips": "",
        # Otherwise every server shares one control socket in ~/.gunicorn.
        "control_socket_disable": True,
        "proc_name": "archivist",
        "when_ready": _when_ready,
        "post_fork": _post_fork,
        "post_worker_init": _post_worker_init,
    }


def _bind(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _check_port_free(host: str, port: int) -> None:
    """Raise `CannotServe` if something listens on (host, port) already.

    With `reuse_port` the workers' sockets would bind beside another
    server's (of the same user) and share its connections; a socket without
    SO_REUSEPORT cannot, so it tells.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # TIME_WAIT is no owner
        try:
            probe.bind((host, port))
        except OSError as e:
            holder = _listener(port)
            raise CannotServe(
                f"cannot listen on {_bind(host, port)}: {e.strerror}"
                + (f" (held by {holder})" if holder else "")
                + f". Stop it, or choose another port: --port {port + 1} "
                f"(make run PORT={port + 1})") from e


def _listener(port: int) -> str | None:
    """The process listening on TCP `port`, as "pid N: command", where Linux's
    /proc tells (best effort: another user's processes are not visible)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table, encoding="ascii") as f:
                next(f, None)
                for line in f:
                    cols = line.split()
                    if len(cols) > 9 and cols[3] == "0A" and int(cols[1].rsplit(":", 1)[1],
                                                                 16) == port:
                        inodes.add(cols[9])
        except OSError:
            return None
    if not inodes:
        return None
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
        except OSError:
            continue
        for fd in fds:
            try:
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
            except OSError:
                continue
            if target.startswith("socket:[") and target[8:-1] in inodes:
                try:
                    with open(f"/proc/{pid}/cmdline", "rb") as f:
                        cmd = f.read().replace(b"\0", b" ").decode(errors="replace").strip()
                except OSError:
                    cmd = "?"
                return f"pid {pid}: {cmd[:120]}"
    return None


def _when_ready(_arbiter) -> None:
    """In the master, before it forks the workers: Ctrl+C stops as SIGTERM does.

    gunicorn takes SIGINT for a quick stop that drops the requests in
    flight; a reader's search should not fail because the server was
    stopped from a terminal.
    """
    signal.signal(signal.SIGINT, lambda *_: os.kill(os.getpid(), signal.SIGTERM))


def _post_fork(_arbiter, _worker) -> None:
    """In a new worker, before it starts a thread."""
    limit_malloc_arenas()


def _post_worker_init(_worker) -> None:
    """In a worker whose app is built, before its first request."""
    # Ctrl+C reaches every process of the terminal's group; the master then
    # stops the workers gracefully itself.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    settle_heap()


class CannotServe(RuntimeError):
    """The server cannot start here: gunicorn missing, or the port taken."""


def _prefork(make_app: Callable[[], Flask], settings: dict[str, Any], max_body: int):
    """gunicorn started from Python: `settings`, and an app built by
    `make_app` in each worker (after the fork), behind `limit_body`."""
    try:
        from gunicorn.app.base import BaseApplication
    except ImportError as e:  # not installed, or no fcntl (Windows)
        raise CannotServe(
            f"several workers are served by gunicorn, which cannot run here ({e}); "
            "serve with one worker") from e

    class Prefork(BaseApplication):
        def load_config(self) -> None:
            for key, value in settings.items():
                self.cfg.set(key, value)

        def load(self) -> Callable:
            return limit_body(make_app(), max_body)

    return Prefork()
