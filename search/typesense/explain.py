""""Why this result" on a Typesense cluster: what its text match saw.

Typesense orders a search's hits by one packed number, its text match: first
by how many of the search's words an article holds, then by how close
together they stand, in which field (the title is listed before the text,
so it weighs more) and how many fields hold them, and then newest first
(`search.typesense.engine`). It does not add up a score per word, so,
unlike the embedded engine's explanation (`search.embedded.explain`), this
one cannot take the number apart. It shows the number whole, what Typesense
reported about it (`text_match_info`), and, read by Archivist's own analyzer
from the article's stored title and text, where each of the search's words
occurs and how often: the same counting the embedded engine explains with.
The parts add up to the hit's score like any explanation's: the reported
match carries the whole number and the word counts carry none.

The cost is one analysis of each shown hit's title and text (as its
snippets already need) and a pass over those terms per word of the search.
"""

from __future__ import annotations

from collections.abc import Sequence

from index.analysis import terms, units
from search import plan as p
from search.results import Explanation

#: Typesense's default weight of each `query_by` field, in the order the
#: engine lists them (`title_terms,body_terms`): the first field weighs most.
FIELD_BY_WEIGHT = {15: "title", 14: "text"}


def explain(info: dict | None, score: float | None, words: Sequence[p.Word],
            title: str, body: str, language: str | None, tags: dict[str, str], *,
            by_text: bool) -> Explanation:
    """The explanation of one hit whose text match was `score` with
    `info` (Typesense's `text_match_info`; None when the hit was not
    ranked by text), for the search's `words` (`search.plan.plan_words`);
    `tags` are the article's, key → label."""
    texts = (("title", _Terms(terms(title, language))), ("text", _Terms(terms(body, language))))
    found = [_occurrences(w, texts, language, tags) for w in words]
    if not by_text:
        return Explanation("ordered by date, not by its words (the words are shown as read "
                           "from the article)", 0.0, found)
    if score is None or info is None:
        return Explanation("found by the search but not by Typesense's text match of the "
                           "title and text (by a tag, say): placed after the articles the "
                           "text match ranked, newest first", 0.0, found)
    matched = int(info.get("tokens_matched") or 0)
    fields = int(info.get("fields_matched") or 0)
    weight = info.get("best_field_weight")
    best = FIELD_BY_WEIGHT.get(int(weight)) if weight is not None else None
    summary = (f"Typesense matched {matched} of the search's words in {fields} "
               f"field{'' if fields == 1 else 's'}"
               + (f", best in the {best}" if best else "")
               + "; its text match ranks by words matched first, then by their "
                 "closeness and field")
    return Explanation(f"Typesense's text match {int(score):,}, compared whole (not a sum "
                       "of word scores), then newest first", float(score),
                       [Explanation(summary, float(score)), *found])


def _occurrences(word: p.Word, texts: tuple[tuple[str, _Terms], ...],
                 language: str | None, tags: dict[str, str]) -> Explanation:
    """Where `word` occurs in the article (`texts`: each field's name and
    index terms, analyzed in the article's language)."""
    spelled = units(word.text, language)
    parts = spelled[0].parts if len(spelled) == 1 and spelled[0].parts else word.parts
    where = [f"{_times(n)} in the {name}" for name, found in texts
             if (n := found.count(parts))]
    if word.tag in tags and "tags" in word.fields:
        where.append(f"the tag “{tags[word.tag]}”")
    return Explanation(f"“{word.text}”: {', '.join(where) or 'not in the title or text'}", 0.0)


class _Terms:
    """A field's index terms, in order, with where each occurs."""

    def __init__(self, found: list[str]) -> None:
        self.found = found
        self.places: dict[str, list[int]] = {}
        for i, t in enumerate(found):
            self.places.setdefault(t, []).append(i)

    def count(self, parts: Sequence[str]) -> int:
        """How many times `parts` stand in a row (a written compound's parts
        follow it at once, so "al-Qaeda" and "al Qaeda" both count); the
        cost is the first part's occurrences."""
        if not parts:
            return 0
        found, k = self.found, len(parts)
        return sum(1 for i in self.places.get(parts[0], ())
                   if tuple(found[i:i + k]) == tuple(parts))


def _times(n: int) -> str:
    return "once" if n == 1 else f"{n} times"
