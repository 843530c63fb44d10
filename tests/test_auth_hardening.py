"""The console's sign-in and sessions, attacked the way a reviewer would.

Most tests here run real worker processes (`create_app` served by waitress,
each in its own process, all sharing one instance folder, as `archivist
serve --workers N` does) and talk HTTP to them: the sign-in throttle must be
one state across the workers and hold under a concurrent burst; a client's
own `X-Forwarded-For` and `X-Forwarded-Proto` must count only behind a
configured number of trusted proxies; a cookie copied before signing out
must stop working in every worker. The rest use Flask's test client on a
real app: non-ASCII CSRF tokens, the secret key file, the feed's links, and
`archivist set-password` under a configured hash.
"""

from __future__ import annotations

import http.client
import json
import multiprocessing
import os
import re
import subprocess
import sys
import threading
import urllib.parse
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import lxml.etree
import pytest
from click.testing import CliRunner
from werkzeug.security import generate_password_hash

from index.writer import update
from tests.console_fixtures import PASSWORD, make_app, make_console, sign_in, token_in
from webui import auth, auth_store, create_app

ROOT = Path(__file__).resolve().parents[1]
ATOM = "{http://www.w3.org/2005/Atom}"

# One worker process: the real app factory, served by waitress on a free port.
# "proxy-ready" hands X-Forwarded-* to the app (waitress would strip them
# otherwise): a server meant to run behind TRUSTED_PROXIES must, and the app
# alone decides whether to believe them. "archivist" serves through
# `webui.server.make_server`, exactly as `archivist serve` does.
WORKER = r"""
import json, sys
from webui import create_app
instance, config, mode = sys.argv[1], json.loads(sys.argv[2]), sys.argv[3]
app = create_app(config, instance_path=instance)
if mode == "archivist":
    from webui.server import make_server
    server = make_server(app, host="127.0.0.1", port=0, threads=8)
else:
    from waitress import create_server
    server = create_server(app, host="127.0.0.1", port=0, threads=8,
                           clear_untrusted_proxy_headers=False)
print(server.effective_port, flush=True)
server.run()
"""


@dataclass
class Worker:
    process: subprocess.Popen
    port: int


@pytest.fixture
def workers(tmp_path):
    """Start worker processes sharing one instance folder (with a password set)."""
    started: list[Worker] = []
    instance = tmp_path / "instance"
    auth.set_password(instance, PASSWORD)

    def start(mode: str = "proxy-ready", **config) -> Worker:
        settings = {"INDEX_DIR": str(tmp_path / "index"), **config}
        log = tmp_path / f"worker{len(started)}.log"
        with open(log, "w") as err:
            process = subprocess.Popen(
                [sys.executable, "-c", WORKER, str(instance), json.dumps(settings), mode],
                cwd=ROOT, stdout=subprocess.PIPE, stderr=err, text=True)
        line = process.stdout.readline()
        assert line.strip().isdigit(), f"the worker did not start: {log.read_text()[-2000:]}"
        worker = Worker(process, int(line))
        started.append(worker)
        return worker

    start.instance = instance
    yield start
    for worker in started:
        worker.process.kill()
        worker.process.wait()


@dataclass
class Answer:
    status: int
    headers: http.client.HTTPMessage
    body: str

    def cookies(self) -> list[str]:
        return self.headers.get_all("Set-Cookie") or []


