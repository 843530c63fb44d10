"""Reader's text → query plan: what the search means, decided once, for any engine.

Readers type keywords, names with punctuation in them, boolean forms and
whole questions. This module reads all of it into a *plan*, a small tree of
frozen dataclasses (`Word`, `Phrase`, `Prefix`, `Fuzzy`, `DateRange`, `Not`,
`All`, `Any`), each word already analyzed by the index's own analyzer
(`index.analysis.units`). An engine compiles the plan; it never reads the
reader's text itself, so what a hyphen or a NOT means is decided here only.

The language, as readers type it:

- plain words must all match (`oil prices`); a long question or pasted
  sentence is marked `ranked_by_most` instead, and question words and filler
  ("what", "how", "are there", "papers on") are left out of it;
- `"exact phrase"`; punctuated words (`al-Qaeda`, `U.S.`, `AT&T`,
  `1986/87`, `O'Brien`) are one `Word` whose parts make a phrase and whose
  joined form is a term of its own (see `index.analysis`); `France's` is
  France;
- `AND`, `OR`, `NOT`, `AND NOT` in capitals, `-word`, `+word`, parentheses;
  `and`, `or`, `not` in lower case are words (too common to search for);
- `title:` (`t:`), `tag:` (`tags:`) before a word, phrase or group;
  `date:2022`, `date:2022-05`, `date:[2021 to 2022-06]` (Persian solar
  years too);
- `word*` (a prefix), `word~` and `word~2` (within one or two edits).

Nothing a reader sends raises, and nothing is silently misread: what cannot
be read (an operator with nothing after it, an unbalanced quote or bracket,
a leading `*`) is dropped or read as words, and `QueryPlan.notes` says so.

**Bounded cost.** The text is read up to `MAX_CHARS`; at most `MAX_TERMS`
distinct words are kept; at most `MAX_EXPANDING` prefix or fuzzy words are
expanded (the rest are searched as written); fuzzy words must be 4 to 30
letters and are at most 2 edits away; brackets nest at most `MAX_DEPTH`
deep (deeper pairs are ignored). Parsing is one pass over the characters
and never recurses deeper than `MAX_DEPTH` groups, so any text costs time
linear in its length. The engine bounds what each prefix or fuzzy word
expands to (`MAX_EXPANSION` index words, most frequent first).

This module never touches an index and never imports an engine's library.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from functools import lru_cache

from index.analysis import STOPS, Unit, is_indexed_alone, normalize_word, units
from index.normalize import tag_key
from search.request import date_bounds

#: Characters of a search text that are read (a pasted paragraph fits).
MAX_CHARS = 4000
#: Distinct words kept from one search text.
MAX_TERMS = 200
#: Prefix and fuzzy words expanded per search (the rest are searched as written).
MAX_EXPANDING = 3
#: Index words one prefix or fuzzy word stands for at most (most frequent first).
MAX_EXPANSION = 64
#: Postings one search may read (an engine leaves out its most common words
#: beyond this; about a tenth of a second the first time after an index change).
MAX_POSTINGS = 80_000
#: Phrases checked word position by word position, per search: quoted
#: phrases and punctuated words' parts (later ones are matched otherwise).
MAX_PHRASES = 10
#: Brackets nested deeper than this are ignored.
MAX_DEPTH = 8
#: Fuzzy words: the largest edit distance, and the word lengths allowed.
MAX_EDITS = 2
FUZZY_LENGTHS = (4, 30)
#: A text of plain words with at least this many content words is ranked by
#: how many of them an article has, not required to have all.
LONG_QUERY = 4

#: The text fields a word is looked up in.
TEXT_FIELDS = ("title", "body", "tags")
_FIELD_NAMES = {"title": ("title",), "t": ("title",), "tag": ("tags",), "tags": ("tags",),
                "body": ("body",), "text": ("body",)}
_OPERATORS = {"AND", "OR", "NOT", "&&", "||"}

#: Words that make a question or a request, not what it is about.
QUESTION_WORDS = frozenset("""
    what whats which who whom whose when where why how whether
    do does did done doing is are was were be been being am has have had having
    can could should would will shall may might must
    there here any some anything something about
    i me my we our you your he she they them their it its this that these those
    find show give tell know looking look search searching need want
    please describe describes described discuss discussed discussing
    available exist exists existing pertaining concerning regarding
    """.split())

#: Words that ask for material ("papers on ...", "information about ...",
#: "articles which ..."): request words only when a word such as "on" or a
#: question word follows them. In "retrieving articles from titles" or
#: "information requests" they are what the reader asks about (an archive of
#: library science is full of them).
REQUEST_NOUNS = frozenset("""
    papers paper articles article documents document literature studies study
    references reference information reports report work works research
    """.split())
_REQUEST_TOPIC = frozenset("""
    on about concerning regarding pertaining relating related dealing describing
    discussing covering treating re
    """.split())

_QUESTION_START = re.compile(
    r"^(?:what|which|who|whom|whose|when|where|why|how|is|are|was|were|do|does|did|can|could|"
    r"should|would|will|has|have|had|any|papers?|articles?|find|show|tell|"
    r"i|i'm|we|please|describe|explain|looking|references?|literature|documents?|"
    r"(?:in|to|for|from|by|on) (?:what|which|whom))\b",
    re.IGNORECASE)

# -- the plan ---------------------------------------------------------------


@dataclass(frozen=True)
class Word:
    """One word or punctuated word, analyzed.

    `parts` are its index terms in order (a phrase when there are several);
    `joined` is a punctuated word's joined term (`u.s`), else None; `tag` is
    the tag key the word would be (folded like words). `fields` restricts
    where it is looked for. A word with neither parts nor joined form (a
    stop word) matches nothing and is left out of plans.
    """

    text: str = field(compare=False)  # "Banks" and "banks" are the same word
    parts: tuple[str, ...] = ()
    joined: str | None = None
    tag: str = ""
    fields: tuple[str, ...] = TEXT_FIELDS


@dataclass(frozen=True)
class Phrase:
    """Words that must stand together in this order (their index terms)."""

    text: str
    terms: tuple[str, ...]
    tag: str = ""
    fields: tuple[str, ...] = TEXT_FIELDS


@dataclass(frozen=True)
class Prefix:
    """Any index word starting with `prefix` (folded, not stemmed)."""

    text: str
    prefix: str
    fields: tuple[str, ...] = TEXT_FIELDS


@dataclass(frozen=True)
class Fuzzy:
    """Any index word within `distance` edits of `word` (folded), sharing its first letter."""

    text: str
    word: str
    distance: int = 1
    fields: tuple[str, ...] = TEXT_FIELDS


@dataclass(frozen=True)
class DateRange:
    """Articles dated from `start` to `end` (whole days; either may be open)."""

    start: dt.date | None
    end: dt.date | None


@dataclass(frozen=True)
class Not:
    """Articles that do not match `node`."""

    node: Node


@dataclass(frozen=True)
class All:
    """Articles matching every one of `nodes`."""

    nodes: tuple[Node, ...]


@dataclass(frozen=True)
class Any:
    """Articles matching at least one of `nodes`."""

    nodes: tuple[Node, ...]


Node = Word | Phrase | Prefix | Fuzzy | DateRange | Not | All | Any


@dataclass
class QueryPlan:
    """A search text, read.

    `root` is None for a browse (no text, or nothing searchable in it).
    `searched_for` is the plan written back as text: what was searched,
    shown whenever it differs from what was typed. `words` are the typed
    words that must or may match (not those under NOT): for spelling
    suggestions and the "showing those with most" note. `ranked_by_most`
    asks the engine to rank by how many of the words an article has.
    `notes` tell the reader what was dropped or changed.
    """

    root: Node | None
    searched_for: str
    words: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    ranked_by_most: bool = False
    question: bool = False
    #: True when some of the text could not be read as written.
    repaired: bool = False


# -- reading the text -------------------------------------------------------

_FIELD = re.compile(r"(title|t|tags?|body|text|date):", re.IGNORECASE)
_DATE_VALUE = re.compile(r"\[([^\]]*)\]|(\S+)")
_RANGE = re.compile(r"^\s*(\S*)\s+to\s+(\S*)\s*$|^\s*(\S*)\s*$", re.IGNORECASE)
_FUZZ = re.compile(r"~(\d*)$")


@dataclass
class _Tok:
    kind: str  # word, phrase, op, lparen, rparen, field, date, minus, plus
    text: str = ""
    value: object = None


class _Reader:
    """One pass over the text: tokens, then a shallow recursive descent."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.notes: list[str] = []
        self.repaired = False
        self.expanding = 0
        self.phrases = 0
        self.seen_terms: set = set()
        self.dropped_terms = False
        self._said: set[str] = set()

    def note(self, text: str) -> None:
        self.repaired = True
        if text not in self._said:
            self._said.add(text)
            self.notes.append(text)

    # -- tokens ----------------------------------------------------------

    def tokens(self) -> list[_Tok]:
        text, out, i, n = self.text, [], 0, len(self.text)
        while i < n:
            ch = text[i]
            if ch.isspace():
                i += 1
            elif ch == "(":
                out.append(_Tok("lparen"))
                i += 1
            elif ch == ")":
                out.append(_Tok("rparen"))
                i += 1
            elif ch in "\"“”„":
                end = _closing_quote(text, i + 1)
                if end < 0:
                    self.note("An unmatched quote mark was ignored.")
                    i += 1
                    continue
                out.append(_Tok("phrase", text[i + 1:end]))
                i = end + 1
            elif (ch in "-+!") and i + 1 < n and not text[i + 1].isspace() and (
                    i == 0 or text[i - 1].isspace() or text[i - 1] in "(\"“”"):
                out.append(_Tok("minus" if ch in "-!" else "plus"))
                i += 1
            else:
                m = _FIELD.match(text, i)
                if m and (i == 0 or not text[i - 1].isalnum()):
                    name = m.group(1).lower()
                    if name == "date" and (m.end() >= n or text[m.end()].isspace()):
                        self.note("'date:' with nothing after it was ignored.")
                        i = m.end()
                        continue
                    if name == "date":
                        v = _DATE_VALUE.match(text, m.end())
                        out.append(_Tok("date", v.group(0), v.group(1) if v.group(1) is not None
                                        else v.group(2)))
                        i = v.end()
                    else:
                        out.append(_Tok("field", name))
                        i = m.end()
                    continue
                j = i
                while j < n and not text[j].isspace() and text[j] not in "()\"“”":
                    j += 1
                word = text[i:j]
                i = j
                if word in _OPERATORS:
                    op = {"&&": "AND", "||": "OR"}.get(word, word)
                    out.append(_Tok("op", op))
                else:
                    out.append(_Tok("word", word))
        return self._balanced(out)

    def _balanced(self, toks: list[_Tok]) -> list[_Tok]:
        """Drop unmatched brackets and pairs nested deeper than MAX_DEPTH."""
        keep = [True] * len(toks)
        stack: list[int] = []
        depth_of: dict[int, int] = {}
        for k, t in enumerate(toks):
            if t.kind == "lparen":
                stack.append(k)
                depth_of[k] = len(stack)
            elif t.kind == "rparen":
                if not stack:
                    keep[k] = False
                    self.note("An unmatched ')' was ignored.")
                    continue
                opened = stack.pop()
                if depth_of[opened] > MAX_DEPTH:
                    keep[k] = keep[opened] = False
                    self.note(f"Brackets nested deeper than {MAX_DEPTH} were ignored.")
        for k in stack:
            keep[k] = False
            self.note("An unmatched '(' was ignored.")
        return [t for t, k in zip(toks, keep, strict=True) if k]

    # -- grammar ---------------------------------------------------------

    def parse(self) -> Node | None:
        self.toks = self.tokens()
        self.pos = 0
        node = self.either()
        while self.pos < len(self.toks):  # only a stray ')' stops early; skip it
            self.pos += 1
            more = self.either()
            node = _all([n for n in (node, more) if n is not None])
        return node

    def peek(self) -> _Tok | None:
        return self.toks[self.pos] if self.pos < len(self.toks) else None

    def at_end(self) -> bool:
        t = self.peek()
        return t is None or t.kind == "rparen" or (t.kind == "op" and t.text in ("OR", "AND"))

    def either(self) -> Node | None:
        """`a OR b OR c` (OR binds looser than the implied AND)."""
        nodes = []
        first = self.every()
        if first is not None:
            nodes.append(first)
        while (t := self.peek()) is not None and t.kind == "op" and t.text == "OR":
            self.pos += 1
            if not nodes and first is None:
                self.note("'OR' with nothing before it was ignored.")
            nxt = self.every()
            if nxt is None:
                self.note("'OR' with nothing after it was ignored.")
            else:
                nodes.append(nxt)
        return _group(Any, nodes)

    def every(self) -> Node | None:
        """Terms side by side, or joined by AND: all must match."""
        nodes: list[Node] = []
        while True:
            t = self.peek()
            if t is None or t.kind == "rparen" or (t.kind == "op" and t.text == "OR"):
                break
            if t.kind == "op" and t.text == "AND":
                self.pos += 1
                if not nodes:
                    self.note("'AND' with nothing before it was ignored.")
                elif self.at_end():
                    self.note("'AND' with nothing after it was ignored.")
                continue
            node = self.unary()
            if node is not None:
                nodes.append(node)
        return _all(nodes)

    def unary(self) -> Node | None:
        negate = saw_not = False
        while (t := self.peek()) is not None and (t.kind in ("minus", "plus")
                                                  or (t.kind == "op" and t.text == "NOT")):
            self.pos += 1
            saw_not = saw_not or t.kind == "op"
            if t.kind != "plus":
                negate = not negate  # NOT NOT x is x; iterative, so any run is cheap
        if self.at_end():
            if saw_not:
                self.note("'NOT' with nothing after it was ignored.")
            return None
        node = self.atom(TEXT_FIELDS)
        if node is None:
            return None
        return Not(node) if negate else node

    def atom(self, fields: tuple[str, ...]) -> Node | None:
        t = self.peek()
        if t is None:
            return None
        self.pos += 1
        if t.kind == "lparen":
            inner = self._group(fields)
            nxt = self.peek()
            if nxt is not None and nxt.kind == "rparen":
                self.pos += 1
            return inner
        if t.kind == "field":
            # `title:tag:x` means the last field named (read in a loop: any
            # run of field names costs no recursion).
            while (nxt := self.peek()) is not None and nxt.kind == "field":
                t = nxt
                self.pos += 1
            if self.at_end() or self.peek().kind in ("minus", "plus", "op"):
                self.note(f"'{t.text}:' with nothing after it was ignored.")
                return None
            return self.atom(_FIELD_NAMES[t.text])
        if t.kind == "date":
            return self._date(t)
        if t.kind == "phrase":
            return self._phrase(t.text, fields)
        if t.kind == "word":
            return self._word(t.text, fields)
        return None  # an operator out of place was consumed by its caller

    def _group(self, fields: tuple[str, ...]) -> Node | None:
        if fields == TEXT_FIELDS:
            return self.either()
        # A field before a group applies to every word in it.
        node = self.either()
        return _restrict(node, fields) if node is not None else None

    # -- leaves ----------------------------------------------------------

    def _date(self, t: _Tok) -> Node | None:
        value = str(t.value or "")
        if t.text.startswith("["):
            m = _RANGE.match(value)
            lo_text, hi_text = (m.group(1), m.group(2)) if m and m.group(3) is None else (
                (m.group(3), m.group(3)) if m else ("", ""))
            lo = date_bounds(lo_text) if lo_text and lo_text != "*" else None
            hi = date_bounds(hi_text) if hi_text and hi_text != "*" else None
            bad = (lo_text not in ("", "*") and lo is None) or (hi_text not in ("", "*")
                                                              and hi is None)
            if bad or (lo is None and hi is None):
                self.note(f"'date:{t.text}' is not a date range and was ignored.")
                return None
            return DateRange(lo[0] if lo else None, hi[1] if hi else None)
        bounds = date_bounds(value)
        if bounds is None:
            self.note(f"'date:{value}' is not a date and was ignored.")
            return None
        return DateRange(bounds[0], bounds[1])

    def _phrase(self, text: str, fields: tuple[str, ...]) -> Node | None:
        found = units(text)
        terms = tuple(p for u in found for p in u.parts)
        if not terms:
            if text.strip():
                self.note(f"“{text.strip()}” has only words too common to search for.")
            return None
        if not self._count(("phrase", terms)):
            return None
        if len(terms) > 1 and not (len(found) == 1 and found[0].joined):
            self.phrases += 1
            if self.phrases > MAX_PHRASES:
                self.note(f"At most {MAX_PHRASES} phrases are matched word by word; later "
                          "ones were searched as all of their words.")
                return _all([w for u in found if (w := self._unit(u, fields)) is not None])
        if len(terms) == 1 and len(found) == 1:
            u = found[0]
            return Word(u.text, u.parts, None, _tag(u.text), fields)
        return Phrase(" ".join(text.split()), terms, _tag(text), fields)

    def _word(self, raw: str, fields: tuple[str, ...]) -> Node | None:
        # Leading wildcards would have to visit every word of the archive.
        if raw.startswith(("*", "?")):
            stripped = raw.lstrip("*?")
            self.note(f"A word cannot start with '*' or '?'; searched for "
                      f"“{stripped or raw}” instead." if stripped.strip("*?") else
                      f"'{raw}' was ignored: a word cannot start with '*'.")
            raw = stripped
            if not raw.strip("*?"):
                return None
        fuzzy = _FUZZ.search(raw)
        if raw.endswith("*") and not raw.endswith("\\*"):
            return self._prefix(raw, fields)
        if fuzzy is not None and fuzzy.start() > 0:
            return self._fuzzy(raw, fuzzy, fields)
        if "*" in raw:
            self.note(f"Only a '*' at the end of a word is understood; “{raw}” was searched "
                      "as written.")
        found = units(raw)
        nodes = [w for u in found if (w := self._unit(u, fields)) is not None]
        return _all(nodes)

    def _unit(self, u: Unit, fields: tuple[str, ...]) -> Word | None:
        if not u.parts and u.joined is None:
            return None  # a stop word: not indexed, so it cannot narrow the search
        if not self._count(("word", u.parts, u.joined)):
            return None
        # A possessive is its bare word as a tag too: JAPAN'S is the tag japan.
        return Word(u.text, u.parts, u.joined, fold_tag(u.joined or u.words[0]), fields)

    def _count(self, key) -> bool:
        if key in self.seen_terms:
            return True
        if len(self.seen_terms) >= MAX_TERMS:
            if not self.dropped_terms:
                self.dropped_terms = True
                self.note(f"Only the first {MAX_TERMS} different words were searched for.")
            return False
        self.seen_terms.add(key)
        return True

    def _expanding(self, raw: str) -> bool:
        if self.expanding >= MAX_EXPANDING:
            self.note(f"At most {MAX_EXPANDING} words may end in '*' or '~'; later ones "
                      "were searched as written.")
            return False
        self.expanding += 1
        return True

    def _prefix(self, raw: str, fields: tuple[str, ...]) -> Node | None:
        stem = raw.rstrip("*")
        found = units(stem)
        if len(found) != 1 or found[0].joined is not None or "*" in stem:
            return self._word(stem.replace("*", " "), fields)
        if not self._expanding(raw):
            return self._word(stem, fields)
        folded = found[0].words[0]
        if not self._count(("prefix", folded)):
            return None
        return Prefix(found[0].text, folded, fields)

    def _fuzzy(self, raw: str, m: re.Match, fields: tuple[str, ...]) -> Node | None:
        word = raw[:m.start()]
        found = units(word)
        if len(found) != 1 or found[0].joined is not None:
            return self._word(word, fields)
        folded = found[0].words[0]
        lo, hi = FUZZY_LENGTHS
        if not lo <= len(folded) <= hi:
            self.note(f"Only words of {lo} to {hi} letters can end in '~'; “{word}” was "
                      "searched as written.")
            return self._word(word, fields)
        asked = int(m.group(1)) if m.group(1) else 1
        distance = min(max(asked, 1), MAX_EDITS)
        if asked > MAX_EDITS:
            self.note(f"“{word}~{m.group(1)}”: at most {MAX_EDITS} letters may differ; "
                      f"searched for words within {MAX_EDITS}.")
        if not self._expanding(raw):
            return self._word(word, fields)
        if not self._count(("fuzzy", folded, distance)):
            return None
        return Fuzzy(found[0].text, folded, distance, fields)


