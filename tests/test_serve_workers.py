"""`archivist serve --workers N`: a pre-fork server that keeps serving when a worker dies."""

from __future__ import annotations

import http.client
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
from tests.bench.loadtest import connections_per_worker
from tests.corpus import write_corpus

ROOT = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _children(pid: int) -> list[int]:
    return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def _ready(pid: int) -> bool:
    """True once worker `pid` has built its app and its server (waitress has
    started its task thread, so the process runs more than one thread)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Threads:"):
            return int(line.split()[1]) >= 2
    return False


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


def test_two_workers_share_connections_restart_a_dead_one_and_stop_together(tmp_path):
    write_corpus(tmp_path / "c", 30)
    update(tmp_path / "ix", [tmp_path / "c"])
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "webui.cli", "--index-dir", str(tmp_path / "ix"), "serve",
         "--port", str(port), "--workers", "2"],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    held: list[http.client.HTTPConnection] = []
    try:
        _wait_until(lambda: _get(port, "/api/search")["total"] == 30)
        workers = _wait_until(lambda: (w := _children(server.pid)) and len(w) == 2
                              and all(_ready(p) for p in w) and w)
        time.sleep(1.5)  # each worker's event loop has published its count by now
        # Eight readers connect at once and keep their connections open: a
        # worker only accepts while it holds no more than the other, so they
        # split 4/4 (left to whichever wakes first, one takes most of a burst).
        for _ in range(8):
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            conn.connect()
            held.append(conn)
        counts = _wait_until(lambda: (c := connections_per_worker(server.pid, port)) and sum(c) == 8
                             and c)
        assert max(counts) - min(counts) <= 1, counts
        for _ in range(2):  # keep-alive: the same connections answer again and again
            for conn in held:
                conn.request("GET", "/api/search?q=energy")
                answer = conn.getresponse()
                assert answer.status == 200 and answer.read()

        os.kill(workers[0], signal.SIGKILL)
        _wait_until(lambda: _gone(workers[0]))
        # The listening socket is the parent's: new readers are served by the
        # other worker while the supervisor replaces the dead one.
        for _ in range(10):
            assert _get(port, "/api/search?q=energy")["total"] > 0
        replaced = _wait_until(
            lambda: len(_children(server.pid)) == 2 and workers[0] not in _children(server.pid)
        )
        assert replaced
        live = _children(server.pid)
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=20)
        assert all(_gone(pid) for pid in live)
    finally:
        for conn in held:
            conn.close()
        if server.poll() is None:
            server.kill()
            server.wait()


def test_workers_stop_when_the_supervisor_is_killed(tmp_path):
    update(tmp_path / "ix", [])
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "webui.cli", "--index-dir", str(tmp_path / "ix"), "serve",
         "--port", str(port), "--workers", "2"],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        workers = _wait_until(lambda: (w := _children(server.pid)) and len(w) == 2
                              and all(_ready(p) for p in w) and w)
        server.kill()  # SIGKILL: the supervisor cannot stop its workers itself
        server.wait()
        _wait_until(lambda: all(_gone(p) for p in workers), seconds=20)
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()


def test_settle_heap_freezes_what_the_app_built_and_spaces_young_collections(tmp_path):
    # Run in a child: gc.freeze would otherwise reach into this test process.
    code = (
        "import gc\n"
        "from webui import create_app\n"
        "from webui.server import settle_heap\n"
        f"app = create_app({{'INDEX_DIR': {str(tmp_path / 'ix')!r}}})\n"
        "assert gc.get_freeze_count() == 0\n"
        "settle_heap()\n"
        "assert gc.get_freeze_count() > 10_000, gc.get_freeze_count()\n"
        "from webui.server import YOUNG_GC_THRESHOLD\n"
        "assert gc.get_threshold()[0] == YOUNG_GC_THRESHOLD > 700, gc.get_threshold()\n"
        "print('frozen', gc.get_freeze_count())\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=Path(__file__).resolve().parents[1], timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("frozen")