@dataclass
class Browser:
    """One client speaking HTTP to the workers, keeping its cookies like a browser."""

    headers: dict[str, str] = field(default_factory=dict)
    jar: dict[str, str] = field(default_factory=dict)

    def send(self, worker: Worker, method: str, path: str, form: dict | None = None,
             headers: dict[str, str | bytes] | None = None, cookies: dict | None = None
             ) -> Answer:
        conn = http.client.HTTPConnection("127.0.0.1", worker.port, timeout=30)
        try:
            body = urllib.parse.urlencode(form).encode() if form is not None else None
            conn.putrequest(method, path)
            sent = {**self.headers, **(headers or {})}
            jar = self.jar if cookies is None else cookies
            if jar:
                sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in jar.items())
            if body is not None:
                sent["Content-Type"] = "application/x-www-form-urlencoded"
                sent["Content-Length"] = str(len(body))
            for name, value in sent.items():
                conn.putheader(name, value)
            conn.endheaders(body)
            response = conn.getresponse()
            answer = Answer(response.status, response.headers,
                            response.read().decode("utf-8", "replace"))
        finally:
            conn.close()
        if cookies is None:
            for cookie in answer.cookies():
                name, _, rest = cookie.partition("=")
                value = rest.split(";", 1)[0]
                if "Max-Age=0" in cookie or "Expires=Thu, 01 Jan 1970" in cookie:
                    self.jar.pop(name, None)
                else:
                    self.jar[name] = value
        return answer

    def token(self, worker: Worker) -> str:
        page = self.send(worker, "GET", "/admin/login")
        assert page.status == 200, page.status
        return token_in(page.body)

    def sign_in(self, worker: Worker, password: str = PASSWORD, token: str | None = None
                ) -> Answer:
        token = token or self.token(worker)
        return self.send(worker, "POST", "/admin/login",
                         form={"csrf_token": token, "password": password, "name": "Ann"})


# -- the sign-in throttle ---------------------------------------------------------------------


def test_the_throttle_is_one_state_across_two_worker_processes(workers):
    # TRUSTED_PROXIES only so that a second client address can be shown (via the "proxy").
    a = workers(ADMIN_LOGIN_ATTEMPTS=3, TRUSTED_PROXIES=1)
    b = workers(ADMIN_LOGIN_ATTEMPTS=3, TRUSTED_PROXIES=1)
    mallory = Browser(headers={"X-Forwarded-For": "203.0.113.5"})
    token = mallory.token(a)  # one session: the cookie is signed with the shared key
    for worker in (a, b, a):
        assert mallory.sign_in(worker, "wrong password", token).status == 401
    # Each worker alone has seen fewer than three failures; together they have seen three.
    for worker in (b, a):
        refused = mallory.sign_in(worker, "still wrong", token)
        assert refused.status == 429, refused.status
        assert "Too many failed sign-ins" in refused.body
        assert 1 <= int(refused.headers["Retry-After"]) <= 61
    assert mallory.sign_in(b, PASSWORD, token).status == 429, "locked out, even when right"
    # The lock-out is this address's only: a librarian elsewhere signs in on either worker.
    ann = Browser(headers={"X-Forwarded-For": "198.51.100.20"})
    assert ann.sign_in(b).status == 303
    assert ann.send(a, "GET", "/admin/").status == 200


def test_a_concurrent_burst_gets_no_more_tries_than_the_limit(workers):
    a = workers(ADMIN_LOGIN_ATTEMPTS=3)
    b = workers(ADMIN_LOGIN_ATTEMPTS=3)
    clients = [Browser() for _ in range(24)]
    tokens = [c.token(a) for c in clients]
    barrier = threading.Barrier(len(clients))
    statuses: list[int] = []

    def attempt(i: int) -> None:
        barrier.wait()
        statuses.append(clients[i].sign_in((a, b)[i % 2], "a wrong guess", tokens[i]).status)

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(len(clients))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    # Each attempt is reserved before the ~0.1 s password hash: a check made before
    # the hash and a failure recorded after it would let the whole burst through.
    assert Counter(statuses) == {401: 3, 429: 21}, Counter(statuses)
    assert clients[0].sign_in(b, PASSWORD, tokens[0]).status == 429
    # The reservations are rows in the shared database, under the one client address.
    assert auth_store.AuthStore(workers.instance).attempts("127.0.0.1") == 3


def test_the_attempts_table_stays_bounded(tmp_path, monkeypatch):
    store = auth_store.AuthStore(tmp_path)
    monkeypatch.setattr(auth_store, "MAX_ATTEMPT_ROWS", 50)
    throttle = auth_store.Throttle(store, attempts=5, window=60)
    for i in range(300):  # a flood from 300 addresses
        throttle.reserve(f"192.0.2.{i % 250}-{i}").failed()
    rows = store._db().execute("SELECT count(*) FROM attempts").fetchone()[0]
    assert rows <= 50
    # Rows older than the window are pruned by the next reservation, whoever makes it.
    store._db().execute("UPDATE attempts SET at = at - 120")
    throttle.reserve("198.51.100.1")
    assert store._db().execute("SELECT count(*) FROM attempts").fetchone()[0] == 1