def _closing_quote(text: str, start: int) -> int:
    for k in range(start, len(text)):
        if text[k] in "\"“”„":
            return k
    return -1


def _tag(text: str) -> str:
    return fold_tag(tag_key(text))


def fold_tag(key: str) -> str:
    """A tag key folded like words, punctuation at its ends dropped: how a
    typed tag word and the index's tag keys are compared."""
    return normalize_word(key).strip(_TAG_EDGES)


_TAG_EDGES = ".,;:!?'\"()[]{}-–—/&*~ "


def _all(nodes: list[Node]) -> Node | None:
    return _group(All, nodes)


def _group(kind, nodes: list[Node]) -> Node | None:
    """`kind` (All or Any) of `nodes`, flattened (All inside All is one All)
    and without repeats; the node itself when there is one."""
    flat: list[Node] = []
    for n in nodes:
        for m in (n.nodes if isinstance(n, kind) else (n,)):
            if m not in flat:
                flat.append(m)
    if not flat:
        return None
    return flat[0] if len(flat) == 1 else kind(tuple(flat))


def _restrict(node: Node, fields: tuple[str, ...]) -> Node:
    if isinstance(node, (Word, Phrase, Prefix, Fuzzy)):
        return _replace_fields(node, fields)
    if isinstance(node, Not):
        return Not(_restrict(node.node, fields))
    if isinstance(node, (All, Any)):
        return type(node)(tuple(_restrict(c, fields) for c in node.nodes))
    return node


