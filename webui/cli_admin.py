"""The librarians' maintenance commands: check, export, optimize, set-password.

Thin click commands over the same library functions the web console uses
(`index.check`, `index.export`, `index.embedded.health.optimize`, `webui.auth`).
`register(group)` adds them to the `archivist` command group; they read the
index folder from the group's `--index-dir` option exactly as `index` does.
A problem a librarian can act on is one clear line on stderr and a non-zero
exit status, never a traceback.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

import click

from index import folder

#: Exit status of `check` when the index cannot be opened at all.
EXIT_UNOPENABLE = 2
#: Same as `archivist index` uses when another run holds the lock.
EXIT_LOCKED = 3
#: `set-password` while the configuration's ADMIN_PASSWORD_HASH overrides the file.
EXIT_PASSWORD_OVERRIDDEN = 4


def _app(ctx: click.Context):
    """The configured Flask app, built once per command (shared with `webui.cli`)."""
    obj = ctx.find_root().ensure_object(dict)
    if "app" not in obj:
        from webui import create_app

        obj["app"] = create_app({"INDEX_DIR": obj.get("index_dir")})
    return obj["app"]


def _index_dir(ctx: click.Context) -> Path:
    return Path(_app(ctx).config["INDEX_DIR"])


def _write_engine(ctx: click.Context):
    """The configured write-side engine (`ENGINE`): the Whoosh index or the cluster."""
    from index.writer import write_engine

    try:
        return write_engine(_app(ctx).config, _index_dir(ctx))
    except ValueError as e:  # an unknown engine, or cluster settings missing
        raise click.UsageError(str(e)) from e


def _configured_sources(app) -> list[str]:
    raw = app.config.get("SOURCES") or []
    if isinstance(raw, str):
        raw = [p for p in raw.split(os.pathsep) if p.strip()]
    return [str(p) for p in raw]


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.pass_context
def check(ctx, as_json) -> None:
    """Verify the index opens, every article reads, and it agrees with the sources.

    Lists files missing from the index, indexed files gone from disk (extra)
    and files changed since they were indexed (stale); on a cluster, also
    every node whose article count differs. Exits 1 on any such problem, 2
    when the index cannot be opened.
    """
    from index.check import check as run_check

    app = _app(ctx)
    report = run_check(_index_dir(ctx), _configured_sources(app),
                       max_bytes=int(app.config.get("MAX_FILE_BYTES", 20 * 1024 * 1024)),
                       engine=_write_engine(ctx))
    if as_json:
        click.echo(json.dumps(report.to_json(), indent=2, ensure_ascii=False, default=str))
    elif not report.opened:
        click.echo(f"archivist: {report.lines()[0]}", err=True)
    else:
        lines = report.lines()
        for line in lines[:-1]:
            click.echo(line, err=True)
        click.echo(lines[-1])
    if not report.opened:
        sys.exit(EXIT_UNOPENABLE)
    if not report.ok:
        sys.exit(1)


@click.command()
@click.option("--format", "fmt", type=click.Choice(["jsonl"]), default="jsonl",
              show_default=True, help="Output format.")
@click.option("--output", "-o", type=click.Path(dir_okay=False, writable=True),
              help="File to write (default: standard output).")
@click.pass_context
def export(ctx, fmt, output) -> None:
    """Write every indexed article as JSON Lines that `archivist index` reads back."""
    from index.export import export_jsonl

    index_dir = _index_dir(ctx)
    engine = _write_engine(ctx)
    if not engine.exists():
        click.echo(f"archivist: there is no index in {engine.describe()}", err=True)
        sys.exit(1)
    if output:
        target = Path(output).resolve()
        # Written beside the target and renamed, so a failed export leaves no half file.
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as out:
                result = export_jsonl(index_dir, out, engine)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    else:
        result = export_jsonl(index_dir, sys.stdout, engine)
        sys.stdout.flush()
    for warning in result.warnings:
        click.echo(f"note: {warning}", err=True)
    click.echo(f"exported {result.articles} articles"
               + (f" to {output}" if output else ""), err=True)


@click.command()
@click.option("--wait", type=float, help="Seconds to wait for another run's lock (default 10).")
@click.pass_context
def optimize(ctx, wait) -> None:
    """Merge the index's segments into one (faster searches after many runs).

    A Typesense cluster has no segments to merge: it says so and exits 0.
    """
    app = _app(ctx)
    timeout = wait if wait is not None else float(app.config.get("LOCK_TIMEOUT", 10.0))
    engine = _write_engine(ctx)
    try:
        result = engine.optimize(timeout)
    except folder.LockTimeout as e:
        click.echo(f"archivist: {e}", err=True)
        sys.exit(EXIT_LOCKED)
    except FileNotFoundError as e:
        click.echo(f"archivist: {e}", err=True)
        sys.exit(1)
    if result is None:
        click.echo(f"nothing to optimize: {engine.describe()} keeps no segments to merge")
        return
    click.echo(f"merged {result.segments_before} segments into {result.segments_after} "
               f"({result.bytes_before:,} → {result.bytes_after:,} bytes, "
               f"{result.seconds:.1f} s)")


@click.command("set-password")
@click.pass_context
def set_password(ctx) -> None:
    """Set the password of the librarians' console (asked twice, never shown)."""
    from webui import auth

    app = _app(ctx)
    if app.config.get("ADMIN_PASSWORD_HASH"):
        # The configured hash wins over the file: a password stored here would never be used.
        click.echo("archivist: the password was not changed: ADMIN_PASSWORD_HASH is configured "
                   "(ARCHIVIST_ADMIN_PASSWORD_HASH or archivist.cfg) and overrides the "
                   "password file; remove it first, or put the new password's hash there",
                   err=True)
        sys.exit(EXIT_PASSWORD_OVERRIDDEN)
    password = click.prompt("New console password", hide_input=True,
                            confirmation_prompt="Repeat it")
    try:
        path = auth.set_password(app.instance_path, password)
    except ValueError as e:
        click.echo(f"archivist: {e}", err=True)
        sys.exit(1)
    click.echo(f"password set (its hash is in {path}); everyone signed in must sign in again")


def register(group: click.Group) -> None:
    """Add the maintenance commands to the `archivist` group."""
    for command in (check, export, optimize, set_password):
        group.add_command(command)
