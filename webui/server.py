"""Serving the app with waitress, the production WSGI server we ship.

`make_server` binds the socket (port 0 picks a free one, which the browser
tests use) and returns the server without serving; `run` serves one app in
this process; `serve` is what `archivist serve` calls.

One Python process runs one thread at a time, so a single waitress process
uses one core however many threads it has. `serve(..., workers=N)` forks N
worker processes that each build their own app (and so their own search
engine) and accept from one listening socket the parent opened.

A reader's browser keeps its connection open, and every request on it goes
to the worker that accepted it; how connections are shared out decides how
long each worker's queue is. Left to the kernel they split by chance (with
`SO_REUSEPORT`, 16 clients often split 10/6, and the busier worker's queue
set the p95), or by whoever wakes first (one worker took most of a burst).
So workers publish how many connections they hold in a small shared array,
and a worker only polls the listening socket while it holds no more than the
least loaded one (`_BalancedServer`). The parent never accepts: it restarts a
worker that dies (connections waiting in the shared queue are then taken by
the others, not reset) and stops them all on Ctrl+C or SIGTERM.

Nothing here reads configuration: the caller passes it.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import logging
import multiprocessing
import os
import signal
import socket
import sys
import time
from collections.abc import Callable

from flask import Flask
from waitress.adjustments import Adjustments
from waitress.channel import HTTPChannel
from waitress.server import TcpWSGIServer, create_server
from waitress.task import ThreadedTaskDispatcher

# waitress logs a warning for every request that waits for a free thread; under
# load that is thousands of lines a minute (and a server whose stderr is piped
# but unread would block on them). Queueing is visible in latency figures.
logging.getLogger("waitress.queue").setLevel(logging.ERROR)

#: glibc's M_ARENA_MAX option number for mallopt(3).
_M_ARENA_MAX = -8
#: Malloc arenas per process: glibc's default (8 per core) lets each of
#: waitress's threads grow its own arena, and a worker's memory grew to about
#: twice what two arenas need for the same requests.
MALLOC_ARENAS = 2

#: A worker that dies sooner than this after starting is not restarted at
#: once (a broken configuration would otherwise fork in a tight loop).
MIN_WORKER_LIFE = 2.0


def limit_malloc_arenas(arenas: int = MALLOC_ARENAS) -> bool:
    """Cap glibc's malloc arenas for this process (before its threads start).

    The same as starting Python with `MALLOC_ARENA_MAX`; an explicit
    environment setting wins. Returns False where there is no glibc.
    """
    if os.environ.get("MALLOC_ARENA_MAX"):
        return False
    libc = _libc()
    try:
        return bool(libc and libc.mallopt(_M_ARENA_MAX, arenas))
    except AttributeError:  # a C library without mallopt
        return False


def _libc() -> ctypes.CDLL | None:
    """The C library, or None where it cannot be found or loaded."""
    name = ctypes.util.find_library("c")
    try:
        return ctypes.CDLL(name) if name else None
    except OSError:
        return None


#: prctl(2) option: the signal a process gets when its parent dies.
_PR_SET_PDEATHSIG = 1


def die_with_parent(sig: int = signal.SIGTERM) -> bool:
    """Ask the kernel to send `sig` to this process when its parent dies.

    A worker whose supervisor was killed (SIGKILL, the OOM killer) would
    otherwise go on serving from the inherited socket with nobody to stop
    it. Linux only; returns False elsewhere or when the parent is already
    gone.
    """
    parent = os.getppid()
    libc = _libc()
    try:
        if libc is None or libc.prctl(_PR_SET_PDEATHSIG, int(sig), 0, 0, 0) != 0:
            return False
    except AttributeError:  # not Linux: no prctl
        return False
    return os.getppid() == parent  # the parent did not die before the request


#: New container objects between two collections of the youngest generation.
YOUNG_GC_THRESHOLD = 5_000


def settle_heap() -> None:
    """Take the objects alive now out of the garbage collector's sight.

    Called once the app is built and before the first request: modules,
    routes and the app live as long as the process, yet every full
    collection would walk all of them again, a pause of tens of ms that
    stalls every request of the process. `gc.freeze` moves them to a
    permanent generation (they are still freed by reference counting; only
    cycle-hunting skips them). The index and its caches are opened later and
    stay visible to the collector, so a retired index generation is still
    collected.

    The youngest generation is then collected after every 5,000 new
    container objects instead of every 700. A search page allocates tens of
    thousands of short-lived objects (parser tokens, query nodes, template
    frames) that reference counting frees anyway, and about 40 that only
    the collector can free (bleach's html5lib parser and werkzeug's request
    hold reference cycles). Over the same 2,300 requests of the load test's
    mix in one process: at 700, 895 young and 7 full collections took
    0.48 s; at 50,000, three young ones took 0.23 s but stalled the worker
    about 110 ms each (every request queued behind them waited); at 5,000,
    24 collections took 0.17 s, none longer than 12 ms.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNG_GC_THRESHOLD, *gc.get_threshold()[1:])


def make_server(app: Flask, host: str = "127.0.0.1", port: int = 5000, threads: int = 8):
    """A bound, not yet running, waitress server for `app`.

    Call `.run()` to serve (blocking), `.close()` to stop; `.effective_port`
    is the port actually bound.
    """
    return create_server(app, host=host, port=port, threads=threads, ident="archivist")


