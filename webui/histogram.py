"""The date facet as a bar chart: geometry for an inline SVG.

The template draws what this module measures: one bar per `DateBucket`, its
rectangle in the chart's own coordinates, the link that filters to it, its
count (above the bar when every count fits, and always in the bar's tooltip
and in the table printed beside the chart), and the few axis labels that
fit. A period with no articles keeps its place on the axis as an empty,
unlinked bar. The title names the period the chart covers ("Articles per
month in 2022"), since month and day labels alone never say which year.
Keeping the arithmetic here means the template prints numbers and never
computes, and the chart can be tested without a browser.

Nothing here touches the index or renders markup.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from search.request import SearchRequest
from search.results import DateBucket, DateFacet
from webui.links import date_choice_urls, search_url

#: The chart's coordinate box; CSS scales it to the sidebar's width.
WIDTH = 280
HEIGHT = 96
#: Room under the bars for the axis labels.
AXIS = 16
GAP = 2
#: At most this many labels under the bars, so they never overlap.
MAX_LABELS = 5
#: Room over the tallest bar for its count, and the width one character of
#: a count takes (10 px digits), to tell whether counts fit over the bars.
COUNT_ROOM = 11
CHAR_WIDTH = 6.0

LEVEL_NOUNS = {"year": "year", "month": "month", "day": "day", "decade": "decade",
               "century": "century", "millennium": "millennium"}


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
    #: The count as printed, and where (over the bar's middle).
    count_text: str = ""
    count_x: float = 0.0
    count_y: float = 0.0


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
    #: Heading of the periods' column in the table of counts ("Year", "Month"...).
    period_heading: str = ""
    #: True when every count fits over its bar; else they are in tooltips and the table only.
    show_counts: bool = False
    width: int = WIDTH
    height: int = HEIGHT
    baseline: float = HEIGHT - AXIS
    label_y: float = HEIGHT - 3
    #: Where the short mark of an empty period sits, just over the axis.
    empty_y: float = HEIGHT - AXIS - 2
    empty_height: float = 2
    bars: list[Bar] = field(default_factory=list)
    labels: list[AxisLabel] = field(default_factory=list)


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}" + ("" if n == 1 else "s")


def build(facet: DateFacet, request: SearchRequest) -> Histogram:
    """Measure the bars of `facet`; each bar with articles links to `request`
    narrowed to its period."""
    noun = LEVEL_NOUNS.get(facet.level, facet.level)
    buckets = facet.buckets
    chart = Histogram(level=facet.level, title=_title(facet.level, noun, buckets),
                      period_heading=noun.capitalize())
    if not buckets:
        return chart
    n = len(buckets)
    bar_w = max((WIDTH - GAP * (n - 1)) / n, 1.0)
    step = bar_w + GAP if n > 1 else 0.0
    if n == 1:
        bar_w = min(bar_w, WIDTH / 4)
    chart.show_counts = all(len(f"{b.count:,}") * CHAR_WIDTH <= (step or WIDTH)
                            for b in buckets)
    plot = HEIGHT - AXIS - 4 - (COUNT_ROOM if chart.show_counts else 0)
    top = max(b.count for b in buckets) or 1
    urls = _urls(buckets, request)
    for i, b in enumerate(buckets):
        # A bar with any articles stays visible however tall its neighbours are.
        h = 0.0 if b.count == 0 else max(plot * b.count / top, 3.0)
        x = i * step
        selected = (
            request.start is not None and request.end is not None
            and request.start <= b.start and b.end <= request.end
        )
        y = HEIGHT - AXIS - h
        chart.bars.append(Bar(
            x=round(x, 2),
            y=round(y, 2),
            width=round(bar_w, 2),
            height=round(h, 2),
            count=b.count,
            label=b.label,
            description=f"{b.label}: {_plural(b.count, 'article') if b.count else 'no articles'}",
            url=urls[i],
            selected=selected,
            count_text=f"{b.count:,}",
            count_x=round(x + bar_w / 2, 2),
            count_y=round(y - 2, 2),
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


def _title(level: str, noun: str, buckets: list[DateBucket]) -> str:
    """What the chart counts and over which period: month and day bars are
    labelled with bare month names and day numbers, so the year is said here."""
    if not buckets:
        return f"Articles per {noun}"
    first, last = buckets[0], buckets[-1]
    if level == "day":
        return f"Articles per day in {first.start:%B %Y}"
    if level == "month":
        return f"Articles per month in {first.start.year}"
    if len(buckets) == 1:
        return f"Articles in {first.label}"
    if level == "decade":
        return f"Articles per decade, {first.label}\u2013{last.label}"
    return f"Articles per {noun}, {first.start.year}\u2013{last.end.year}"


def _urls(buckets: list[DateBucket], request: SearchRequest) -> list[str | None]:
    """Each bucket's link (None for an empty one): a single period's are
    built together; a group of years (a decade) is a range of its own."""
    single = iter(date_choice_urls(request, [b.value for b in buckets
                                             if b.count and not b.value_to]))
    urls: list[str | None] = []
    for b in buckets:
        if not b.count:
            urls.append(None)
        elif not b.value_to:
            urls.append(next(single))
        else:
            try:
                urls.append(search_url(request.with_dates(*b.bounds)))
            except ValueError:  # years a reader cannot type (before 1000) stay unlinked
                urls.append(None)
    return urls


def _axis_text(level: str, bucket: DateBucket) -> str:
    # Under a bar there is room for a day number or a month name, not a whole date;
    # the chart's title and each bar's tooltip say the rest.
    if level == "day":
        return str(bucket.start.day)
    if level == "month":
        return f"{bucket.start:%b}"
    return bucket.label
