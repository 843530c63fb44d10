"""`archivist serve --workers N`: a pre-fork server that keeps serving when a worker dies."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from index.writer import update
from tests.corpus import write_corpus

ROOT = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _children(pid: int) -> list[int]:
    return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def _get(port: int, path: str) -> dict:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=30) as r:
        assert r.status == 200
        return json.loads(r.read())


def _wait_until(check, seconds: float = 30.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            value = check()
            if value:
                return value
        except OSError:
            pass
        time.sleep(0.2)
    raise AssertionError("condition not reached in time")


def test_two_workers_serve_restart_a_dead_one_and_stop_together(tmp_path):
    write_corpus(tmp_path / "c", 30)
    update(tmp_path / "ix", [tmp_path / "c"])
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "webui.cli", "--index-dir", str(tmp_path / "ix"), "serve",
         "--port", str(port), "--workers", "2", "--threads", "2"],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        _wait_until(lambda: _get(port, "/api/search")["total"] == 30)
        workers = _wait_until(lambda: len(_children(server.pid)) == 2 and _children(server.pid))
        os.kill(workers[0], signal.SIGKILL)
        # Requests keep being answered while the supervisor replaces the worker.
        for _ in range(10):
            assert _get(port, "/api/search?q=energy")["total"] > 0
        replaced = _wait_until(
            lambda: len(_children(server.pid)) == 2 and workers[0] not in _children(server.pid)
        )
        assert replaced
        live = _children(server.pid)
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=20)
        for pid in live:
            assert not Path(f"/proc/{pid}").exists() or "Z" in Path(
                f"/proc/{pid}/stat").read_text().split()[2]
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
