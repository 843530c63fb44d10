"""The console's gate: password, session cookie, CSRF, throttling, and no admin via the API."""

from __future__ import annotations

from werkzeug.security import generate_password_hash

from index.jobs import JOB_FILE
from tests.console_fixtures import (
    PASSWORD,
    csrf,
    make_app,
    make_console,
    sign_in,
    start_reindex,
    token_in,
)
from webui import auth


def _admin_rules(app):
    return [r for r in app.url_map.iter_rules() if r.endpoint.startswith("admin.")]


def _concrete(rule) -> str:
    """A URL for `rule`, with any variable part filled in."""
    path = rule.rule
    for arg in rule.arguments:
        path = path.replace(f"<{arg}>", "A" * 24)
    return path


def test_without_a_password_every_console_page_says_how_to_set_one(tmp_path):
    console = make_console(tmp_path, files=2, password=None)
    for rule in _admin_rules(console.app):
        url = _concrete(rule)
        for method in [m for m in ("GET", "POST") if m in rule.methods]:
            response = console.client.open(url, method=method)
            assert response.status_code == 403, (method, url)
            assert b"archivist set-password" in response.data
            assert b"ARCHIVIST_ADMIN_PASSWORD_HASH" in response.data
    assert not (console.index_dir / JOB_FILE).exists()


def test_every_console_route_needs_a_sign_in(tmp_path):
    console = make_console(tmp_path, files=2)
    rules = _admin_rules(console.app)
    assert {r.endpoint for r in rules} >= {
        "admin.sources", "admin.reindex", "admin.job", "admin.job_json", "admin.upload_post",
        "admin.health", "admin.history", "admin.optimize", "admin.upload_decide"}
    checked = 0
    for rule in rules:
        if rule.endpoint in ("admin.login", "admin.login_post"):
            continue
        url = _concrete(rule)
        if "GET" in rule.methods:
            response = console.client.get(url)
            assert response.status_code == 302, url
            assert response.headers["Location"].startswith("/admin/login"), url
            checked += 1
        if "POST" in rule.methods:
            response = console.client.post(url, data={"mode": "incremental", "source": ""})
            assert response.status_code == 403, url
            assert b"Sign in" in response.data
            checked += 1
    assert checked >= 10
    # An htmx poll with no session is told where to sign in rather than swapping a page in.
    polled = console.client.get("/admin/job", headers={"HX-Request": "true",
                                                       "HX-Target": "job-panel"})
    assert polled.status_code == 401 and polled.headers["HX-Redirect"] == "/admin/login"
    assert not (console.index_dir / JOB_FILE).exists(), "no job may start without a sign-in"


def test_the_api_exposes_no_admin_action(tmp_path):
    console = make_console(tmp_path, files=2)
    api_rules = [r for r in console.app.url_map.iter_rules() if r.rule.startswith("/api")]
    assert api_rules, "the readers' API is registered"
    for rule in api_rules:
        assert not rule.endpoint.startswith("admin."), rule
        assert rule.methods <= {"GET", "HEAD", "OPTIONS"}, rule
    admin_paths = [r.rule for r in _admin_rules(console.app)]
    assert all(p.startswith("/admin") for p in admin_paths)
    # Even signed in, posting to the API starts nothing.
    token = sign_in(console.client)
    for url in ("/api/search", "/api/reindex", "/api/admin/reindex"):
        response = console.client.post(url, data={"csrf_token": token, "mode": "rebuild"})
        assert response.status_code in (404, 405), url
    assert not (console.index_dir / JOB_FILE).exists()


def test_a_post_without_the_csrf_token_is_rejected(tmp_path):
    console = make_console(tmp_path, files=2)
    token = sign_in(console.client)
    for data in ({}, {"csrf_token": ""}, {"csrf_token": token[:-2] + "xx"}):
        response = console.client.post("/admin/reindex", data={**data, "source": ""})
        assert response.status_code == 400
        assert b"security token" in response.data
    assert not (console.index_dir / JOB_FILE).exists()
    # The same token in the header is accepted (htmx requests send it so).
    ok = console.client.post("/admin/reindex", data={"source": ""},
                             headers={auth.CSRF_HEADER: token})
    assert ok.status_code == 303
    from tests.console_fixtures import wait_for_job
    assert wait_for_job(console.client)["status"] == "done"


def test_the_sign_in_form_itself_needs_the_token(tmp_path):
    console = make_console(tmp_path, files=1)
    console.client.get("/admin/login")
    response = console.client.post("/admin/login", data={"password": PASSWORD})
    assert response.status_code == 400
    assert console.client.get("/admin/").status_code == 302