def _replace_fields(node, fields):
    import dataclasses

    return dataclasses.replace(node, fields=fields)


# -- the whole text -----------------------------------------------------------

#: What makes a text a query rather than words: quotes, a prefix or fuzzy
#: mark, a field, a leading sign, an operator.
_OPERATOR = re.compile(r'["“”*~]|\b(?:title|t|tags?|body|text|date):|(?:^|\s)[-+!]\S|'
                       r'\b(?:AND|OR|NOT)\b')
#: The same, or parentheses.
_SYNTAX = re.compile(f"[()]|{_OPERATOR.pattern}")


def _without_bare_parentheses(text: str) -> str:
    """`text` without its parentheses when they are asides (balanced, not
    nested) and nothing else in it is syntax.

    A group only matters beside an operator: "(heat transfer) cylinders"
    means what "heat transfer cylinders" means. A pasted sentence such as
    "stability measurements (made using free-flight models)" is therefore
    read as the words it is, and can be a question or a long text ranked by
    most words like any other sentence.
    """
    if ("(" in text or ")" in text) and not _OPERATOR.search(text) and _asides(text):
        return " ".join(text.replace("(", " ").replace(")", " ").split())
    return text  # brackets unbalanced or nested are the parser's to read, with a note


def _asides(text: str) -> bool:
    """True when every bracket of `text` closes and none is inside another."""
    depth = 0
    for c in text:
        depth += (c == "(") - (c == ")")
        if depth not in (0, 1):
            return False
    return depth == 0


