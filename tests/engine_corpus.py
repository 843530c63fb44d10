"""The engine tests' corpus: 124 articles whose every answer can be computed.

120 English articles are made from a seeded generator: each body names four
of `WORDS` in four sentences and repeats the first in a second paragraph;
every tenth article is undated, the rest fall between 2021 and mid-2023,
with zero to three of `TAGS`. Then two Persian articles (Persian yeh and
keheh, Persian digits; one undated) and two articles about interest rates,
one holding the phrase and one the same words apart.

A test computes what a search must return from `CORPUS` itself (which
articles contain a word, how many carry a tag, which are undated), so a
query form, a facet or a sort is checked against brute force rather than
against figures written down once. It lives in a module of its own so that
every engine's tests can share it without importing another test module.
"""

from __future__ import annotations

import datetime as dt
import random

from index.article import Article
from index.normalize import normalize_tags

WORDS = ["oil", "wheat", "bank", "england", "election", "coffee", "frost", "brazil",
         "market", "delegation", "negotiation", "harvest", "currency", "shipping"]
TAGS = ["Energy", "Grain", "Top News", "Finance", "Politics", "Weather", "Trade"]


def make_corpus() -> list[Article]:
    """The corpus, the same on every run (the generator is seeded)."""
    rnd = random.Random(7)
    arts = []
    for i in range(120):
        words = rnd.sample(WORDS, 4)
        body = " ".join(
            f"The {w} report number {i} was discussed at length by officials." for w in words
        ) + f"\n\nA second paragraph mentions {words[0]} again."
        date = None if i % 10 == 0 else dt.date(2021, 1, 1) + dt.timedelta(days=rnd.randrange(900))
        arts.append(Article(
            id=f"a{i}", source=f"/src/a{i}.txt", title=f"{words[0].title()} story {i}",
            body=body, date=date, tags=normalize_tags(rnd.sample(TAGS, rnd.randrange(0, 4))),
            kind="news", language="en",
        ))
    # Persian articles: Persian yeh/keheh in the text.
    arts.append(Article(id="fa1", source="/src/fa1.txt", title="گزارش کتاب یکم",
                        body="این کتاب در سال ۱۴۰۱ منتشر شد. کتاب درباره تاریخ است.",
                        date=dt.date(2022, 5, 28), tags=normalize_tags(["کتاب"]), language="fa"))
    arts.append(Article(id="fa2", source="/src/fa2.txt", title="خبر دیگر",
                        body="هیچ ربطی به موضوع ندارد.", date=None, language="fa"))
    # Two articles sharing one phrase, one with the words apart.
    arts.append(Article(id="p1", source="/src/p1.txt", title="Rates",
                        body="Interest rates rose sharply.", date=dt.date(2022, 5, 3)))
    arts.append(Article(id="p2", source="/src/p2.txt", title="Rates again",
                        body="Rates of interest were flat.", date=dt.date(2022, 5, 4)))
    return arts


CORPUS = make_corpus()
