"""A real app with the librarians' console, a real source folder and index, for tests.

`make_console` writes a generated corpus of page dumps into a source folder,
builds the app with `create_app` (registering the console if the factory
does not yet), points its instance folder into the test's temporary folder,
and sets the console password. `sign_in` goes through the real sign-in form
and returns the session's CSRF token.
"""

from __future__ import annotations

import io
import re
import time
from dataclasses import dataclass
from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient

from tests.corpus import write_corpus
from webui import admin, auth, create_app

PASSWORD = "correct horse battery staple"
#: A readable page dump to upload (uploads are parsed before they are accepted);
#: `{n}` makes each copy a different article.
ARTICLE = ("Harbour cranes return\n\n2023/04/02 | ports, trade\n\n"
           "The cranes at the quay are back at work. Quayside{n}.\n")
_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass
class Console:
    app: Flask
    client: FlaskClient
    src: Path
    index_dir: Path
    instance: Path


def make_app(tmp_path: Path, sources: list[Path], password: str | None = PASSWORD,
             **config) -> Flask:
    instance = tmp_path / "instance"
    instance.mkdir(parents=True, exist_ok=True)
    settings = {"INDEX_DIR": str(tmp_path / "index"), "SOURCES": [str(s) for s in sources],
                "TESTING": True, **config}
    app = create_app(settings, instance_path=str(instance))
    admin.init_app(app)
    if password:
        auth.set_password(instance, password)
    return app


def make_console(tmp_path: Path, files: int = 20, password: str | None = PASSWORD,
                 **config) -> Console:
    src = tmp_path / "src"
    write_corpus(src, files)
    app = make_app(tmp_path, [src], password, **config)
    return Console(app, app.test_client(), src, tmp_path / "index", tmp_path / "instance")


def token_in(html: bytes | str) -> str:
    text = html.decode() if isinstance(html, bytes) else html
    match = _TOKEN.search(text)
    assert match, "the page must carry a CSRF token"
    return match.group(1)


def csrf(client: FlaskClient, path: str = "/admin/") -> str:
    """The CSRF token of the current session, read from a console page."""
    response = client.get(path)
    assert response.status_code == 200, response.status_code
    return token_in(response.data)


def sign_in(client: FlaskClient, password: str = PASSWORD, name: str = "Ann") -> str:
    token = token_in(client.get("/admin/login").data)
    response = client.post("/admin/login", data={
        "csrf_token": token, "password": password, "name": name})
    assert response.status_code == 303, response.data[:500]
    return csrf(client)


def wait_for_job(client: FlaskClient, timeout: float = 120.0) -> dict:
    """Poll the job's JSON state until it is no longer running."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = client.get("/admin/job.json").get_json()
        if state.get("status") != "running":
            return state
        time.sleep(0.05)
    raise AssertionError("the job did not finish in time")


def start_reindex(client: FlaskClient, token: str, source: str = "", mode: str = "incremental"):
    return client.post("/admin/reindex", data={"csrf_token": token, "source": source,
                                                "mode": mode})


def post_upload(client: FlaskClient, token: str, files: list[tuple[str, bytes]],
                folder: Path | str | None = None, dry_run: bool = False):
    """POST `files` ((name, content) pairs) to the console's upload form.

    `folder` picks the source folder to save into (the form's default when
    None); `dry_run` asks for the plan without writing anything.
    """
    data = {"csrf_token": token, "files": [(io.BytesIO(content), name) for name, content in files]}
    if folder is not None:
        data["folder"] = str(folder)
    if dry_run:
        data["dry_run"] = "1"
    return client.post("/admin/upload", data=data, content_type="multipart/form-data")


def figure(tree, name: str) -> str:
    """The text of the `data-figure=name` element of a parsed console page."""
    found = tree.xpath(f"//*[@data-figure='{name}']")
    assert found, f"no figure {name!r} on the page"
    return found[0].text_content().strip()


def rows(tree, table_class: str) -> list[str]:
    """The text of each body row of the table with `table_class`."""
    return [r.text_content() for r in
            tree.xpath(f"//table[contains(@class, '{table_class}')]/tbody/tr")]
