"""Serving the app with waitress, the production WSGI server we ship.

`make_server` binds the socket (port 0 picks a free one, which the browser
tests use) and returns the server without serving; `run` is what
`archivist serve` calls. Neither reads configuration: the caller passes it.
"""

from __future__ import annotations

import logging

from flask import Flask
from waitress.server import create_server

# waitress logs a warning for every request that waits for a free thread; under
# load that is thousands of lines a minute (and a server whose stderr is piped
# but unread would block on them). Queueing is visible in latency figures.
logging.getLogger("waitress.queue").setLevel(logging.ERROR)


def make_server(app: Flask, host: str = "127.0.0.1", port: int = 5000, threads: int = 8):
    """A bound, not yet running, waitress server for `app`.

    Call `.run()` to serve (blocking), `.close()` to stop; `.effective_port`
    is the port actually bound.
    """
    return create_server(app, host=host, port=port, threads=threads, ident="archivist")


def run(app: Flask, host: str = "127.0.0.1", port: int = 5000, threads: int = 8) -> None:
    """Serve `app` until interrupted."""
    server = make_server(app, host=host, port=port, threads=threads)
    print(f"Archivist is serving on http://{host}:{server.effective_port}/ (Ctrl+C stops)")
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        server.close()
