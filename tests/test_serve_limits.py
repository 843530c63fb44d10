"""Request bodies, request lines and headers bounded by the server, on both servers.

`archivist serve` runs waitress with one worker and gunicorn with several;
each must refuse a request body larger than any route accepts with 413
before reading it (waitress's `max_request_body_size`; `limit_body` under
gunicorn, which has no such setting), so a client that declares a GiB gets
its answer at once instead of being read into a temporary file. A 50 MB
POST to the sign-in form is answered 413 within a second on both. gunicorn
also bounds the request line and the header fields.

The clients here are raw sockets: they send the headers, then the body a
piece at a time, and stop as soon as the server has answered, as curl and
browsers do.
"""

from __future__ import annotations

import select
import socket
import time

import pytest
from flask import Flask, request
from werkzeug.security import generate_password_hash
from werkzeug.test import EnvironBuilder

from index.writer import update
from tests.corpus import write_corpus
from tests.servers import free_port, get_json, launch_archivist, stop_process, wait_until
from webui.config import DEFAULTS
from webui.server import MAX_REQUEST_LINE, limit_body, max_request_body

MB50 = 50 * 1024 * 1024
#: The largest body the server passes on with the default settings.
CAP = max_request_body(DEFAULTS)
PIECE = 64 * 1024


def send_body(port: int, method: str, path: str, declared: int, send: int,
              ) -> tuple[bytes, float, int]:
    """Declare a body of `declared` bytes, send at most `send` of them, and
    read the status line. Returns it, the seconds from the first byte sent
    to the answer, and the body bytes sent before the answer came."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        started = time.monotonic()
        s.sendall(f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                  "Content-Type: application/x-www-form-urlencoded\r\n"
                  f"Content-Length: {declared}\r\n\r\n".encode())
        piece, sent = b"x" * PIECE, 0
        try:
            while sent < send and not select.select([s], [], [], 0)[0]:
                sent += s.send(piece[:send - sent])
        except OSError:  # the server answered and closed while we were sending
            pass
        answer = b""
        try:
            while b"\r\n" not in answer:
                chunk = s.recv(4096)
                if not chunk:
                    break
                answer += chunk
        except TimeoutError:
            pass
        return answer.split(b"\r\n")[0], time.monotonic() - started, sent


@pytest.fixture(scope="module")
def index_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("limits")
    write_corpus(folder / "c", 20)
    update(folder / "ix", [folder / "c"])
    return folder / "ix"


@pytest.fixture(scope="module")
def serve_on(index_dir, tmp_path_factory):
    """`serve_on(1)`: the port of `archivist serve --workers 1` (waitress);
    `serve_on(2)`: of `--workers 2` (gunicorn). Each is started once, with a
    console password so the sign-in form is live."""
    running: dict[int, tuple] = {}

    def port_of(workers: int) -> int:
        if workers not in running:
            port, log = free_port(), tmp_path_factory.mktemp("log") / "serve.log"
            proc = launch_archivist(
                index_dir, port, log, "--workers", str(workers),
                env={"ARCHIVIST_ADMIN_PASSWORD_HASH": generate_password_hash("pw")})
            running[workers] = (proc, port, log)
            wait_until(lambda: get_json(port, "/api/search")["total"] == 20, seconds=60)
        return running[workers][1]

    yield port_of
    for proc, _, log in running.values():
        stop_process(proc)
        assert "Traceback" not in log.read_text()


BOTH = pytest.mark.parametrize("workers", [1, 2], ids=["waitress", "gunicorn"])


@BOTH
def test_a_50_mb_sign_in_post_is_refused_within_a_second(serve_on, workers):
    status, seconds, _ = send_body(serve_on(workers), "POST", "/admin/login", MB50, MB50)
    assert b" 413 " in status, status
    assert seconds < 1.0, seconds


@BOTH
def test_a_body_larger_than_any_route_takes_is_refused_before_it_is_sent(serve_on, workers):
    # A route that would answer (it ignores bodies) but for the body's size:
    # without the server's cap, waitress would wait for the whole GiB and
    # gunicorn would answer 200.
    port = serve_on(workers)
    for declared in (CAP + 1, 1024 ** 3):
        status, seconds, sent = send_body(port, "GET", "/api/search?q=energy", declared, PIECE)
        assert b" 413 " in status, (declared, status)
        assert seconds < 1.0 and sent <= PIECE, (seconds, sent)
    status, _, _ = send_body(port, "POST", "/admin/login", CAP + 1, PIECE)
    assert b" 413 " in status, status


def test_gunicorn_refuses_the_sign_in_body_unread(serve_on):
    # gunicorn hands the app the request before its body, and the sign-in
    # form's own limit answers at once (waitress reads a body within its cap
    # before the app runs).
    status, seconds, sent = send_body(serve_on(2), "POST", "/admin/login", MB50, PIECE)
    assert b" 413 " in status and seconds < 1.0 and sent <= PIECE, (status, seconds, sent)


def _status(port: int, head: str) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(head.encode())
        return s.recv(4096).split(b"\r\n")[0]


def test_gunicorn_bounds_the_request_line_and_the_header_fields(serve_on):
    port = serve_on(2)
    # A long search (gunicorn's default would refuse anything over 4 KB)...
    q = "energy+" * ((MAX_REQUEST_LINE - 200) // 7)
    assert b" 200 " in _status(port, f"GET /api/search?q={q} HTTP/1.1\r\nHost: x\r\n"
                                      "Connection: close\r\n\r\n")
    # ...but not past 8 KB, and no more than 100 header fields.
    q = "energy+" * (MAX_REQUEST_LINE // 7 + 1)
    assert b" 414 " in _status(port, f"GET /api/search?q={q} HTTP/1.1\r\nHost: x\r\n\r\n")
    many = "".join(f"X-Field-{i}: {i}\r\n" for i in range(101))
    assert b" 431 " in _status(port, f"GET / HTTP/1.1\r\nHost: x\r\n{many}\r\n")


# -- limit_body on its own ----------------------------------------------------------------


def _echo_length() -> Flask:
    app = Flask(__name__)

    @app.route("/", methods=["POST"])
    def echo():
        return str(len(request.get_data()))

    return app


def _call(app, environ: dict) -> tuple[str, bytes]:
    seen = {}

    def start_response(status, headers, exc_info=None):
        seen["status"] = status

    body = b"".join(app(environ, start_response))
    return seen["status"], body


def test_limit_body_refuses_a_declared_length_over_the_cap_without_reading():
    class Unreadable:
        def read(self, *_):
            raise AssertionError("the body was read")

    app = limit_body(_echo_length(), 100)
    environ = EnvironBuilder(method="POST", data=b"x" * 101).get_environ()
    environ["wsgi.input"] = Unreadable()
    status, body = _call(app, environ)
    assert status.startswith("413") and b"at most 100 bytes" in body
    status, body = _call(app, EnvironBuilder(method="POST", data=b"x" * 100).get_environ())
    assert status.startswith("200") and body == b"100"


def test_limit_body_cuts_a_chunked_body_at_the_cap():
    app = limit_body(_echo_length(), 100)
    for size, expected in ((100, "200"), (101, "413"), (10_000, "413")):
        environ = EnvironBuilder(method="POST", data=b"x" * size).get_environ()
        del environ["CONTENT_LENGTH"]  # as a server passes a chunked body on
        environ["wsgi.input_terminated"] = True
        status, _ = _call(app, environ)
        assert status.startswith(expected), (size, status)