def plan(text: str) -> QueryPlan:
    """Read the reader's text into a `QueryPlan`; never raises.

    An empty text (or one of only `*`) browses. See the module docstring for
    the language and for the bounds on cost.
    """
    text = " ".join((text or "").split())
    notes: list[str] = []
    if len(text) > MAX_CHARS:
        text = text[:MAX_CHARS].rsplit(" ", 1)[0] if " " in text[:MAX_CHARS] else \
            text[:MAX_CHARS]
        notes.append(f"Only the first {MAX_CHARS} characters of the search were read.")
    if not text or not text.strip("*? "):
        return QueryPlan(None, "", notes=notes)
    text = _without_bare_parentheses(text)
    question = _is_question(text)
    source, dropped = _without_question_words(text) if question else (text, [])
    reader = _Reader(source)
    try:
        root = reader.parse()
    except RecursionError:  # cannot happen with MAX_DEPTH; kept as a last line of defence
        root, reader.notes = None, ["The search was too deeply nested to read."]
    notes.extend(reader.notes)
    words = _positive_words(root)
    if root is None:
        if units(text) and not any(u.parts or u.joined for u in units(text)):
            notes.append(f"“{_short(text)}” has only words too common to search for.")
        elif not notes:
            notes.append(f"Nothing to search for in “{_short(text)}”; showing all articles.")
        return QueryPlan(None, "", [], notes, question=question, repaired=True)
    content = sum(1 for n in _leaves(root) if isinstance(n, (Word, Phrase)))
    plain = _is_plain(root)
    # One word is found alike by all and by most of the words: no ranking note.
    ranked = plain and content >= 2 and (question or content >= LONG_QUERY)
    searched = describe(root)
    if dropped:
        notes.append("Question words left out: " + ", ".join(dropped) + ".")
    return QueryPlan(root, searched, words, notes, ranked_by_most=ranked, question=question,
                     repaired=reader.repaired)


