"""What the console's templates print: charts measured, times and sizes worded.

The health page's two bar charts are inline SVG whose every coordinate is
computed here (`year_chart`, `tag_chart`), so the templates only print
numbers and the charts can be tested without a browser. A job's state
becomes a `JobView` with its percentages, rate, time left and failures
ready to show. A history entry becomes a `HistoryRow` with its real
outcome: green "Done" only when nothing failed, "Finished, N failed" in the
warning tone otherwise. Nothing here reads the index or renders markup.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from index.health import Count
from index.history import Entry
from index.jobs import DONE, FAILED, INTERRUPTED, RUNNING, JobState
from index.upload import MAX_REFUSED_LISTED, human_size

#: Failures listed on a job's summary; the rest are counted.
MAX_FAILURES_SHOWN = 200

# -- charts -------------------------------------------------------------------------


@dataclass
class Bar:
    """One bar in chart coordinates, with the words a reader sees for it."""

    x: float
    y: float
    width: float
    height: float
    label: str
    count: int
    #: Where the label is drawn, and where the count is drawn.
    label_x: float = 0.0
    label_y: float = 0.0
    count_x: float = 0.0
    count_y: float = 0.0

    @property
    def description(self) -> str:
        return f"{self.label}: {self.count:,} article" + ("" if self.count == 1 else "s")


@dataclass
class Chart:
    """An SVG bar chart: its viewBox size, its bars, and a text alternative."""

    title: str
    width: int
    height: int
    bars: list[Bar] = field(default_factory=list)
    #: Labels under a column chart (a subset when there are many columns).
    axis: list[Bar] = field(default_factory=list)
    baseline: float = 0.0
    empty_text: str = "Nothing to show yet."

    @property
    def summary(self) -> str:
        return "; ".join(b.description for b in self.bars)


#: Column chart of articles per year.
YEAR_W, YEAR_H, YEAR_AXIS, YEAR_TOP = 640, 240, 24, 20
#: Most year labels drawn under the columns.
YEAR_LABELS = 12


def year_chart(years: list[Count]) -> Chart:
    """Articles per year as columns, the count above each and years under them."""
    chart = Chart("Articles per year", YEAR_W, YEAR_H, baseline=YEAR_H - YEAR_AXIS,
                  empty_text="No article has a date yet.")
    if not years:
        return chart
    n = len(years)
    gap = 6 if n < 40 else 2
    width = (YEAR_W - gap * (n - 1)) / n
    top = max(c.count for c in years) or 1
    plot = YEAR_H - YEAR_AXIS - YEAR_TOP
    step = max(1, math.ceil(n / YEAR_LABELS))
    for i, c in enumerate(years):
        h = max(plot * c.count / top, 2.0) if c.count else 0.0
        x = i * (width + gap)
        bar = Bar(
            x=round(x, 2), y=round(YEAR_H - YEAR_AXIS - h, 2), width=round(width, 2),
            height=round(h, 2), label=c.label, count=c.count,
            label_x=round(x + width / 2, 2), label_y=YEAR_H - 6,
            count_x=round(x + width / 2, 2), count_y=round(YEAR_H - YEAR_AXIS - h - 4, 2),
        )
        chart.bars.append(bar)
        if i % step == 0 or i == n - 1:
            chart.axis.append(bar)
    return chart


#: Row chart of the top tags.
TAG_W, TAG_ROW, TAG_LABEL, TAG_COUNT = 640, 26, 190, 64


def tag_chart(tags: list[Count]) -> Chart:
    """The top tags as rows: the label at the left, the bar, then its count."""
    chart = Chart("Top tags", TAG_W, max(len(tags), 1) * TAG_ROW,
                  empty_text="No article has a tag yet.")
    if not tags:
        return chart
    top = max(c.count for c in tags) or 1
    room = TAG_W - TAG_LABEL - TAG_COUNT
    for i, c in enumerate(tags):
        w = max(room * c.count / top, 2.0)
        y = i * TAG_ROW
        chart.bars.append(Bar(
            x=TAG_LABEL, y=y + 4, width=round(w, 2), height=TAG_ROW - 8,
            label=_shorten(c.label, 28), count=c.count,
            label_x=TAG_LABEL - 8, label_y=y + TAG_ROW / 2 + 5,
            count_x=round(TAG_LABEL + w + 6, 2), count_y=y + TAG_ROW / 2 + 5,
        ))
    return chart


def _shorten(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


# -- jobs ---------------------------------------------------------------------------

STATUS_WORDS = {
    RUNNING: "Running",
    DONE: "Finished",
    FAILED: "Failed",
    INTERRUPTED: "Interrupted",
}


@dataclass
class JobView:
    """A job's state worded for the console."""

    state: JobState
    status: str
    #: CSS tone of the status badge: the job's status, or "warn" when it
    #: finished with failed files (done, but not all green).
    tone: str
    running: bool
    percent: int
    progress_text: str
    rate_text: str
    eta_text: str
    counts: list[tuple[str, int]]
    #: (where, reason, path) of each failed file listed.
    failures: list[tuple[str, str, str]]
    more_failures: int
    warnings: int
    extra: list[tuple[str, str]]


