"""Running one index job at a time in the background of a long-lived process.

The web console starts indexing runs, rebuilds, uploads and merges of
segments while readers keep searching, so the work happens on a thread of
the server process and the pages only look at its state: files done out of
the total, the rate, the time left, and at the end the summary with every
failed file and its reason. `JobRunner` holds that state, refuses a second
job while one runs (`JobBusy`), and writes the state to `job.json` in the
index folder as it goes.

The process running a job holds an exclusive `flock` on `job.lock` for as
long as the job runs; the kernel drops it when that process ends, however it
ends. So every worker process of a pre-fork server (and every restart)
agrees on what is happening: a runner that is not running the job itself
reads `job.json`, a job is refused while the lock is held elsewhere, and a
file that says "running" while nobody holds the lock belonged to a process
that died mid-run (stopped, killed, or crashed): it is reported as
interrupted, once. Nothing needs repairing: the writer only ever makes
committed work visible, so the index is as it was at its last commit, and
running the job again does what was left.

Each finished job is also logged in the history (`index.history`), kept
in the index folder by default. Runs that do not go through a runner (the
command line's `archivist index`) are logged there too, by `logged_run`,
so the history holds every run whoever started it.

This module never decides what a job does to the index; it runs a function
it is given (see `index_work`, `optimize_work`) and keeps its score.
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import fcntl
import logging
import os
import secrets
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from index import folder, history
from index.protocol import WriteEngine
from index.writer import IndexOptions, Progress, update

JOB_FILE = "job.json"
JOB_LOCK = "job.lock"

RUNNING = "running"
DONE = "done"
FAILED = "failed"
INTERRUPTED = "interrupted"

#: Least time between two writes of the state file while a job runs, in seconds.
SAVE_EVERY = 0.5

INTERRUPTED_REASON = (
    "The server stopped while this job was running. The index is as it was at its "
    "last commit; start the job again to finish the work."
)

log = logging.getLogger(__name__)

#: A job's work: given a progress callback, do it and return the summary as JSON data.
Work = Callable[[Callable[[Progress], None]], dict]


@dataclass
class JobState:
    """Where the current (or last) job is, as plain data a page can show."""

    id: str
    kind: str
    label: str
    who: str
    status: str
    started: str
    finished: str | None = None
    done: int = 0
    total: int = 0
    #: The file being worked on.
    path: str = ""
    #: Files per second so far.
    rate: float = 0.0
    #: Seconds still to go at that rate, None until it can be estimated.
    eta: float | None = None
    seconds: float = 0.0
    summary: dict | None = None
    error: str | None = None
    roots: list[str] = field(default_factory=list)

    @property
    def running(self) -> bool:
        return self.status == RUNNING

    @property
    def percent(self) -> int:
        if self.status == DONE:
            return 100
        return int(100 * self.done / self.total) if self.total else 0

    def to_json(self) -> dict:
        data = dataclasses.asdict(self)
        data["percent"] = self.percent
        return data

    @classmethod
    def from_json(cls, data: dict) -> JobState:
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


class JobBusy(Exception):
    """A job is already running; `state` says which."""

    def __init__(self, state: JobState) -> None:
        super().__init__(f"a job is already running: {state.label} (started {state.started})")
        self.state = state


class JobRunner:
    """One index folder's background job: at most one at a time, state on disk.

    Create one per index folder and process (see `runner_for`); creating it
    reads the last job's state and reports a job left running as interrupted.
    """

    def __init__(self, index_dir: Path, history_dir: Path | None = None,
                 history_keep: int = history.DEFAULT_KEEP) -> None:
        self.index_dir = Path(index_dir)
        self.history_dir = Path(history_dir) if history_dir else self.index_dir
        self.history_keep = history_keep
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        #: The open, flocked job.lock while this runner runs a job.
        self._job_fd: int | None = None
        self._started_at = 0.0
        self._saved_at = 0.0
        self._state = self._load()

    # -- looking -------------------------------------------------------------

    def state(self) -> JobState | None:
        """A copy of the current or last job's state (None before the first job).

        While this runner runs the job, its own live state; otherwise what
        the state file says, whichever process wrote it.
        """
        with self._lock:
            if self._job_fd is None:
                self._state = self._load()
            return dataclasses.replace(self._state) if self._state else None

    def busy(self) -> bool:
        state = self.state()
        return state is not None and state.running

    def wait(self, timeout: float | None = None) -> JobState | None:
        """Block until the running job (if any) ends, or `timeout` passes."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
        return self.state()

    # -- starting ------------------------------------------------------------

    def start(self, kind: str, label: str, work: Work, who: str = "",
              roots: Sequence[str] = ()) -> JobState:
        """Start `work` on a background thread; raise `JobBusy` if a job runs.

        "Runs" means anywhere: in this process or in another one holding the
        job lock.
        """
        with self._lock:
            fd = self._job_fd if self._job_fd is not None else _try_lock(self.index_dir)
            if fd is None or self._job_fd is not None:
                current = self._load() if self._job_fd is None else self._state
                raise JobBusy(dataclasses.replace(current) if current else JobState(
                    id="", kind="", label="another job", who="", status=RUNNING,
                    started=_now()))
            self._job_fd = fd
            previous = _read_state(self.index_dir)
            if previous is not None and previous.running:
                self._mark_interrupted(previous)  # its process died; say so once
            self._state = JobState(
                id=secrets.token_hex(6), kind=kind, label=label, who=who, status=RUNNING,
                started=_now(), roots=[str(r) for r in roots],
            )
            self._started_at = time.monotonic()
            self._save_locked()
            state = dataclasses.replace(self._state)
            self._thread = threading.Thread(
                target=self._run, args=(work,), name=f"archivist-job-{state.id}", daemon=True
            )
            self._thread.start()
        return state

    # -- the job's thread ------------------------------------------------------

    def _run(self, work: Work) -> None:
        summary: dict | None = None
        error: str | None = None
        try:
            summary = work(self._progress)
        except folder.LockTimeout as e:
            error = f"The index is busy: {e}. Try again when the other run has finished."
        except Exception as e:  # noqa: BLE001 -- a failed job is reported, never lost
            log.exception("index job failed")
            error = f"The job failed: {type(e).__name__}: {e}"
        with self._lock:
            state = self._state
            assert state is not None
            state.seconds = round(time.monotonic() - self._started_at, 3)
            state.finished = _now()
            state.summary = summary
            state.error = error
            state.status = FAILED if error else DONE
            state.eta = 0.0 if not error else None
            # Logged before the final state is published, so whoever sees the
            # job ended also finds it in the history.
            self._log(dataclasses.replace(state))
            self._save_locked()
            # The final state is on disk before the lock is let go, so no
            # other process can mistake this job for an interrupted one.
            fd, self._job_fd = self._job_fd, None
            if fd is not None:
                os.close(fd)

    def _progress(self, p: Progress) -> None:
        with self._lock:
            state = self._state
            if state is None:
                return
            elapsed = max(time.monotonic() - self._started_at, 1e-6)
            state.done, state.total, state.path = p.done, p.total, p.path
            state.rate = round(p.done / elapsed, 2)
            state.eta = round((p.total - p.done) / state.rate, 1) if state.rate > 0 else None
            state.seconds = round(elapsed, 3)
            if time.monotonic() - self._saved_at >= SAVE_EVERY or p.done == p.total:
                self._save_locked()

    # -- the state file ------------------------------------------------------

    def _save_locked(self) -> None:
        self._saved_at = time.monotonic()
        if self._state is not None:
            folder.write_json(self.index_dir, JOB_FILE, self._state.to_json())

    def _load(self) -> JobState | None:
        """The state file's job; one left "running" by a dead process becomes interrupted."""
        state = _read_state(self.index_dir)
        if state is None or not state.running:
            return state
        fd = _try_lock(self.index_dir)
        if fd is None:
            return state  # its process holds the lock: it really is running
        try:
            # Read again under the lock: the job may have ended (or another
            # process marked it) between the first read and the lock.
            state = _read_state(self.index_dir)
            if state is not None and state.running:
                self._mark_interrupted(state)
        finally:
            os.close(fd)
        return state

    def _mark_interrupted(self, state: JobState) -> None:
        """Record that `state`'s job died with its process (caller holds the job lock)."""
        state.status = INTERRUPTED
        state.finished = _now()
        state.error = INTERRUPTED_REASON
        state.eta = None
        folder.write_json(self.index_dir, JOB_FILE, state.to_json())
        self._log(state)

    def _log(self, state: JobState) -> None:
        record(self.history_dir, state, keep=self.history_keep)


