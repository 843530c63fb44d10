"""The librarians' console under `/admin`: sources, jobs, uploads, health, history.

Uploads go by default to a source of their own in the instance folder
(`UPLOAD_DIR`), registered beside the configured `SOURCES`; a file can be
removed from any configured source (after a confirmation page), and the
history lists every run, the command line's included, with its outcome.

Everything here sits behind a sign-in (`webui.auth`): every request to the
blueprint, the sign-in form aside, needs a live session, and every POST the
session's CSRF token. The work itself is done by library functions of the
index side: runs through `index.jobs` (one at a time, in the background of
the server process, while readers keep searching) into the configured
engine (`index.writer.write_engine`: the embedded index, or a Typesense
cluster with ENGINE=typesense), uploads through `index.upload`, figures
through `index.health` (`index.typesense_health` for a cluster), the log
through `index.history`. The views parse a form, call one of those, and
render.

Forms post and redirect (post/redirect/get), so the console works without
JavaScript; htmx only refreshes the job panel while a job runs, by polling
`/admin/job` for that panel alone. No route here is reachable from the
readers' API, and the API never starts a job.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
from pathlib import Path
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Flask,
    current_app,
    jsonify,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from typesense.exceptions import TypesenseClientError
from werkzeug.exceptions import RequestEntityTooLarge

from index import health as index_health
from index import history as index_history
from index import jobs, upload
from index.protocol import WriteEngine
from index.writer import IndexOptions, write_engine
from webui import admin_presenters as present
from webui import auth, htmx

bp = Blueprint("admin", __name__, url_prefix="/admin")

#: The id of the job panel htmx refreshes.
JOB_PANEL = "job-panel"
#: Uploads with more files than this are always shown as a dry run first.
DEFAULT_DRY_RUN_FILES = 20
STAGING = "upload-staging"
_OPEN = {"admin.login", "admin.login_post"}


def init_app(app: Flask) -> None:
    """Register the console on `app` (a second call does nothing)."""
    if "admin" in app.blueprints:
        return
    auth.init_app(app)
    app.register_blueprint(bp)


# -- configuration -------------------------------------------------------------------


def _cfg(key: str, default):
    return current_app.config.get(key, default)


def _index_dir() -> Path:
    return Path(current_app.config["INDEX_DIR"])


def _configured_sources() -> list[str]:
    """The configured SOURCES, then the uploads folder (a source even before it exists)."""
    raw = _cfg("SOURCES", None) or []
    if isinstance(raw, str):
        raw = [p for p in raw.split(os.pathsep) if p.strip()]
    found = [str(Path(p).expanduser().resolve()) for p in raw]
    return list(dict.fromkeys([*found, str(_upload_dir())]))


#: The uploads folder's name in the instance folder, unless UPLOAD_DIR says otherwise.
UPLOADS = "uploads"


def _upload_dir() -> Path:
    """Where uploads go by default: a source of their own, never the code's checkout."""
    raw = _cfg("UPLOAD_DIR", None)
    return (Path(raw).expanduser() if raw else Path(current_app.instance_path) / UPLOADS).resolve()


def _history_dir() -> Path:
    """The run history lives with the index (the CLI logs there too); adopt an older one."""
    index_history.adopt(Path(current_app.instance_path), _index_dir())
    return _index_dir()


def _on_cluster() -> bool:
    """Whether the articles are in a Typesense cluster (ENGINE=typesense)."""
    return str(_cfg("ENGINE", None) or "whoosh").strip().lower() == "typesense"


def _engine() -> WriteEngine:
    """The write side the configuration names, as the command line's `archivist index` uses."""
    engine = write_engine(current_app.config, _index_dir())
    if _on_cluster():
        engine.lock_timeout = _options().lock_timeout
    return engine