def _is_question(text: str) -> bool:
    """A question or sentence typed as it is, not keywords.

    It ends with a question mark, or it starts like a question and goes on
    for at least three more words, or it asks for material about something
    ("papers on drought"), and it uses no query syntax.
    """
    if _SYNTAX.search(text):
        return False
    words = text.split()
    if text.rstrip().endswith(("?", "؟")) and len(words) >= 2:
        return True
    if len(words) >= 3 and _asks_for_material(words):
        return True  # "papers on drought": the request says what it is about
    return bool(_QUESTION_START.match(text)) and len(words) >= 4


def _asks_for_material(words: list[str]) -> bool:
    """True when a text starts like "papers on …" or "articles about …"."""
    first, second = (normalize_word(w.strip(".,;:!")) for w in words[:2])
    return first in REQUEST_NOUNS and second in _REQUEST_TOPIC


def _question_word_places(words: list[str]) -> list[int]:
    """Which of a question's `words` (split on spaces) ask rather than say:
    `QUESTION_WORDS` anywhere, `REQUEST_NOUNS` before a word like "on" or a
    question word."""
    folded = [normalize_word(w.strip(".,;:!?؟")) for w in words]
    places = []
    for i, f in enumerate(folded):
        after = folded[i + 1] if i + 1 < len(folded) else ""
        if f in QUESTION_WORDS or (f in REQUEST_NOUNS and (after in _REQUEST_TOPIC
                                                           or after in QUESTION_WORDS)):
            places.append(i)
    return places