# -- proxies ---------------------------------------------------------------------------------


def test_spoofed_forwarding_headers_are_ignored_without_trusted_proxies(workers):
    direct = workers(ADMIN_LOGIN_ATTEMPTS=2)  # TRUSTED_PROXIES defaults to 0
    liar = Browser()
    token = liar.token(direct)
    for n in range(2):
        fake = {"X-Forwarded-For": f"203.0.113.{n + 1}", "X-Forwarded-Proto": "https"}
        assert liar.send(direct, "POST", "/admin/login", headers=fake, form={
            "csrf_token": token, "password": "guess"}).status == 401
    # A fresh made-up address each time changes nothing: the socket's peer is counted.
    again = liar.send(direct, "POST", "/admin/login", headers={
        "X-Forwarded-For": "203.0.113.99"}, form={"csrf_token": token, "password": "guess"})
    assert again.status == 429
    store = auth_store.AuthStore(workers.instance)
    assert store.attempts("127.0.0.1") == 2 and store.attempts("203.0.113.1") == 0
    # And a claimed HTTPS is not believed: no Secure cookie, no HSTS over plain HTTP.
    page = Browser().send(direct, "GET", "/admin/login", headers={"X-Forwarded-Proto": "https"})
    assert "Strict-Transport-Security" not in page.headers
    [cookie] = page.cookies()
    assert cookie.startswith("session=") and "Secure" not in cookie


def test_behind_trusted_proxies_the_real_client_address_is_counted(workers):
    proxied = workers(ADMIN_LOGIN_ATTEMPTS=2, TRUSTED_PROXIES=1)
    # The proxy appends the address it saw; anything to its left came from the client.
    attacker = Browser(headers={"X-Forwarded-For": "198.51.100.20, 203.0.113.7"})
    token = attacker.token(proxied)
    for _ in range(2):
        assert attacker.sign_in(proxied, "guess", token).status == 401
    assert attacker.sign_in(proxied, "guess", token).status == 429
    store = auth_store.AuthStore(workers.instance)
    assert store.attempts("203.0.113.7") == 2
    assert store.attempts("198.51.100.20") == 0, "the client-written entry was believed"
    # Another client behind the same proxy is not locked out by the attacker.
    ann = Browser(headers={"X-Forwarded-For": "198.51.100.20"})
    assert ann.sign_in(proxied).status == 303


def test_archivist_serve_passes_the_proxy_headers_to_the_app(workers):
    served = workers("archivist", ADMIN_LOGIN_ATTEMPTS=1, TRUSTED_PROXIES=1)
    Browser(headers={"X-Forwarded-For": "203.0.113.8"}).sign_in(served, "guess")
    assert auth_store.AuthStore(workers.instance).attempts("203.0.113.8") == 1


def test_https_behind_a_trusted_proxy_gets_a_secure_host_cookie_and_hsts(workers):
    proxied = workers(TRUSTED_PROXIES=1)
    https = Browser(headers={"X-Forwarded-Proto": "https", "X-Forwarded-For": "198.51.100.3"})
    page = https.send(proxied, "GET", "/admin/login")
    assert page.headers["Strict-Transport-Security"] == "max-age=31536000"
    [cookie] = page.cookies()
    parts = [p.strip() for p in cookie.split(";")]
    assert parts[0].startswith("__Host-session=")
    assert "Secure" in parts and "Path=/" in parts and "HttpOnly" in parts
    assert "SameSite=Lax" in parts
    assert not any(p.lower().startswith("domain=") for p in parts)
    signed = https.sign_in(proxied, token=token_in(page.body))
    assert signed.status == 303
    assert all(c.startswith("__Host-session=") and "Secure" in c for c in signed.cookies())
    assert https.send(proxied, "GET", "/admin/").status == 200
    # Readers' pages over HTTPS carry HSTS too; plain HTTP through the same proxy does not.
    assert "Strict-Transport-Security" in https.send(proxied, "GET", "/").headers
    plain = Browser(headers={"X-Forwarded-Proto": "http"}).send(proxied, "GET", "/admin/login")
    assert "Strict-Transport-Security" not in plain.headers
    [cookie] = plain.cookies()
    assert cookie.startswith("session=") and "Secure" not in cookie