def job_view(state: JobState) -> JobView:
    summary = state.summary or {}
    failures = [
        (_where(f), str(f.get("reason", "")), str(f.get("path", "")))
        for f in summary.get("failures", []) if isinstance(f, dict)
    ]
    counts = [(k, int(summary.get(k, 0))) for k in
              ("added", "updated", "unchanged", "removed", "failed")] if state.kind != \
        "optimize" else []
    extra: list[tuple[str, str]] = []
    if state.kind == "optimize" and summary:
        extra = [
            ("Segments", f"{summary.get('segments_before')} → {summary.get('segments_after')}"),
            ("Size on disk", f"{human_size(summary.get('bytes_before', 0))} → "
                             f"{human_size(summary.get('bytes_after', 0))}"),
        ]
    elif summary:
        extra = [("Articles in the index", f"{summary.get('articles', 0):,}"),
                 ("Files looked at", f"{summary.get('files', 0):,}")]
    if state.running and state.total == 0:
        progress = "Looking for files…"
    else:
        progress = f"{state.done:,} of {state.total:,} files"
    return JobView(
        state=state,
        status=_status_words(state, len(failures)),
        tone="warn" if state.status == DONE and failures else state.status,
        running=state.running,
        percent=state.percent,
        progress_text=progress,
        rate_text=f"{state.rate:,.1f} files/s" if state.rate else "–",
        eta_text=duration(state.eta) if state.running and state.eta is not None else "–",
        counts=counts,
        failures=failures[:MAX_FAILURES_SHOWN],
        more_failures=max(len(failures) - MAX_FAILURES_SHOWN, 0),
        warnings=len(summary.get("warnings", [])),
        extra=extra,
    )


def _status_words(state: JobState, failed: int) -> str:
    words = STATUS_WORDS.get(state.status, state.status)
    if state.status == DONE and failed:
        return f"{words}, {failed:,} failed"
    return words


def outcome(status: str, failed: int) -> tuple[str, str]:
    """A finished run's outcome in words, and its badge tone.

    Green "Done" only when nothing failed; a run that finished with failed
    files is "Finished, N failed" in the warning tone, as its job page says.
    """
    if status == DONE:
        return (f"Finished, {failed:,} failed", "warn") if failed else ("Done", DONE)
    return STATUS_WORDS.get(status, status), status


@dataclass
class HistoryRow:
    """A history entry worded for the console, with its failed files ready to list."""

    entry: Entry
    outcome: str
    tone: str
    changes: str
    #: (where, reason, path) of each kept failed file.
    failures: list[tuple[str, str, str]]
    #: Failed files counted but not kept with the entry.
    more_failures: int


def history_row(entry: Entry) -> HistoryRow:
    words, tone = outcome(entry.status, entry.failed)
    failures = [(_where(f), str(f.get("reason", "")), str(f.get("path", "")))
                for f in entry.failures if isinstance(f, dict)]
    return HistoryRow(entry, words, tone, entry.changes(), failures,
                      max(entry.failed - len(failures), 0))


def history_rows(entries: list[Entry]) -> list[HistoryRow]:
    return [history_row(e) for e in entries]


@dataclass(frozen=True)
class Destination:
    """A folder an upload may go to, as the upload form offers it."""

    path: str
    articles: int
    #: The uploads folder of the instance, chosen unless the librarian picks another.
    default: bool = False

    @property
    def label(self) -> str:
        kind = "Uploads folder" if self.default else "Source"
        return f"{kind}: {self.path} ({self.articles:,} articles)"


def bounded(items: list, more: int = 0, limit: int = MAX_REFUSED_LISTED) -> tuple[list, int]:
    """The first `limit` of `items`, and how many are left unlisted (`more` already were)."""
    return items[:limit], more + max(len(items) - limit, 0)


def _where(f: dict) -> str:
    line = f.get("line")
    return f"{f.get('path', '')}:{line}" if line is not None else str(f.get("path", ""))


def duration(seconds: float | None) -> str:
    """`42 s`, `3 min 5 s`, `1 h 2 min`."""
    if seconds is None:
        return "–"
    s = int(round(seconds))
    if s < 60:
        return f"{s} s"
    m, s = divmod(s, 60)
    if m < 60:
        return f"{m} min {s} s" if s else f"{m} min"
    h, m = divmod(m, 60)
    return f"{h} h {m} min" if m else f"{h} h"


def when(stamp: str | None) -> str:
    """An ISO timestamp as `2024-05-28 14:03` (the server's local time)."""
    if not stamp:
        return "never"
    return stamp[:16].replace("T", " ")