def _without_question_words(text: str) -> tuple[str, list[str]]:
    """A question's text without the words that ask, and those words (once
    each, stop words aside) for the reader's note."""
    words = text.replace("?", " ").replace("؟", " ").split()
    places = _question_word_places(words)
    asked = set(places)
    kept = [w for i, w in enumerate(words) if i not in asked]
    said: list[str] = []
    for i in places:
        f = normalize_word(words[i].strip(".,;:!?؟"))
        if f not in STOPS and f not in said:
            said.append(f)
    return " ".join(kept) or text, said


def _is_plain(node: Node) -> bool:
    """Words and phrases side by side, with no operator or field."""
    if isinstance(node, (Word, Phrase)):
        return node.fields == TEXT_FIELDS
    if isinstance(node, All):
        return all(_is_plain(c) and not isinstance(c, All) for c in node.nodes)
    return False


def _leaves(node: Node):
    if isinstance(node, (All, Any)):
        for c in node.nodes:
            yield from _leaves(c)
    elif isinstance(node, Not):
        yield from _leaves(node.node)
    else:
        yield node


def _positive_words(node: Node | None) -> list[str]:
    out: list[str] = []

    def walk(n):
        if isinstance(n, Not) or n is None:
            return
        if isinstance(n, (All, Any)):
            for c in n.nodes:
                walk(c)
        elif isinstance(n, Word) and n.text not in out:
            out.append(n.text)

    walk(node)
    return out