def test_direct_https_gets_the_same_cookie_and_hsts(tmp_path):
    app = make_app(tmp_path, [], HSTS_MAX_AGE=600)
    client = app.test_client()
    page = client.get("/admin/login", base_url="https://archive.example")
    assert page.headers["Strict-Transport-Security"] == "max-age=600"
    assert page.headers["Set-Cookie"].startswith("__Host-session=")
    assert "Strict-Transport-Security" not in client.get("/admin/login").headers


# -- sessions are revoked server-side -------------------------------------------------------


def test_a_captured_cookie_stops_working_after_sign_out(workers):
    a = workers()
    b = workers()
    ann = Browser()
    assert ann.sign_in(a).status == 303
    captured = dict(ann.jar)
    thief = Browser(jar=dict(captured))
    assert thief.send(b, "GET", "/admin/").status == 200, "the copy works while Ann is in"
    token = token_in(ann.send(a, "GET", "/admin/").body)
    assert ann.send(a, "POST", "/admin/logout", form={"csrf_token": token}).status == 303
    for worker in (a, b):
        replay = Browser(jar=dict(captured)).send(worker, "GET", "/admin/")
        assert replay.status == 302 and replay.headers["Location"].startswith("/admin/login")
        post = Browser(jar=dict(captured)).send(worker, "POST", "/admin/reindex",
                                                form={"csrf_token": token, "source": ""})
        assert post.status == 403
    assert auth_store.AuthStore(workers.instance).sessions() == 0


def test_a_new_password_revokes_every_session_server_side(tmp_path):
    console = make_console(tmp_path, files=1)
    first, second = console.app.test_client(), console.app.test_client()
    sign_in(first)
    sign_in(second)
    store = auth_store.AuthStore(console.instance)
    assert store.sessions() == 2
    kept = first.get_cookie("session").value
    auth.set_password(console.instance, "another long password")
    assert store.sessions() == 0
    replay = console.app.test_client()
    replay.set_cookie("session", kept)
    assert replay.get("/admin/").status_code == 302


# -- CSRF and the secret key ---------------------------------------------------------------


@pytest.mark.parametrize("token", ["tökén", "\u202e" * 40, "é" * 43])
def test_a_non_ascii_csrf_token_is_a_clear_400(tmp_path, token):
    console = make_console(tmp_path, files=1)
    console.client.get("/admin/login")
    bad = console.client.post("/admin/login", data={"csrf_token": token,
                                                    "password": PASSWORD})
    assert bad.status_code == 400 and b"security token" in bad.data
    sign_in(console.client)
    bad = console.client.post("/admin/reindex", data={"source": ""},
                              headers={auth.CSRF_HEADER: token.encode("utf-8").decode("latin-1")})
    assert bad.status_code == 400 and b"security token" in bad.data


def test_a_raw_non_ascii_csrf_header_on_the_real_server_is_a_400(workers):
    worker = workers()
    ann = Browser()
    assert ann.sign_in(worker).status == 303
    answer = ann.send(worker, "POST", "/admin/reindex", form={"source": ""},
                      headers={"X-CSRF-Token": "jeton-piégé".encode()})
    assert answer.status == 400 and "security token" in answer.body


def _race_for_the_key(folder: str, barrier, keys) -> None:
    barrier.wait()
    keys.put(auth._instance_secret(Path(folder)))


