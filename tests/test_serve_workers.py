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


def _listeners(port: int) -> int:
    """How many sockets listen on 127.0.0.1:`port` (one per ready worker)."""
    wanted = f"0100007F:{port:04X}"
    rows = Path("/proc/net/tcp").read_text().splitlines()[1:]
    return sum(1 for r in rows if r.split()[1] == wanted and r.split()[3] == "0A")


def _gone(pid: int) -> bool:
    """True once `pid` has exited (reaped, or a zombie whose files are closed)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z"
    except FileNotFoundError:
        return True


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
        _wait_until(lambda: _listeners(port) == 2)  # both workers are listening
        workers = _children(server.pid)
        os.kill(workers[0], signal.SIGKILL)
        # Once the dead worker's socket is gone (connections the kernel had
        # already queued to it are reset: that is SO_REUSEPORT's price), the
        # other worker answers while the supervisor replaces it.
        _wait_until(lambda: _gone(workers[0]) and _listeners(port) >= 1)
        for _ in range(10):
            assert _get(port, "/api/search?q=energy")["total"] > 0
        replaced = _wait_until(
            lambda: len(_children(server.pid)) == 2 and workers[0] not in _children(server.pid)
        )
        assert replaced
        _wait_until(lambda: _listeners(port) == 2)
        live = _children(server.pid)
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=20)
        assert all(_gone(pid) for pid in live)
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()


def test_settle_heap_freezes_what_the_app_built(tmp_path):
    # Run in a child: gc.freeze would otherwise reach into this test process.
    code = (
        "import gc\n"
        "from webui import create_app\n"
        "from webui.server import settle_heap\n"
        f"app = create_app({{'INDEX_DIR': {str(tmp_path / 'ix')!r}}})\n"
        "assert gc.get_freeze_count() == 0\n"
        "settle_heap()\n"
        "assert gc.get_freeze_count() > 10_000, gc.get_freeze_count()\n"
        "print('frozen', gc.get_freeze_count())\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=Path(__file__).resolve().parents[1], timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("frozen")
