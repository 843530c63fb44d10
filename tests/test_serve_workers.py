"""`archivist serve --workers N`: gunicorn's pre-fork workers, as a process manager must behave.

Each test runs the real `archivist serve` in a subprocess on a free loopback
port and watches its processes through /proc: two workers that each listen
on the port and both take readers, a killed worker replaced while the other
keeps answering, workers that leave when their master is killed, SIGTERM and
Ctrl+C stopping everything, and the garbage-collector tuning applied in each
worker. Request-body limits are in `test_serve_limits.py`.
"""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from index.writer import update
from tests.bench.loadtest import connections_per_worker
from tests.corpus import write_corpus
from tests.servers import free_port, get_json, launch_archivist, stop_process, wait_until

ROOT = Path(__file__).resolve().parents[1]


def children(pid: int) -> list[int]:
    return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def gone(pid: int) -> bool:
    """True once `pid` has exited and closed its files: reaped, or a zombie
    without threads still on their way out (its sockets close with the last)."""
    try:
        return (Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z"
                and len(os.listdir(f"/proc/{pid}/task")) == 1)
    except FileNotFoundError:
        return True


def listens(pid: int, port: int) -> bool:
    """True if process `pid` holds a socket listening on `port`."""
    listening = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            f = line.split()
            if int(f[1].rsplit(":", 1)[1], 16) == port and f[3] == "0A":
                listening.add(f[9])
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:[") and target[8:-1] in listening:
            return True
    return False


def _two_workers(server: subprocess.Popen, port: int) -> list[int]:
    """The server's two workers, once both listen on `port`."""
    return wait_until(lambda: (w := children(server.pid)) and len(w) == 2
                      and all(listens(p, port) for p in w) and w)


def _together(conns: list[http.client.HTTPConnection], path: str) -> list[bool]:
    """Each connection asks for `path` at the same moment; whether each got 200."""
    start = threading.Barrier(len(conns))

    def ask(conn: http.client.HTTPConnection) -> bool:
        start.wait()
        conn.request("GET", path)
        answer = conn.getresponse()
        return answer.status == 200 and bool(answer.read())

    with ThreadPoolExecutor(len(conns)) as pool:
        return list(pool.map(ask, conns))


def test_two_workers_share_the_port_a_dead_one_is_replaced_and_sigterm_stops_all(tmp_path):
    write_corpus(tmp_path / "c", 30)
    update(tmp_path / "ix", [tmp_path / "c"])
    port, log = free_port(), tmp_path / "serve.log"
    server = launch_archivist(tmp_path / "ix", port, log, "--workers", "2")
    held: list[http.client.HTTPConnection] = []
    try:
        wait_until(lambda: get_json(port, "/api/search")["total"] == 30)
        workers = _two_workers(server, port)
        text = log.read_text()
        assert "Starting gunicorn" in text and "Using worker: gthread" in text, text
        # Every worker listens on the port itself (SO_REUSEPORT), not the master.
        assert not listens(server.pid, port)

        # Sixteen readers connect at once and keep their connections: the
        # kernel shares them out among the workers' sockets, and each
        # connection keeps being answered by the worker that took it.
        held = [http.client.HTTPConnection("127.0.0.1", port, timeout=30) for _ in range(16)]
        for _ in range(2):
            assert all(_together(held, "/api/search?q=energy"))
        counts = connections_per_worker(server.pid, port)
        assert sum(counts) == 16 and min(counts) > 0, counts
        for conn in held:
            conn.close()

        os.kill(workers[0], signal.SIGKILL)
        wait_until(lambda: gone(workers[0]))
        # New readers are served by the other worker while the master
        # replaces the dead one.
        for _ in range(10):
            assert get_json(port, "/api/search?q=energy")["total"] > 0
        live = _two_workers(server, port)
        assert workers[0] not in live and workers[1] in live
        assert get_json(port, "/api/search?q=energy")["total"] > 0

        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=30) == 0
        assert all(gone(pid) for pid in live)
        assert "Traceback" not in log.read_text()
    finally:
        for conn in held:
            conn.close()
        stop_process(server, grace=0)


def test_ctrl_c_stops_the_workers_gracefully(tmp_path):
    update(tmp_path / "ix", [])
    port, log = free_port(), tmp_path / "serve.log"
    server = launch_archivist(tmp_path / "ix", port, log, "--workers", "2")
    try:
        workers = _two_workers(server, port)
        server.send_signal(signal.SIGINT)
        assert server.wait(timeout=30) == 0
        assert all(gone(pid) for pid in workers)
        # gunicorn's own SIGINT is a quick stop, dropping requests in flight;
        # ours is the graceful one SIGTERM gives.
        text = log.read_text()
        assert "Handling signal: term" in text and "Handling signal: int" not in text, text
    finally:
        stop_process(server, grace=0)


def test_workers_stop_when_their_master_is_killed(tmp_path):
    update(tmp_path / "ix", [])
    port, log = free_port(), tmp_path / "serve.log"
    server = launch_archivist(tmp_path / "ix", port, log, "--workers", "2")
    try:
        workers = _two_workers(server, port)
        server.kill()  # SIGKILL: the master cannot stop its workers itself
        server.wait()
        wait_until(lambda: all(gone(p) for p in workers), seconds=15)
    finally:
        stop_process(server, grace=0)


def test_a_taken_port_is_refused_not_shared(tmp_path):
    # SO_REUSEPORT lets sockets of one user share a port; a second server
    # must fail instead of taking half of the first one's readers.
    update(tmp_path / "ix", [])
    with socket.socket() as taken:
        taken.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        server = launch_archivist(tmp_path / "ix", port, tmp_path / "serve.log", "--workers", "2")
        try:
            assert server.wait(timeout=30) != 0
        finally:
            stop_process(server, grace=0)
    assert "cannot listen on 127.0.0.1" in (tmp_path / "serve.log").read_text()


def test_each_worker_settles_its_heap_once_its_app_is_built(tmp_path):
    # A gunicorn server of two workers whose app reports its own collector.
    port = free_port()
    code = (
        "import gc, json\n"
        "from webui.server import serve\n"
        "def make_app():\n"
        "    def app(environ, start_response):\n"
        "        body = json.dumps({'frozen': gc.get_freeze_count(),\n"
        "                           'young': gc.get_threshold()[0]}).encode()\n"
        "        start_response('200 OK', [('Content-Type', 'application/json'),\n"
        "                                  ('Content-Length', str(len(body)))])\n"
        "        return [body]\n"
        "    return app\n"
        f"serve(make_app, port={port}, threads=1, workers=2, max_body=1024)\n"
    )
    server = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        seen = wait_until(lambda: get_json(port, "/"))
        from webui.server import YOUNG_GC_THRESHOLD

        assert seen["frozen"] > 10_000 and seen["young"] == YOUNG_GC_THRESHOLD > 700, seen
    finally:
        stop_process(server, grace=30)


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
                          cwd=ROOT, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("frozen")