@pytest.mark.parametrize("before", [None, b"", b"\n", b"short-key"])
def test_workers_creating_the_secret_key_at_once_agree_on_one_full_key(tmp_path, before):
    ctx = multiprocessing.get_context("fork")
    for round_ in range(10):
        folder = tmp_path / f"round{round_}"
        folder.mkdir()
        if before is not None:
            (folder / auth.SECRET_FILE).write_bytes(before)
        n = 8
        barrier, keys = ctx.Barrier(n), ctx.Queue()
        procs = [ctx.Process(target=_race_for_the_key, args=(str(folder), barrier, keys))
                 for _ in range(n)]
        for p in procs:
            p.start()
        got = {keys.get(timeout=30) for _ in procs}
        for p in procs:
            p.join(30)
        assert len(got) == 1, got
        [key] = got
        assert len(key) == 64 and re.fullmatch(r"[0-9a-f]+", key)
        assert (folder / auth.SECRET_FILE).read_text().strip() == key
        assert oct((folder / auth.SECRET_FILE).stat().st_mode & 0o777) == "0o600"
        assert not [p.name for p in folder.iterdir() if p.name.startswith(".secret-key.")
                    and not p.name.endswith(".lock")], "no temporary file is left behind"


@pytest.mark.parametrize("content", [b"", b"   \n", b"0123456789", "ключ".encode()])
def test_an_empty_or_short_key_file_is_never_used(tmp_path, content):
    instance = tmp_path / "instance"
    instance.mkdir()
    (instance / auth.SECRET_FILE).write_bytes(content)
    app = make_app(tmp_path, [])
    key = app.config["SECRET_KEY"]
    assert len(key) >= auth.MIN_SECRET_CHARS
    assert (instance / auth.SECRET_FILE).read_text().strip() == key
    assert sign_in(app.test_client())
    assert make_app(tmp_path, []).config["SECRET_KEY"] == key, "the replacement is kept"


def test_a_short_configured_secret_key_is_refused(tmp_path):
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        make_app(tmp_path, [], SECRET_KEY="tiny")


# -- the feed's absolute links -----------------------------------------------------------------


@pytest.fixture(scope="module")
def indexed(tmp_path_factory):
    root = tmp_path_factory.mktemp("feed")
    from tests.corpus import write_corpus

    write_corpus(root / "src", 5)
    update(root / "index", [root / "src"])
    return root


def _feed_app(root: Path, **config):
    return create_app({"INDEX_DIR": str(root / "index"), "TESTING": True, **config},
                      instance_path=str(root / "instance"))


def _links(body: bytes) -> list[str]:
    tree = lxml.etree.fromstring(body)
    hrefs = [e.get("href") for e in tree.iter(f"{ATOM}link")]
    ids = [e.text for e in tree.iter(f"{ATOM}id")]
    assert len(hrefs) >= 2 and len(ids) >= 2
    return hrefs + ids


def test_by_default_the_feed_trusts_only_a_loopback_host(indexed):
    client = _feed_app(indexed).test_client()
    hostile = client.get("/feed.atom?q=energy", base_url="http://evil.example")
    assert hostile.status_code == 400
    assert b"evil.example" not in hostile.data and b"PUBLIC_URL" in hostile.data
    for host in ("127.0.0.1:8000", "localhost:5000", "[::1]:5000"):
        ok = client.get("/feed.atom?q=energy", base_url=f"http://{host}")
        assert ok.status_code == 200, host
        assert all(link.startswith(f"http://{host}/") for link in _links(ok.data))
    # Readers' pages are not affected: only the feed writes the host into links.
    assert client.get("/", base_url="http://evil.example").status_code == 200


def test_public_url_is_the_feed_root_whatever_the_host_says(indexed):
    app = _feed_app(indexed, PUBLIC_URL="https://archive.example.org/", TRUSTED_PROXIES=1)
    feed = app.test_client().get("/feed.atom?q=energy", base_url="http://evil.example",
                                 headers={"X-Forwarded-Host": "evil2.example"})
    assert feed.status_code == 200
    assert b"evil" not in feed.data
    assert all(link.startswith("https://archive.example.org/") for link in _links(feed.data))
    # Mounted under a path, the path is given once.
    mounted = _feed_app(indexed, PUBLIC_URL="https://example.org/archive")
    feed = mounted.test_client().get("/feed.atom", base_url="http://localhost/archive")
    assert all(link.startswith("https://example.org/archive/") and "/archive/archive" not in
               link for link in _links(feed.data))