def record(history_dir: Path, state: JobState, via: str = "console",
           keep: int = history.DEFAULT_KEEP) -> None:
    """Log a finished job in the history of `history_dir`; a failure to write is only logged."""
    summary = state.summary or {}
    counts = {k: summary.get(k, 0) for k in ("added", "updated", "unchanged", "removed")}
    failures = [f for f in summary.get("failures", []) if isinstance(f, dict)]
    entry = history.Entry(
        job=state.id, kind=state.kind, label=state.label, who=state.who,
        started=state.started, finished=state.finished or _now(), seconds=state.seconds,
        status=state.status, articles=summary.get("articles"), error=state.error,
        roots=list(state.roots), failed=int(summary.get("failed", len(failures))),
        via=via, failures=failures[:history.MAX_FAILURES_KEPT], **counts,
    )
    try:
        history.append(history_dir, entry, keep)
    except OSError:
        log.exception("could not write the job history")


@dataclass
class LoggedRun:
    """A run logged by `logged_run`: set `summary` (JSON data) once the work is done."""

    summary: dict | None = None


@contextlib.contextmanager
def logged_run(history_dir: Path, kind: str, label: str, who: str,
               roots: Sequence[str] = (), via: str = "command line",
               keep: int = history.DEFAULT_KEEP) -> Iterator[LoggedRun]:
    """Log the run done inside the `with` block in the history, however it ends.

    For runs that no `JobRunner` runs (the command line). A block that
    raises is logged as failed (a held lock, an error) or interrupted
    (Ctrl-C), and the exception goes on.
    """
    run = LoggedRun()
    state = JobState(id=secrets.token_hex(6), kind=kind, label=label, who=who,
                     status=RUNNING, started=_now(), roots=[str(r) for r in roots])
    began = time.monotonic()
    try:
        yield run
    except KeyboardInterrupt:
        state.status, state.error = INTERRUPTED, (
            "Stopped before it finished. The index is as it was at its last commit; run it "
            "again to finish the work.")
        raise
    except folder.LockTimeout as e:
        state.status = FAILED
        state.error = f"The index is busy: {e}. Try again when the other run has finished."
        raise
    except Exception as e:
        state.status, state.error = FAILED, f"The run failed: {type(e).__name__}: {e}"
        raise
    else:
        state.status = DONE
    finally:
        state.summary = run.summary
        state.seconds = round(time.monotonic() - began, 3)
        state.finished = _now()
        record(Path(history_dir), state, via=via, keep=keep)


