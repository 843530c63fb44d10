"""Servers as separate processes, for the tests and the benchmarks alike.

The tests that need `archivist serve` as a real process (several workers,
signals, hostile requests over a socket) and the benchmarks that load it
all start it, wait for it and stop it the same way; that way lives here, in
plain functions that need no pytest, since the benchmarks run as programs
(`python -m tests.bench.loadtest`). Free loopback ports come from here too,
for `archivist serve` and for the Typesense cluster (`tests.cluster`).

Nothing here listens on anything but 127.0.0.1, and each process started
here writes its stderr to a file, never to a pipe: waitress warns on every
queued request under load, and a pipe nobody drains fills up and stops the
server in the middle of a write.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")
HOST = "127.0.0.1"
ROOT = Path(__file__).resolve().parents[1]


class ServerError(RuntimeError):
    """A server exited while starting, or did not answer in time."""


def free_ports(count: int) -> list[int]:
    """`count` different TCP ports that are free on the loopback right now.

    The sockets are all bound before any is closed, so the ports differ;
    another program may still take one before the caller binds it, which
    on a test machine is rare enough to accept.
    """
    sockets = []
    try:
        for _ in range(count):
            s = socket.socket()
            s.bind((HOST, 0))
            sockets.append(s)
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def free_port() -> int:
    """One free TCP port on the loopback."""
    return free_ports(1)[0]


def archivist_env(**extra: str) -> dict[str, str]:
    """This process's environment without its `ARCHIVIST_*` settings, plus `extra`.

    A setting left in a developer's shell (an index folder, a query limit)
    must not change what a test or a benchmark measures.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("ARCHIVIST_")}
    env.update(extra)
    return env


def launch_archivist(index_dir: Path, port: int, log: Path, *serve_args: str,
                     env: dict[str, str] | None = None) -> subprocess.Popen:
    """Start `archivist serve` on 127.0.0.1:`port` and return at once.

    `serve_args` go after `serve` (`--workers 2`, `--threads 8`); `env`
    adds variables to `archivist_env()`. The caller waits for what it needs
    (see `start_archivist`) and ends the process with `stop_process`.
    """
    with open(log, "w", encoding="utf-8") as err:
        return subprocess.Popen(
            [sys.executable, "-m", "webui.cli", "--index-dir", str(index_dir), "serve",
             "--host", HOST, "--port", str(port), *serve_args],
            cwd=ROOT, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err,
            env=archivist_env(**(env or {})),
        )


def start_archivist(index_dir: Path, port: int, log: Path, *serve_args: str,
                    env: dict[str, str] | None = None, ready: str = "/api/search?q=oil",
                    timeout: float = 120.0) -> subprocess.Popen:
    """`archivist serve` on 127.0.0.1:`port`, returned once GET `ready` answers 200.

    The default `ready` search also opens the index, so the first measured
    request does not pay for that. Raises `ServerError` with the server's
    log if it exits, or if it does not answer within `timeout` seconds.
    """
    proc = launch_archivist(index_dir, port, log, *serve_args, env=env)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise ServerError(f"archivist serve exited:\n{log.read_text('utf-8', 'replace')}")
        try:
            with urllib.request.urlopen(f"http://{HOST}:{port}{ready}", timeout=60) as r:
                if r.status == 200:
                    return proc
        except (OSError, urllib.error.HTTPError):
            time.sleep(0.2)
    stop_process(proc, grace=0)
    raise ServerError(f"archivist serve did not answer within {timeout:.0f} s")


def get_json(port: int, path: str, timeout: float = 30.0) -> dict:
    """GET `path` from the server on 127.0.0.1:`port`; its JSON, which must come with 200."""
    with urllib.request.urlopen(f"http://{HOST}:{port}{path}", timeout=timeout) as r:
        assert r.status == 200, r.status
        return json.loads(r.read())


def wait_until(check: Callable[[], T], seconds: float = 30.0) -> T:
    """Call `check` every 0.1 s until it returns something true, and return that.

    A check that raises `OSError` (the server does not answer yet) counts as
    false; past `seconds`, `AssertionError`.
    """
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            value = check()
            if value:
                return value
        except OSError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"condition not reached in {seconds:g} s")


def stop_process(proc: subprocess.Popen, grace: float = 20.0) -> None:
    """End `proc`: SIGTERM, up to `grace` seconds to finish, then SIGKILL.

    With `grace` 0 it is killed at once. Either way it is reaped, so no
    zombie is left; a process that already exited is only reaped.
    """
    if proc.poll() is None:
        if grace > 0:
            proc.terminate()
            try:
                proc.wait(timeout=grace)
                return
            except subprocess.TimeoutExpired:
                pass
        proc.kill()
    proc.wait()