def _sources() -> list[index_health.SourceInfo]:
    if _on_cluster():
        from index import typesense_health

        try:
            return typesense_health.sources_overview(_engine(), _index_dir(),
                                                     _configured_sources())
        except _CLUSTER_ERRORS:
            current_app.logger.exception("the cluster did not answer")
            # The folders are still listed (and can be indexed); only their counts are unknown.
            return [dataclasses.replace(s, articles=0) for s in
                    index_health.sources_overview(_index_dir(), _configured_sources())]
    return index_health.sources_overview(_index_dir(), _configured_sources())


#: What a cluster that does not answer (or refuses) raises.
_CLUSTER_ERRORS = (TypesenseClientError, OSError, RuntimeError, TimeoutError)


def _runner() -> jobs.JobRunner:
    return jobs.runner_for(_index_dir(), _history_dir(),
                           int(_cfg("HISTORY_KEEP", index_history.DEFAULT_KEEP)))


def _options() -> IndexOptions:
    return IndexOptions(max_bytes=int(_cfg("MAX_FILE_BYTES", IndexOptions.max_bytes)),
                        lock_timeout=float(_cfg("LOCK_TIMEOUT", 10.0)))


def _limits() -> upload.UploadLimits:
    return upload.UploadLimits(
        max_bytes=int(_cfg("MAX_UPLOAD_BYTES", upload.UploadLimits.max_bytes)),
        max_files=int(_cfg("MAX_UPLOAD_FILES", upload.UploadLimits.max_files)),
        max_file_bytes=int(_cfg("MAX_FILE_BYTES", upload.UploadLimits.max_file_bytes)),
        max_entries=int(_cfg("MAX_UPLOAD_ENTRIES", upload.UploadLimits.max_entries)),
    )


def _staging() -> Path:
    return Path(current_app.instance_path) / STAGING


# -- the gate ------------------------------------------------------------------------------


#: Largest request body of a console form other than an upload.
FORM_BYTES = 256 * 1024


@bp.before_request
def _gate():
    # Bodies are bounded before anything reads the form (the CSRF check does).
    if request.endpoint == "admin.upload_post":
        limits = _limits()
        # Room for the form's own fields and the multipart overhead on top of the files.
        request.max_content_length = limits.max_bytes + 1024 * 1024
        request.max_form_parts = limits.max_files + 50
    else:
        request.max_content_length = FORM_BYTES
    if auth.password_hash() is None:
        return make_response(render_template("admin/setup.html"), 403)
    if request.endpoint not in _OPEN and not auth.signed_in():
        if htmx.is_htmx(request):
            response = make_response("", 401)
            response.headers["HX-Redirect"] = url_for("admin.login")
            return response
        if request.method == "GET":
            return redirect(url_for("admin.login", next=request.full_path.rstrip("?")))
        return _message("Sign in first", "Your session has ended. Sign in and try again.", 403)
    if request.method == "POST" and not auth.csrf_ok():
        return _message(
            "This form has expired",
            "The form did not carry this console's security token (it may be from an old "
            "page, or from another site). Reload the page and try again.", 400)
    return None


@bp.after_request
def _no_store(response):
    # Console pages show the archive's internals; no cache may keep them.
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.errorhandler(RequestEntityTooLarge)
def _too_large(_error):
    if request.endpoint == "admin.upload_post":
        return _upload_page(
            f"The upload is larger than {upload.human_size(_limits().max_bytes)}, the limit "
            "for one upload. Upload fewer files at a time.", status=413)
    return _message("Too large", "That form sent far more data than the console expects.", 413)


@bp.context_processor
def _admin_globals():
    return {
        "csrf_field": auth.CSRF_FIELD,
        "csrf_token": auth.csrf_token,
        "admin_assets": {
            "app_css": url_for("static", filename="app.css"),
            "css": url_for("static", filename="admin.css"),
            "js": url_for("static", filename="admin.js"),
            "htmx": url_for("static", filename="htmx.min.js"),
            "icon": url_for("static", filename="favicon.svg"),
            "home": url_for("pages.search") if "pages" in current_app.blueprints else "/",
        },
        "signed_in": auth.password_hash() is not None and auth.signed_in(),
        "remove_url": _remove_url_maker(),
        "nav": [
            ("Sources", url_for("admin.sources"), "sources"),
            ("Job", url_for("admin.job"), "job"),
            ("Upload", url_for("admin.upload_form"), "upload"),
            ("Health", url_for("admin.health"), "health"),
            ("History", url_for("admin.history"), "history"),
        ],
    }