def test_trusted_hosts_answer_any_other_host_with_400(indexed, monkeypatch):
    monkeypatch.setenv("ARCHIVIST_TRUSTED_HOSTS", "archive.example.org, .archive.example.net")
    app = _feed_app(indexed)
    assert app.config["TRUSTED_HOSTS"] == ["archive.example.org", ".archive.example.net"]
    client = app.test_client()
    for path in ("/feed.atom", "/", "/admin/login"):
        assert client.get(path, base_url="http://evil.example").status_code == 400, path
    assert client.get("/feed.atom", base_url="http://localhost").status_code == 400
    good = client.get("/feed.atom?q=energy", base_url="https://www.archive.example.net")
    assert good.status_code == 200
    assert all(link.startswith("https://www.archive.example.net/") for link in _links(good.data))


def test_the_real_server_refuses_a_feed_for_a_hostile_host(workers):
    worker = workers()
    conn = http.client.HTTPConnection("127.0.0.1", worker.port, timeout=30)
    try:
        conn.putrequest("GET", "/feed.atom", skip_host=True)
        conn.putheader("Host", "evil.example")
        conn.endheaders()
        answer = conn.getresponse()
        assert answer.status == 400 and b"evil.example" not in answer.read()
    finally:
        conn.close()
    assert Browser().send(worker, "GET", "/feed.atom").status == 200  # Host: 127.0.0.1:port


# -- set-password under a configured hash ---------------------------------------------------


def _set_password(app, runner: CliRunner):
    from webui.cli import main
    from webui.cli_admin import register

    register(main)
    return runner.invoke(main, ["set-password"], obj={"app": app},
                         input="a brand new password\na brand new password\n")


def test_set_password_refuses_while_the_environment_hash_overrides_it(tmp_path, monkeypatch):
    configured = generate_password_hash("the configured one")
    monkeypatch.setenv("ARCHIVIST_ADMIN_PASSWORD_HASH", configured)
    app = make_app(tmp_path, [], password=None)
    result = _set_password(app, CliRunner())
    assert result.exit_code != 0
    assert "password set" not in result.stdout
    assert "overrides the password file" in result.stderr
    assert "ARCHIVIST_ADMIN_PASSWORD_HASH" in result.stderr
    assert not (tmp_path / "instance" / auth.PASSWORD_FILE).exists()


def test_set_password_refuses_while_the_config_file_hash_overrides_it(tmp_path):
    instance = tmp_path / "instance"
    instance.mkdir()
    (instance / "archivist.cfg").write_text(
        f"ADMIN_PASSWORD_HASH = {generate_password_hash('the configured one')!r}\n")
    app = make_app(tmp_path, [], password=None)
    auth.set_password(instance, "an old file password")
    before = (instance / auth.PASSWORD_FILE).read_text()
    result = _set_password(app, CliRunner())
    assert result.exit_code != 0 and "password set" not in result.stdout
    assert "ADMIN_PASSWORD_HASH" in result.stderr
    assert (instance / auth.PASSWORD_FILE).read_text() == before
    # Without the override the same command succeeds.
    os.remove(instance / "archivist.cfg")
    ok = _set_password(make_app(tmp_path, [], password=None), CliRunner())
    assert ok.exit_code == 0 and "password set" in ok.stdout


# -- the client address -----------------------------------------------------------------------


def test_an_ipv6_client_is_counted_by_its_64_network(tmp_path):
    app = make_app(tmp_path, [], ADMIN_LOGIN_ATTEMPTS=2)

    def attempt(addr: str) -> int:
        client = app.test_client()
        client.environ_base["REMOTE_ADDR"] = addr
        token = token_in(client.get("/admin/login").data)
        return client.post("/admin/login", data={"csrf_token": token,
                                                 "password": "guess"}).status_code

    assert [attempt("2001:db8:1:2::1"), attempt("2001:db8:1:2::ffff")] == [401, 401]
    assert attempt("2001:db8:1:2:aaaa::9") == 429, "same /64: the same subscriber"
    assert attempt("2001:db8:1:3::1") == 401, "another /64 is another client"
    # An IPv4 client seen through an IPv6 socket is the same client.
    assert [attempt("192.0.2.1"), attempt("::ffff:192.0.2.1")] == [401, 401]
    assert attempt("192.0.2.1") == 429