def describe_run(roots: Sequence[str], rebuild: bool) -> tuple[str, str]:
    """The kind and label of an indexing run over `roots` (all known roots when empty)."""
    where = ", ".join(str(r) for r in roots) if roots else "all indexed folders"
    if rebuild:
        return "rebuild", f"Rebuild the index ({where})"
    return "reindex", f"Index {where}"


def _read_state(index_dir: Path) -> JobState | None:
    data = folder.read_json(index_dir, JOB_FILE, None)
    if not isinstance(data, dict):
        return None
    try:
        return JobState.from_json(data)
    except TypeError:
        return None


def _try_lock(index_dir: Path) -> int | None:
    """An open descriptor holding the job lock, or None if another holds it."""
    index_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(index_dir / JOB_LOCK, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as e:
        os.close(fd)
        if e.errno in (errno.EAGAIN, errno.EACCES):
            return None
        raise
    return fd


# One runner per index folder and process, so every app (and every request
# thread) built over the same folder sees the same job.
_RUNNERS: dict[str, JobRunner] = {}
_RUNNERS_LOCK = threading.Lock()


def runner_for(index_dir: Path, history_dir: Path | None = None,
               history_keep: int = history.DEFAULT_KEEP) -> JobRunner:
    """This process's runner for `index_dir`, created (and its state loaded) on first use."""
    key = os.path.realpath(index_dir)
    with _RUNNERS_LOCK:
        runner = _RUNNERS.get(key)
        if runner is None:
            runner = _RUNNERS[key] = JobRunner(Path(key), history_dir, history_keep)
        return runner


def index_work(index_dir: Path, roots: Sequence[Path] = (), rebuild: bool = False,
               options: IndexOptions | None = None, engine: WriteEngine | None = None) -> Work:
    """The work of an indexing run over `roots` (all known roots when empty),
    into `engine` (default: the Whoosh index in `index_dir`)."""
    options = options or IndexOptions()

    def work(progress: Callable[[Progress], None]) -> dict:
        return update(index_dir, list(roots), rebuild=rebuild, options=options,
                      progress=progress, engine=engine).to_json()

    return work


def optimize_work(index_dir: Path, lock_timeout: float = 10.0) -> Work:
    """The work of merging the index's segments into one."""
    from index.embedded.health import optimize

    def work(progress: Callable[[Progress], None]) -> dict:
        progress(Progress(0, 1, str(index_dir)))
        result = optimize(index_dir, lock_timeout)
        progress(Progress(1, 1, str(index_dir)))
        return dataclasses.asdict(result)

    return work


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")