def _remove_url_maker():
    """`remove_url(path)` for templates: the removal page of a file of a configured source."""
    roots: list[str] = []

    def remove_url(path: str) -> str | None:
        if not roots:
            roots.extend(_configured_sources())
        for root in roots:
            prefix = root.rstrip(os.sep) + os.sep
            if path.startswith(prefix) and os.path.isfile(path):
                relative = path[len(prefix):].replace(os.sep, "/")
                return url_for("admin.remove_form", source=root, file=relative)
        return None

    return remove_url


def _message(title: str, text: str, status: int, **links):
    return make_response(render_template("admin/message.html", title=title, text=text,
                                         links=links), status)


# -- signing in and out ------------------------------------------------------------------


@bp.get("/login")
def login():
    if auth.signed_in():
        return redirect(_next_url())
    return render_template("admin/login.html", next=_next_url(), error=None)


@bp.post("/login")
def login_post():
    # Reserved before the slow password hash, in the database every worker shares:
    # a burst of concurrent attempts gets no more tries than the limit.
    attempt = auth.throttle().reserve(auth.client_address())
    wait = attempt.wait
    if wait:
        response = _message(
            "Too many attempts",
            f"Too many failed sign-ins from your address in the last minute. "
            f"Wait {int(wait) + 1} seconds, then try again.", 429)
        response.headers["Retry-After"] = str(int(wait) + 1)
        return response
    if not auth.check_password(request.form.get("password", "")):
        attempt.failed()
        return make_response(render_template(
            "admin/login.html", next=_next_url(), error="That password is not right."), 401)
    attempt.succeeded()
    name = " ".join(request.form.get("name", "").split())[:60]
    auth.sign_in(name or "librarian")
    return redirect(_next_url(), code=303)


@bp.post("/logout")
def logout():
    auth.sign_out()  # server-side too: a copy of the cookie no longer signs anyone in
    return redirect(url_for("admin.login"), code=303)


def _next_url() -> str:
    """Where to go after signing in: a console page named by `next`, else the console."""
    target = request.values.get("next", "")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not parts.path.startswith("/admin") \
            or target.startswith("//") or "\\" in target:
        return url_for("admin.sources")
    return target


# -- sources and runs -------------------------------------------------------------------------


@bp.get("/")
def sources():
    state = _runner().state()
    return render_template(
        "admin/sources.html", active="sources", sources=_sources(),
        job=present.job_view(state) if state else None,
        recent=present.history_rows(index_history.recent(_history_dir(), 5)),
        when=present.when, duration=present.duration, uploads=str(_upload_dir()),
        removable=[p for p in _configured_sources() if Path(p).is_dir()],
    )


@bp.post("/reindex")
def reindex():
    mode = request.form.get("mode", "incremental")
    if mode not in ("incremental", "rebuild"):
        return _message("Unknown action", "Choose to reindex or to rebuild.", 400)
    rebuild = mode == "rebuild"
    chosen = request.form.get("source", "")
    if chosen:
        known = {s.path: s for s in _sources()}
        source = known.get(chosen)
        if source is None:
            return _message("Unknown source", "That folder is not one of this archive's "
                            "sources.", 400)
        if not source.exists:
            return _message("Folder not found",
                            f"The source {chosen} does not exist on the server. Create it or "
                            "fix the archive's configuration.", 400)
        roots = [Path(chosen)]
        label = ("Rebuild the index (all sources, with " if rebuild else "Reindex ") + chosen \
            + (")" if rebuild else "")
    else:
        roots = [Path(s.path) for s in _sources() if s.exists]
        if not roots:
            return _message("No sources", "There is no source folder to index yet. Add "
                            "folders to SOURCES in the archive's configuration.", 400)
        label = "Rebuild the index from all sources" if rebuild else "Reindex all sources"
    work = jobs.index_work(_index_dir(), roots, rebuild=rebuild, options=_options(),
                           engine=_engine())
    return _start("rebuild" if rebuild else "reindex", label, work, roots)


