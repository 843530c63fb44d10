"""The `archivist` command line: thin click commands over `index` and `search`.

Each command parses its options, calls one library function, and prints the
outcome; no indexing or search logic lives here. Errors a librarian can act
on (a held lock, a missing index) are one clear line on stderr and an exit
status, never a traceback.
"""

from __future__ import annotations

import getpass
import json
import sys
import time
from pathlib import Path

import click

from index import folder
from index.embedded import store
from index.jobs import describe_run, logged_run
from index.writer import IndexOptions, Progress, known_roots, update, write_engine
from webui import create_app

#: Exit statuses besides 0 (success) and 1 (`--strict` with failures).
EXIT_LOCKED = 3
#: The cluster took the writes but a node did not show them in time.
EXIT_NOT_REPLICATED = 5
EXIT_INTERRUPTED = 130


def _app(ctx: click.Context):
    """The configured Flask app, built once per command from the group's options."""
    if "app" not in ctx.obj:
        ctx.obj["app"] = create_app({"INDEX_DIR": ctx.obj.get("index_dir")})
    return ctx.obj["app"]


def _index_dir(ctx: click.Context) -> Path:
    return Path(_app(ctx).config["INDEX_DIR"])


def _write_engine(ctx: click.Context):
    """The configured write-side engine (`ENGINE`), or a clear usage error."""
    try:
        return write_engine(_app(ctx).config, _index_dir(ctx))
    except ValueError as e:  # an unknown engine, or cluster settings missing
        raise click.UsageError(str(e)) from e


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--index-dir",
    type=click.Path(file_okay=False),
    envvar="ARCHIVIST_INDEX_DIR",
    help="Index folder (default: the app's instance folder; env ARCHIVIST_INDEX_DIR).",
)
@click.pass_context
def main(ctx: click.Context, index_dir: str | None) -> None:
    """Archivist: index folders of articles and search them."""
    ctx.ensure_object(dict)
    ctx.obj["index_dir"] = index_dir


class _Reporter:
    """Progress on a terminal as a bar; elsewhere as a plain line every few seconds."""

    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet
        self.tty = sys.stderr.isatty()
        self.bar = None
        self.last = 0.0

    def __call__(self, p: Progress) -> None:
        if self.quiet:
            return
        if self.tty:
            if self.bar is None:
                self.bar = click.progressbar(
                    length=p.total, label="Indexing", file=sys.stderr, show_pos=True,
                    show_eta=True,
                )
                self.bar.__enter__()
            self.bar.update(1)
            return
        now = time.monotonic()
        if now - self.last >= 2.0 or p.done == p.total:
            self.last = now
            click.echo(f"indexed {p.done}/{p.total} files", err=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)


