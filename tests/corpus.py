"""A deterministic generated corpus of page dumps, for tests and benchmarks.

Real corpora live in ../shared and may be absent; this one is made on the
spot from a seed, so every machine builds exactly the same files.
"""

from __future__ import annotations

import datetime as dt
import random
from pathlib import Path

WORDS = (
    "oil gas energy market price tariff trade export import bank rate inflation "
    "coalition summit election parliament minister budget water river drought "
    "harvest wheat grain shipping port railway transport city housing health "
    "hospital vaccine climate emission carbon solar wind nuclear treaty border "
    "security defence diplomacy sanction currency dollar euro growth recession "
    "industry steel copper gold mining labour union strike court reform policy"
).split()
TAGS = ("energy", "trade", "politics", "economy", "climate", "security", "health", "transport")
KINDS = ("Analysis", "Interview", "Opinion", "News")


def page_dump(i: int, rng: random.Random, paragraphs: int = 4) -> str:
    """One page dump in the seed's shape, numbered `i`."""
    date = dt.date(2015, 1, 1) + dt.timedelta(days=rng.randrange(0, 3650))
    tags = rng.sample(TAGS, rng.randint(1, 3))
    title = f"Report {i}: " + " ".join(rng.choice(WORDS) for _ in range(5)).capitalize()
    kind = rng.choice(KINDS)
    paras = []
    for p in range(paragraphs):
        words = [rng.choice(WORDS) for _ in range(rng.randint(40, 90))]
        text = " ".join(words).capitalize() + "."
        if p == 0:
            text = f"Generated Review – {kind}: {text} Marker{i}."
        paras.append(text)
    return f"{title}\n\n{date:%Y/%m/%d} | {', '.join(tags)}\n\n" + "\n\n".join(paras) + "\n"


def write_corpus(folder: Path, count: int, seed: int = 1987, start: int = 0) -> list[Path]:
    """Write `count` page dumps numbered from `start` into `folder`."""
    rng = random.Random(seed + start)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(start, start + count):
        path = folder / f"article-{i:06d}.txt"
        path.write_text(page_dump(i, rng), encoding="utf-8")
        paths.append(path)
    return paths