@bp.post("/optimize")
def optimize():
    if _on_cluster():
        return _message("Nothing to optimize", OPTIMIZE_DOES_NOT_APPLY, 400,
                        health=url_for("admin.health"))
    work = jobs.optimize_work(_index_dir(), float(_cfg("LOCK_TIMEOUT", 10.0)))
    return _start("optimize", "Optimize the index (merge segments)", work, [])


def _start(kind: str, label: str, work: jobs.Work, roots):
    try:
        _runner().start(kind, label, work, who=auth.who(), roots=[str(r) for r in roots])
    except jobs.JobBusy as busy:
        return _message(
            "A job is already running",
            f"“{busy.state.label}” is running (started {present.when(busy.state.started)} by "
            f"{busy.state.who}). One job runs at a time: wait for it to finish, then try "
            "again.", 409, follow=url_for("admin.job"))
    return redirect(url_for("admin.job"), code=303)


@bp.get("/job")
def job():
    state = _runner().state()
    view = present.job_view(state) if state else None
    if htmx.wants_fragment(request, JOB_PANEL):
        body = render_template("admin/_job.html", job=view, when=present.when,
                               duration=present.duration)
    else:
        body = render_template("admin/job.html", active="job", job=view, when=present.when,
                               duration=present.duration)
    return htmx.add_vary(make_response(body))


@bp.get("/job.json")
def job_json():
    state = _runner().state()
    return jsonify(state.to_json() if state else {"status": "none"})


# -- uploads -------------------------------------------------------------------------------


def _upload_folders() -> list[present.Destination]:
    """Where an upload may go: the uploads folder first (the default), then configured sources."""
    uploads = str(_upload_dir())
    by_path = {s.path: s for s in _sources() if s.configured}
    mine = by_path.get(uploads)
    folders = [present.Destination(uploads, mine.articles if mine else 0, default=True)]
    folders += [present.Destination(s.path, s.articles) for s in by_path.values()
                if s.path != uploads and s.is_dir]
    return folders


@bp.get("/upload")
def upload_form():
    return _upload_page()


def _upload_page(error: str | None = None, refused=(), status: int = 200,
                 refused_more: int = 0):
    limits = _limits()
    refused, more = present.bounded(list(refused), refused_more)
    return make_response(render_template(
        "admin/upload.html", active="upload", folders=_upload_folders(), error=error,
        refused=refused, refused_more=more, accept=",".join(upload.allowed_suffixes()),
        limits={"bytes": upload.human_size(limits.max_bytes), "files": limits.max_files,
                "file_bytes": upload.human_size(limits.max_file_bytes)},
        dry_run_files=int(_cfg("UPLOAD_DRY_RUN_FILES", DEFAULT_DRY_RUN_FILES)),
    ), status)


@bp.post("/upload")
def upload_post():
    limits = _limits()
    chosen = request.form.get("folder", "") or str(_upload_dir())
    items = [(f.filename or "", f.stream) for f in request.files.getlist("files") if f.filename]
    folder = _folder(chosen)
    if folder is None:
        return _upload_page("Choose one of the source folders to put the files in.", status=400)
    try:
        prepared = upload.prepare(items, limits)
    except upload.UploadRefused as e:
        return _upload_page(str(e), status=413 if "limit" in str(e) else 400)
    if not prepared.files:
        return _upload_page("None of the files can be added to the archive; nothing was saved.",
                            refused=prepared.refused, status=400,
                            refused_more=prepared.refused_more)
    want_dry_run = request.form.get("dry_run") == "1"
    large = len(prepared.files) > int(_cfg("UPLOAD_DRY_RUN_FILES", DEFAULT_DRY_RUN_FILES))
    if want_dry_run or large or prepared.refused:
        upload.prune_stages(_staging())
        token = upload.stage(_staging(), folder, prepared)
        return redirect(url_for("admin.upload_review", token=token), code=303)
    return _save_and_index(folder, prepared)