@main.command("index")
@click.argument("paths", nargs=-1, type=click.Path(exists=True))
@click.option("--rebuild", is_flag=True, help="Build a fresh index beside the old one, then swap.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.option("--strict", is_flag=True, help="Exit with status 1 if any file failed.")
@click.option("--jobs", "-j", default=1, show_default=True, help="Processes reading files.")
@click.option("--max-size", type=float, help="Largest file to read, in MB (default 20).")
@click.option("--wait", type=float, help="Seconds to wait for another run's lock (default 10).")
@click.option("--quiet", "-q", is_flag=True, help="No progress output.")
@click.pass_context
def index_cmd(ctx, paths, rebuild, as_json, strict, jobs, max_size, wait, quiet) -> None:
    """Bring the index up to date with PATHS (files or folders).

    New files are added, changed ones (by content hash) updated, files gone
    from an indexed folder removed. Without PATHS, the folders of earlier
    runs are indexed again. With ENGINE=typesense the articles go to the
    cluster (a rebuild writes a new collection and swaps the alias).
    """
    index_dir = _index_dir(ctx)
    engine = _write_engine(ctx)
    if not paths and not known_roots(index_dir):
        raise click.UsageError("give the files or folders to index (none indexed yet)")
    cfg = _app(ctx).config
    options = IndexOptions(
        max_bytes=int(max_size * 1024 * 1024) if max_size else cfg["MAX_FILE_BYTES"],
        lock_timeout=wait if wait is not None else cfg["LOCK_TIMEOUT"],
        jobs=max(1, jobs),
    )
    reporter = _Reporter(quiet or as_json)
    # Logged in the index's history like a console job, so the console lists it too.
    roots = [str(Path(p).resolve()) for p in paths] or known_roots(index_dir)
    kind, label = describe_run(roots if paths else [], rebuild)
    try:
        with logged_run(index_dir, kind, label, _who(), roots,
                        keep=int(cfg.get("HISTORY_KEEP", 50))) as logged:
            summary = update(
                index_dir, [Path(p) for p in paths], rebuild=rebuild, options=options,
                progress=reporter, engine=engine,
            )
            logged.summary = summary.to_json()
    except folder.LockTimeout as e:
        reporter.close()
        click.echo(f"archivist: {e}", err=True)
        sys.exit(EXIT_LOCKED)
    except KeyboardInterrupt:
        reporter.close()
        click.echo("\narchivist: interrupted; the index is as it was at its last commit", err=True)
        sys.exit(EXIT_INTERRUPTED)
    except TimeoutError as e:  # a cluster's node did not catch up with the run's writes
        reporter.close()
        click.echo(f"archivist: the run was written, but {e}", err=True)
        sys.exit(EXIT_NOT_REPLICATED)
    reporter.close()
    if as_json:
        click.echo(json.dumps(summary.to_json(), indent=2, ensure_ascii=False))
    else:
        for f in summary.failures:
            where = f"{f.path}:{f.line}" if f.line is not None else f.path
            click.echo(f"failed: {where}: {f.reason}", err=True)
        for w in summary.warnings:
            click.echo(f"note: {w.path}: {w.reason}", err=True)
        if summary.skipped:
            click.echo(f"skipped {len(summary.skipped)} files of unknown type", err=True)
        if summary.rebuilt_because:
            click.echo(f"note: {summary.rebuilt_because}", err=True)
        click.echo(summary.line())
    if strict and summary.failed:
        sys.exit(1)


def _who() -> str:
    """Who ran a command, for the history: the system user, on the command line."""
    try:
        user = getpass.getuser()
    except Exception:  # noqa: BLE001 -- no login name (a container); the history still says how
        user = "someone"
    return f"{user} (command line)"


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
@click.pass_context
def stats(ctx, as_json) -> None:
    """Articles, date range, tags, index size and last update."""
    from webui.backend import make_engine

    index_dir = _index_dir(ctx)
    engine = make_engine(_app(ctx).config)
    try:
        figures = engine.stats().to_json()
    finally:
        engine.close()
    figures["index_dir"] = str(index_dir)
    figures["index_bytes"] = store.disk_size(index_dir)
    if as_json:
        click.echo(json.dumps(figures, indent=2, ensure_ascii=False, default=str))
        return
    for key, value in figures.items():
        click.echo(f"{key.replace('_', ' ')}: {value}")


@main.command()
@click.argument("query", required=False, default="")
@click.option("--tag", "tags", multiple=True, help="Only articles with this tag (repeatable).")
@click.option("--not-tag", "not_tags", multiple=True, help="Leave out articles with this tag.")
@click.option("--from", "date_from", help="From date: 2022, 2022-05, 2022-05-28 or solar.")
@click.option("--to", "date_to", help="To date (inclusive), same forms as --from.")
@click.option("--kind", "kinds", multiple=True,
              help="Only articles of this kind: Interview, Report… (repeatable: any of them).")
@click.option("--language", "languages", multiple=True,
              help="Only articles in this language, an ISO 639-1 code such as es (repeatable).")
@click.option("--undated", type=click.Choice(["include", "only", "exclude"]))
@click.option("--sort", type=click.Choice(["relevance", "recency", "newest", "oldest"]),
              help="recency: relevance multiplied by a decay on age (half-life: "
                   "RECENCY_HALF_LIFE_DAYS, one year by default).")
@click.option("--page", type=int, help="Page number, from 1.")
@click.option("--per-page", type=int, help="Hits per page (default 10, at most 100).")
@click.option("--json", "as_json", is_flag=True, help="Print the API's JSON document.")
@click.option("--explain", is_flag=True, help="Show why each result ranks where it does.")
@click.option("--verbatim", is_flag=True, help="Search exactly as typed (no spelling fix).")
@click.pass_context
def search(ctx, query, tags, not_tags, kinds, languages, date_from, date_to, undated, sort,
           page, per_page,
           as_json, explain, verbatim) -> None:
    """Search the index for QUERY; without QUERY, list articles newest first."""
    from search.request import SearchRequest

    args: dict[str, list[str]] = {"q": [query], "tag": list(tags), "not_tag": list(not_tags),
                                  "kind": list(kinds), "language": list(languages)}
    for name, value in (("from", date_from), ("to", date_to), ("undated", undated),
                        ("sort", sort), ("page", page), ("per_page", per_page),
                        ("verbatim", "1" if verbatim else None)):
        if value is not None:
            args[name] = [str(value)]
    request, problems = SearchRequest.from_args(args)
    for p in problems:
        click.echo(f"note: {p}", err=True)
    from webui.backend import make_engine

    engine = make_engine(_app(ctx).config)
    try:
        results = engine.run(request, explain=explain)
    finally:
        engine.close()
    if as_json:
        click.echo(json.dumps(results.to_json(), indent=2, ensure_ascii=False))
        return
    _print_results(results)


def _print_results(results) -> None:
    """Human-readable results: a header line, then each hit with its snippets."""
    for message in results.messages:
        click.echo(f"note: {message}", err=True)
    if results.searched_for and results.searched_for != results.request.q:
        click.echo(f"Searched for: {results.searched_for}")
    if results.partial_match_note:
        click.echo(results.partial_match_note)
    noun = "article" if results.total == 1 else "articles"
    click.echo(f"{results.total:,} {noun}, page {results.page} of {max(results.pages, 1)} "
               f"({results.took_ms:.1f} ms)")
    for n, hit in enumerate(results.hits, results.first):
        date = hit.date.isoformat() if hit.date else "undated"
        tags = ", ".join(t.label for t in hit.tags)
        click.echo(f"\n{n}. {hit.title}  [{hit.id}]")
        click.echo(f"   {date}" + (f" | {hit.kind}" if hit.kind else "") +
                   (f" | {hit.language}" if hit.language else "") +
                   (f" | {tags}" if tags else ""))
        for snippet in hit.snippets:
            click.echo("   " + snippet.striptags())
        if hit.explanation is not None:
            click.echo("   why this result:")
            for line in hit.explanation.lines(2):
                click.echo(line)
    if results.corrected:
        click.echo(f"\nShowing results for: {results.corrected} "
                   f"(search instead for: {results.corrected_from}, with --verbatim)")
    if results.suggestion:
        click.echo(f"\nDid you mean: {results.suggestion}")


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=5000, show_default=True, help="Port to listen on.")
@click.option("--threads", type=int, default=None,
              help="Threads per worker process [default: 8 with one worker, 1 with several].")