def run(app: Flask, host: str = "127.0.0.1", port: int = 5000, threads: int = 8) -> None:
    """Serve `app` in this process until interrupted."""
    limit_malloc_arenas()
    server = make_server(app, host=host, port=port, threads=threads)
    settle_heap()
    print(f"Archivist is serving on http://{host}:{server.effective_port}/ (Ctrl+C stops)",
          flush=True)
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        server.close()


def serve(make_app: Callable[[], Flask], host: str = "127.0.0.1", port: int = 5000,
          threads: int = 8, workers: int = 1) -> None:
    """Serve the app built by `make_app` with `workers` processes.

    With one worker this is `run`. With more, `make_app` is called in each
    worker after the fork, so no index, searcher or thread is shared between
    processes; they share only the listening socket.
    """
    if workers <= 1:
        run(make_app(), host, port, threads)
        return
    listener = _listening_socket(host, port)
    address = listener.getsockname()[:2]
    print(f"Archivist is serving on http://{host}:{address[1]}/ with {workers} "
          "worker processes (Ctrl+C stops)", flush=True)
    _Supervisor(listener, make_app, threads, workers).run()


def _listening_socket(host: str, port: int) -> socket.socket:
    """A non-blocking TCP socket listening on (host, port), for workers to share."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(1024)
    sock.setblocking(False)
    return sock


#: What a slot of the shared load array holds while its worker is not
#: running: larger than any real count, so nobody waits for that worker.
_ABSENT = 1 << 30


class _BalancedServer(TcpWSGIServer):
    """A waitress server that accepts only while it is among the least loaded.

    `loads` is shared by all workers; slot `slot` is this worker's count of
    open client connections. waitress asks `readable()` before each poll of
    its sockets; answering False leaves a new connection in the shared queue
    for a worker with fewer. Counts are refreshed on every pass of the event
    loop (at least once a second), so a stale count only delays accepting.
    (Built on waitress's `TcpWSGIServer`, the class `create_server` makes for
    a TCP socket; waitress is pinned below 4 for that reason.)
    """

    def __init__(self, app, sock: socket.socket, loads, slot: int, threads: int) -> None:
        self.loads, self.slot = loads, slot
        adj = Adjustments(sockets=[sock], threads=threads, ident="archivist")
        dispatcher = ThreadedTaskDispatcher()
        dispatcher.set_thread_count(adj.threads)
        super().__init__(app, {}, True, sock, dispatcher=dispatcher, adj=adj,
                         bind_socket=False,
                         sockinfo=(sock.family, sock.type, sock.proto, sock.getsockname()))

    def connections(self) -> int:
        """Client connections this worker holds now."""
        return sum(1 for d in list(self._map.values()) if isinstance(d, HTTPChannel))

    def readable(self) -> bool:
        if not super().readable():  # waitress's own housekeeping and limits
            return False
        mine = self.connections()
        self.loads[self.slot] = mine
        return mine <= min(self.loads)


class _Supervisor:
    """The parent process of a pre-fork server: start, restart and stop workers."""

    def __init__(self, listener: socket.socket, make_app: Callable[[], Flask],
                 threads: int, workers: int) -> None:
        self.listener = listener
        self.make_app, self.threads, self.workers = make_app, threads, workers
        # One slot per worker; shared memory without a lock (each worker
        # writes only its own slot, and a torn read only delays an accept).
        self.loads = multiprocessing.RawArray("l", [_ABSENT] * workers)
        self.children: dict[int, tuple[float, int]] = {}
        self.stopping = False

    def run(self) -> None:
        previous = signal.signal(signal.SIGTERM, self._stop)
        try:
            for slot in range(self.workers):
                self._spawn(slot)
            while self.children:
                try:
                    pid, _status = os.wait()
                except ChildProcessError:
                    break
                except KeyboardInterrupt:
                    self._stop()
                    continue
                started, slot = self.children.pop(pid, (None, None))
                if slot is None:
                    continue
                self.loads[slot] = _ABSENT
                if not self.stopping:
                    if started is not None and time.monotonic() - started < MIN_WORKER_LIFE:
                        time.sleep(MIN_WORKER_LIFE)
                    self._spawn(slot)
        finally:
            signal.signal(signal.SIGTERM, previous)
            self._stop()
            self.listener.close()

    def _spawn(self, slot: int) -> None:
        pid = os.fork()
        if pid == 0:  # the worker
            code = 0
            try:
                signal.signal(signal.SIGTERM, signal.SIG_DFL)
                signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent stops us
                if not die_with_parent() and os.getppid() == 1:
                    raise SystemExit("the supervisor is gone")
                limit_malloc_arenas()
                server = _BalancedServer(self.make_app(), self.listener, self.loads, slot,
                                         self.threads)
                self.loads[slot] = 0
                settle_heap()
                server.run()
            except BaseException as e:  # noqa: BLE001 -- say why, then leave without cleanup
                print(f"archivist worker {os.getpid()} stopped: {e!r}", file=sys.stderr,
                      flush=True)
                code = 1
            finally:
                os._exit(code)
        self.children[pid] = (time.monotonic(), slot)

    def _stop(self, *_args) -> None:
        self.stopping = True
        for pid in list(self.children):
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                self.children.pop(pid, None)
        deadline = time.monotonic() + 10
        while self.children and time.monotonic() < deadline:
            try:
                pid, _ = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid:
                self.children.pop(pid, None)
            else:
                time.sleep(0.05)
        for pid in list(self.children):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.children.clear()