def plan_words(node: Node | None) -> list[Word]:
    """The words a search looks for, in the order typed (not those under
    NOT, nor tag-only lookups): what feedback counts as the reader's own and
    proximity is measured between. A punctuated word is one word with
    several `parts`."""
    out: list[Word] = []

    def walk(n):
        if n is None or isinstance(n, Not):
            return
        if isinstance(n, (All, Any)):
            for c in n.nodes:
                walk(c)
        elif isinstance(n, Word) and n.parts and n.fields != ("tags",):
            out.append(n)

    walk(node)
    return out


def describe(node: Node | None) -> str:
    """The plan written back in the query language (what was searched for)."""
    if node is None:
        return ""
    if isinstance(node, Word):
        return _fielded(node.text, node.fields)
    if isinstance(node, Phrase):
        return _fielded(f"“{node.text}”", node.fields)
    if isinstance(node, Prefix):
        return _fielded(f"{node.text}*", node.fields)
    if isinstance(node, Fuzzy):
        suffix = "~" if node.distance == 1 else f"~{node.distance}"
        return _fielded(f"{node.text}{suffix}", node.fields)
    if isinstance(node, DateRange):
        lo = node.start.isoformat() if node.start else ""
        hi = node.end.isoformat() if node.end else ""
        return f"date:[{lo} to {hi}]"
    if isinstance(node, Not):
        return "NOT " + _grouped(node.node)
    if isinstance(node, All):
        return " ".join(_grouped(c) if isinstance(c, Any) else describe(c) for c in node.nodes)
    if isinstance(node, Any):
        return " OR ".join(_grouped(c) if isinstance(c, All) else describe(c)
                           for c in node.nodes)
    return ""


