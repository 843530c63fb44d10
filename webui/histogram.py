"""The date facet as a bar chart: geometry for an inline SVG.

The template draws what this module measures: one bar per `DateBucket`, its
rectangle in the chart's own coordinates, the link that filters to it, and
the few axis labels that fit. Keeping the arithmetic here means the template
prints numbers and never computes, and the chart can be tested without a
browser.

Nothing here touches the index or renders markup.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from search.request import SearchRequest
from search.results import DateBucket, DateFacet
from webui.links import date_choice_urls

#: The chart's coordinate box; CSS scales it to the sidebar's width.
WIDTH = 280
HEIGHT = 96
#: Room under the bars for the axis labels.
AXIS = 16
GAP = 2
#: At most this many labels under the bars, so they never overlap.
MAX_LABELS = 5

LEVEL_NOUNS = {"year": "year", "month": "month", "day": "day"}


@dataclass
class Bar:
    """One bar: its rectangle, its link, and what it says to a reader."""

    x: float
    y: float
    width: float
    height: float
    count: int
    label: str
    description: str
    url: str | None
    selected: bool


@dataclass
class AxisLabel:
    """A label under the bars; `anchor` is SVG's text-anchor, so edge labels stay inside."""

    x: float
    text: str
    anchor: str = "middle"


@dataclass
class Histogram:
    """A drawn date facet; `bars` is empty when no result has a date."""

    level: str
    title: str
    width: int = WIDTH
    height: int = HEIGHT
    baseline: float = HEIGHT - AXIS
    label_y: float = HEIGHT - 3
    bars: list[Bar] = field(default_factory=list)
    labels: list[AxisLabel] = field(default_factory=list)


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}" + ("" if n == 1 else "s")


def build(facet: DateFacet, request: SearchRequest) -> Histogram:
    """Measure the bars of `facet`; each links to `request` narrowed to its period."""
    noun = LEVEL_NOUNS.get(facet.level, facet.level)
    chart = Histogram(level=facet.level, title=f"Articles per {noun}")
    buckets = facet.buckets
    if not buckets:
        return chart
    n = len(buckets)
    plot = HEIGHT - AXIS - 4
    bar_w = max((WIDTH - GAP * (n - 1)) / n, 1.0)
    step = bar_w + GAP if n > 1 else 0.0
    if n == 1:
        bar_w = min(bar_w, WIDTH / 4)
    top = max(b.count for b in buckets) or 1
    urls = iter(date_choice_urls(request, [b.value for b in buckets if b.count]))
    for i, b in enumerate(buckets):
        # A bar with any articles stays visible however tall its neighbours are.
        h = 0.0 if b.count == 0 else max(plot * b.count / top, 3.0)
        x = i * step
        selected = (
            request.start is not None and request.end is not None
            and request.start <= b.start and b.end <= request.end
        )
        chart.bars.append(Bar(
            x=round(x, 2),
            y=round(HEIGHT - AXIS - h, 2),
            width=round(bar_w, 2),
            height=round(h, 2),
            count=b.count,
            label=b.label,
            description=f"{b.label}: {_plural(b.count, 'article')}",
            url=next(urls) if b.count else None,
            selected=selected,
        ))
    every = max(1, math.ceil(n / MAX_LABELS))
    shown = list(range(0, n, every))
    if n - 1 not in shown and n - 1 - shown[-1] >= every / 2:
        shown.append(n - 1)
    for i in shown:
        bar = chart.bars[i]
        text = _axis_text(facet.level, buckets[i])
        if i == 0 and n > 1:
            chart.labels.append(AxisLabel(x=bar.x, text=text, anchor="start"))
        elif i == n - 1 and n > 1:
            chart.labels.append(AxisLabel(x=round(bar.x + bar.width, 2), text=text,
                                          anchor="end"))
        else:
            chart.labels.append(AxisLabel(x=round(bar.x + bar.width / 2, 2), text=text))
    return chart


def _axis_text(level: str, bucket: DateBucket) -> str:
    # Under a bar there is room for a day number or a month name, not a whole date;
    # the chart's title and each bar's tooltip say the rest.
    if level == "day":
        return str(bucket.start.day)
    if level == "month":
        return f"{bucket.start:%b}"
    return bucket.label