def test_failed_sign_ins_are_throttled_per_client(tmp_path):
    console = make_console(tmp_path, files=1, ADMIN_LOGIN_ATTEMPTS=3)
    client = console.client
    token = token_in(client.get("/admin/login").data)
    for _ in range(3):
        response = client.post("/admin/login", data={"csrf_token": token, "password": "nope"})
        assert response.status_code == 401
        assert b"That password is not right" in response.data
    blocked = client.post("/admin/login", data={"csrf_token": token, "password": PASSWORD})
    assert blocked.status_code == 429
    assert b"Too many failed sign-ins" in blocked.data
    assert 1 <= int(blocked.headers["Retry-After"]) <= 61
    assert client.get("/admin/").status_code == 302, "the right password is not let through"
    # Another address is not held back by this one's failures.
    other = console.app.test_client()
    other.environ_base["REMOTE_ADDR"] = "127.0.0.9"
    assert sign_in(other)


def test_session_cookie_flags_and_https(tmp_path):
    console = make_console(tmp_path, files=1)
    token = token_in(console.client.get("/admin/login").data)
    response = console.client.post("/admin/login", data={"csrf_token": token,
                                                         "password": PASSWORD})
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    secure = console.app.test_client()
    page = secure.get("/admin/login", base_url="https://archive.example")
    assert "Secure" in page.headers["Set-Cookie"]
    signed = secure.post("/admin/login", base_url="https://archive.example",
                         data={"csrf_token": token_in(page.data), "password": PASSWORD})
    assert signed.status_code == 303
    assert "Secure" in signed.headers["Set-Cookie"]


def test_sign_out_ends_the_session(tmp_path):
    console = make_console(tmp_path, files=1)
    token = sign_in(console.client)
    assert console.client.get("/admin/").status_code == 200
    out = console.client.post("/admin/logout", data={"csrf_token": token})
    assert out.status_code == 303
    assert console.client.get("/admin/").status_code == 302


def test_a_new_password_signs_everyone_out(tmp_path):
    console = make_console(tmp_path, files=1)
    sign_in(console.client)
    auth.set_password(console.instance, "another long password")
    assert console.client.get("/admin/").status_code == 302
    assert sign_in(console.client, "another long password")


def test_password_hash_from_configuration_and_no_open_redirect(tmp_path):
    app = make_app(tmp_path, [], password=None,
                   ADMIN_PASSWORD_HASH=generate_password_hash("configured secret 42"))
    client = app.test_client()
    token = token_in(client.get("/admin/login").data)
    bad = client.post("/admin/login", data={"csrf_token": token, "password": PASSWORD})
    assert bad.status_code == 401
    good = client.post("/admin/login?next=https://evil.example/x", data={
        "csrf_token": token, "password": "configured secret 42"})
    assert good.status_code == 303 and good.headers["Location"] == "/admin/"
    # A malformed configured hash lets nobody in and breaks nothing.
    broken = make_app(tmp_path / "b", [], password=None, ADMIN_PASSWORD_HASH="not-a-hash")
    c2 = broken.test_client()
    t2 = token_in(c2.get("/admin/login").data)
    assert c2.post("/admin/login", data={"csrf_token": t2, "password": "x"}).status_code == 401


def test_secret_key_is_generated_once_and_kept(tmp_path):
    first = make_app(tmp_path, [])
    key_file = tmp_path / "instance" / auth.SECRET_FILE
    assert key_file.read_text().strip() == first.config["SECRET_KEY"]
    assert oct(key_file.stat().st_mode & 0o777) == "0o600"
    second = make_app(tmp_path, [])
    assert second.config["SECRET_KEY"] == first.config["SECRET_KEY"]
    # A session made by one app is valid in the other (a restart keeps librarians signed in).
    client = first.test_client()
    sign_in(client)
    cookie = client.get_cookie("session")
    other = second.test_client()
    other.set_cookie("session", cookie.value)
    assert other.get("/admin/").status_code == 200


def test_password_file_holds_only_a_hash(tmp_path):
    path = auth.set_password(tmp_path, "a long enough password")
    stored = path.read_text()
    assert "a long enough password" not in stored
    assert stored.startswith(("scrypt:", "pbkdf2:"))
    assert oct(path.stat().st_mode & 0o777) == "0o600"


def test_start_reindex_helper_refuses_unknown_sources(tmp_path):
    console = make_console(tmp_path, files=1)
    token = sign_in(console.client)
    response = start_reindex(console.client, token, source="/etc")
    assert response.status_code == 400
    assert b"not one of this archive" in response.data
    assert csrf(console.client) == token


def test_set_password_command_asks_twice_and_stores_a_hash(tmp_path):
    from click.testing import CliRunner

    from webui.cli import main
    from webui.cli_admin import register

    register(main)
    app = make_app(tmp_path, [], password=None)
    runner = CliRunner()
    mismatch = runner.invoke(main, ["set-password"], obj={"app": app},
                             input="first long password\nother long password\n"
                                   "short\nshort\n")
    assert mismatch.exit_code == 1
    assert "at least 10 characters" in mismatch.output
    ok = runner.invoke(main, ["set-password"], obj={"app": app},
                       input="a fine long password\na fine long password\n")
    assert ok.exit_code == 0, ok.output
    assert "a fine long password" not in ok.output
    assert sign_in(app.test_client(), "a fine long password")