@bp.get("/upload/<token>")
def upload_review(token: str):
    staged = upload.load_stage(_staging(), token)
    if staged is None:
        return _message("Upload not found", "This upload is no longer waiting: it was "
                        "indexed, cancelled, or kept too long. Upload the files again.", 404,
                        upload=url_for("admin.upload_form"))
    folder, prepared = staged
    try:
        # Asked of the engine the files would be indexed into, as the run would key them.
        report = upload.dry_run(_index_dir(), folder, prepared, _options().max_bytes,
                                engine=_engine())
    except _CLUSTER_ERRORS as e:
        if not _on_cluster():
            raise
        current_app.logger.exception("the cluster did not answer")
        return _message("The cluster does not answer",
                        f"What this upload would change cannot be told: the archive's Typesense "
                        f"cluster could not be read ({e}). The upload is kept: reload this page "
                        "once its nodes are running.", 503)
    refused, more = present.bounded(report.refused, report.refused_more)
    return render_template("admin/dry_run.html", active="upload", report=report, token=token,
                           total_bytes=upload.human_size(prepared.total_bytes),
                           refused=refused, refused_more=more)


@bp.post("/upload/<token>")
def upload_decide(token: str):
    staged = upload.load_stage(_staging(), token)
    if staged is None:
        return upload_review(token)
    if request.form.get("decision") != "index":
        upload.discard_stage(_staging(), token)
        return redirect(url_for("admin.upload_form"), code=303)
    folder, prepared = staged
    if str(folder) not in {f.path for f in _upload_folders()}:
        return _upload_page("That folder is no longer one of the archive's sources.", status=400)
    response = _save_and_index(folder, prepared)
    if response.status_code == 303:
        upload.discard_stage(_staging(), token)
    return response


def _folder(chosen: str) -> Path | None:
    for f in _upload_folders():
        if f.path == chosen:
            return Path(f.path)
    return None


def _save_and_index(folder: Path, prepared: upload.Prepared):
    if _runner().busy():
        state = _runner().state()
        return _message("A job is already running",
                        f"“{state.label if state else 'A job'}” is running; the files were not "
                        "saved. Upload them again when it has finished.", 409,
                        follow=url_for("admin.job"))
    try:
        if folder == _upload_dir():
            folder.mkdir(parents=True, exist_ok=True)  # the uploads source, made on first use
        saved = upload.save(prepared, folder)
    except OSError as e:
        return _upload_page(f"The folder {folder} cannot be created: {e.strerror or e}.",
                            status=500)
    except upload.UploadRefused as e:
        return _upload_page(str(e), status=400)
    if not saved.paths:
        return _upload_page("None of the files could be saved.", refused=saved.refused,
                            status=400)
    n = len(saved.paths)
    label = f"Index an upload of {n} file{'s' if n != 1 else ''} into {folder}"
    work = jobs.index_work(_index_dir(), [folder], options=_options(), engine=_engine())
    return _start("upload", label, work, [folder])


# -- removing a file ---------------------------------------------------------------------------


def _removal(values) -> tuple[str, str, Path] | str:
    """The configured source, relative name and path of the file `values` name, or why not."""
    source, relative = values.get("source", ""), values.get("file", "")
    if source not in _configured_sources():
        return "That folder is not one of the archive's configured sources."
    try:
        path = upload.removable(Path(source), relative)
    except ValueError as e:
        return f"“{relative or '(no name)'}” cannot be removed: {e}."
    return source, relative, path