def _grouped(node: Node) -> str:
    inner = describe(node)
    return f"({inner})" if isinstance(node, (All, Any)) else inner


def _fielded(text: str, fields: tuple[str, ...]) -> str:
    if fields == TEXT_FIELDS:
        return text
    name = {"title": "title", "tags": "tag", "body": "body"}.get(fields[0], fields[0])
    return f"{name}:{text}"


def _short(text: str, n: int = 60) -> str:
    return text if len(text) <= n else text[:n] + "…"


def expanding_words(node: Node | None) -> list[Prefix | Fuzzy]:
    """The prefix and fuzzy words of a plan (what an engine must expand)."""
    return [n for n in _leaves(node) if isinstance(n, (Prefix, Fuzzy))] if node else []


def is_indexed(word: str) -> bool:
    """True when a folded word would be an index term on its own."""
    return is_indexed_alone(word)


@lru_cache(maxsize=16384)
def term_variants(text: str, terms: tuple[str, ...], languages: tuple[str | None, ...],
                  phrase: bool) -> list[tuple[str, ...]]:
    """The ways a query word (or, with `phrase`, a phrase) is spelled in the
    index: `terms` (the plan's, made by the default stemmer) and the distinct
    terms `text` gives in each of `languages`, since every article is stemmed
    in its own language. A language whose analysis does not give as many
    terms (cannot happen today: only stemming differs) is skipped. Every
    engine looks the word up under each variant."""
    out = []
    for lang in languages:
        found = units(text, lang)
        got = (tuple(t for u in found for t in u.parts) if phrase
               else (found[0].parts if len(found) == 1 else ()))
        if len(got) == len(terms) and got not in out:
            out.append(got)
    return out or [terms]