@click.option("--workers", default=1, show_default=True,
              help="Worker processes sharing the port (one per core uses every core); "
                   "more than one are run by gunicorn.")
@click.pass_context
def serve(ctx, host, port, threads, workers) -> None:
    """Serve the web UI (picks up re-indexed archives by itself).

    One worker is waitress in this process; several are gunicorn's pre-fork
    workers (POSIX only).
    """
    from webui.server import CannotServe, max_request_body
    from webui.server import serve as serve_app

    if threads is None:
        # Searches are CPU work in Python and numpy; threads of one process
        # take turns on its interpreter lock, and numpy hands that lock over
        # on every array operation. Measured under load, eight threads per
        # process cost about 2 ms more CPU per request than one, so with
        # several processes each runs one request at a time.
        threads = 8 if workers <= 1 else 1

    app = _app(ctx)
    click.echo(f"Index: {app.config['INDEX_DIR']}", err=True)
    max_body = max_request_body(app.config)
    if workers <= 1:
        try:
            serve_app(lambda: app, host=host, port=port, threads=threads, max_body=max_body)
        except CannotServe as e:
            raise click.ClickException(str(e)) from e
        return
    overrides = {"INDEX_DIR": ctx.obj.get("index_dir")}
    # Each worker builds its own app after the fork: no engine crosses processes.
    try:
        serve_app(lambda: create_app(overrides), host=host, port=port, threads=threads,
                  workers=workers, max_body=max_body)
    except CannotServe as e:
        raise click.ClickException(str(e)) from e


# The librarians' maintenance commands (check, export, optimize, set-password)
# live in their own module; registered last because it builds on `main`.
from webui.cli_admin import register as _register_admin_commands  # noqa: E402

_register_admin_commands(main)


def _remember_index_dir(ctx: click.Context, _param, value: str | None) -> None:
    if value is not None:
        ctx.ensure_object(dict)["index_dir"] = value


# `--index-dir` is the group's option, and people type it after the command
# too (`archivist search water --index-dir X`): every command accepts it.
for _command in main.commands.values():
    _command.params.append(click.Option(
        ["--index-dir"], type=click.Path(file_okay=False), expose_value=False,
        is_eager=True, callback=_remember_index_dir,
        help="Index folder (also accepted before the command)."))


if __name__ == "__main__":  # pragma: no cover
    main()