@bp.get("/remove")
def remove_form():
    found = _removal(request.args)
    if isinstance(found, str):
        return _message("Cannot remove this file", found, 404)
    source, relative, path = found
    info = path.stat()
    return render_template(
        "admin/remove.html", active="sources", source=source, relative=relative,
        size=upload.human_size(info.st_size),
        modified=present.when(dt.datetime.fromtimestamp(info.st_mtime).isoformat()),
    )


@bp.post("/remove")
def remove_post():
    if request.form.get("confirm") != "remove":
        return _message("Confirm the removal", "A file is removed only from its confirmation "
                        "page, with “Remove this file”. Nothing was removed.", 400)
    found = _removal(request.form)
    if isinstance(found, str):
        return _message("Cannot remove this file", found, 400)
    source, relative, _path = found
    if _runner().busy():
        return _message("A job is already running", "Nothing was removed. Remove the file when "
                        "the running job has finished.", 409, follow=url_for("admin.job"))
    try:
        upload.remove(Path(source), relative)
    except (ValueError, OSError) as e:
        return _message("Cannot remove this file", f"“{relative}” could not be removed: {e}.",
                        400)
    # Reindexing the source takes the file's articles out of the index.
    work = jobs.index_work(_index_dir(), [Path(source)], options=_options(),
                           engine=_engine())
    return _start("remove", f"Remove {relative} from {source}", work, [source])


# -- health and history ------------------------------------------------------------------------


#: What the console says of optimizing an archive a Typesense cluster holds.
OPTIMIZE_DOES_NOT_APPLY = (
    "Optimizing merges the embedded index's segments. The archive is in a Typesense "
    "cluster, which keeps no segments to merge: there is nothing to optimize.")


@bp.get("/health")
def health():
    top = int(_cfg("HEALTH_TOP_TAGS", 15))
    if _on_cluster():
        return _cluster_health(top)
    figures = index_health.health(_index_dir(), top=top)
    return render_template(
        "admin/health.html", active="health", h=figures,
        years=present.year_chart(figures.years), tags=present.tag_chart(figures.top_tags),
        size=upload.human_size(figures.size_bytes), when=present.when,
        failures=[dataclasses.asdict(f) for f in figures.last_failures[:200]],
        more_failures=max(len(figures.last_failures) - 200, 0),
    )


def _cluster_health(top: int):
    from index import typesense_health

    try:
        figures = typesense_health.health(_engine(), _index_dir(), top=top)
    except _CLUSTER_ERRORS as e:
        current_app.logger.exception("the cluster did not answer")
        return _message("The cluster does not answer",
                        f"The archive's Typesense cluster could not be read: {e}. Check that "
                        "its nodes are running and that TYPESENSE_NODES and TYPESENSE_API_KEY "
                        "name them.", 503)
    return render_template(
        "admin/health_cluster.html", active="health", h=figures,
        years=present.year_chart(figures.years), tags=present.tag_chart(figures.top_tags),
        when=present.when, optimize_note=OPTIMIZE_DOES_NOT_APPLY,
        failures=[dataclasses.asdict(f) for f in figures.last_failures[:200]],
        more_failures=max(len(figures.last_failures) - 200, 0),
    )


@bp.get("/history")
def history():
    entries = index_history.recent(_history_dir(),
                                   int(_cfg("HISTORY_KEEP", index_history.DEFAULT_KEEP)))
    return render_template("admin/history.html", active="history",
                           entries=present.history_rows(entries), when=present.when,
                           duration=present.duration)


@bp.get("/history/<job>")
def history_entry(job: str):
    entry = index_history.find(_history_dir(), job)
    if entry is None:
        return _message("Run not found", "The history no longer holds this run (it keeps the "
                        f"newest {int(_cfg('HISTORY_KEEP', index_history.DEFAULT_KEEP))}).", 404)
    return render_template("admin/history_entry.html", active="history",
                           row=present.history_row(entry), when=present.when,
                           duration=present.duration)
