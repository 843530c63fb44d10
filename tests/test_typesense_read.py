"""The Typesense engine's query meaning, completions and failover, against brute force.

The engine test corpus plus a few articles that tell the forms apart (a
Spanish article, a word only in a title, a tag named like a word, a
punctuated name written whole and as its parts) is written once into the
session's 3-node cluster. For each search below, the Typesense engine's
result set, and the Whoosh engine's over the same articles, must equal what
brute force over the corpus says the search means:

- a word: an article holds one of its stems in any of the archive's
  languages (`index.analysis.terms`), or a tag that folds to it;
- `word*`: an article holds the term of a word some article contains as
  written (`index.analysis.surface_words`) that starts with the prefix (the
  corpus has fewer than `plan.MAX_EXPANSION` of them), or such a tag;
- `word~`: the same for words within one edit sharing the first letter;
- phrases: the terms in a row in one field; `title:` and `NOT` likewise.

Facet counts are checked against brute force too. The last test serves the
archive with `archivist serve` from the cluster and kills the leader with
SIGKILL while four readers search over HTTP: no reader request may fail.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
import urllib.parse
from collections import Counter

import pytest
from rapidfuzz.distance import OSA
from whoosh.filedb.filestore import RamStorage

from index.analysis import surface_words, terms
from index.article import Article
from index.embedded.engine import write_articles
from index.embedded.schema import make_schema
from index.normalize import normalize_tags, tag_key
from index.typesense_client import SettingsError, TypesenseSettings
from index.typesense_store import upsert_articles, wait_replicated
from index.vocabulary import index_term
from search.cache import CachedEngine
from search.embedded.engine import Engine
from search.plan import fold_tag
from search.request import SearchRequest
from search.typesense import TypesenseEngine
from tests.cluster import LEADER, fresh_collection
from tests.engine_corpus import CORPUS
from tests.servers import free_port, get_json, start_archivist, stop_process

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:typesense.*")
NAME = "read_corpus"

EXTRA = [
    Article(id="es1", source="/src/es1.txt", title="Los precios del petróleo",
            body="Los precios suben otra vez en el mercado.", date=dt.date(2022, 3, 1),
            language="es", kind="news"),
    Article(id="q1", source="/src/q1.txt", title="Quartz notes", body="Mineral prices rose.",
            date=dt.date(2022, 3, 2), language="en"),
    Article(id="q2", source="/src/q2.txt", title="Crystals", body="Nothing else here.",
            tags=normalize_tags(["Quartz"]), language="en"),
    Article(id="k1", source="/src/k1.txt", title="Talks", body="Envoys met al-Qaeda leaders.",
            date=dt.date(2022, 3, 3), language="en"),
    Article(id="k2", source="/src/k2.txt", title="Network", body="The al qaeda network grew.",
            date=dt.date(2022, 3, 4), language="en"),
]
ARTICLES = CORPUS + EXTRA
LANGUAGES = sorted({a.language for a in ARTICLES if a.language})


def settings(cluster, name: str = NAME) -> TypesenseSettings:
    return TypesenseSettings(nodes=tuple(n.url for n in cluster.nodes), api_key=cluster.api_key,
                             collection=name)


@pytest.fixture(scope="module")
def engines(typesense_cluster):
    client = fresh_collection(typesense_cluster, NAME)
    upsert_articles(client, NAME, ARTICLES)
    wait_replicated([n.url for n in typesense_cluster.nodes], NAME, len(ARTICLES),
                    typesense_cluster.api_key)
    ix = RamStorage().create_index(make_schema())
    write_articles(ix, ARTICLES)
    return TypesenseEngine(settings(typesense_cluster)), Engine.from_index(ix)


# -- brute force ------------------------------------------------------------------------


def text_terms(a: Article, field: str | None = None) -> list[list[str]]:
    fields = [a.title, a.body] if field is None else [getattr(a, field)]
    return [terms(t, a.language) for t in fields]


def holds(a: Article, term: str, field: str | None = None) -> bool:
    return any(term in got for got in text_terms(a, field))


def stems(word: str) -> set[str]:
    found = (terms(word, lang) for lang in [*LANGUAGES, None])
    return {got[0] for got in found if got}


def tagged(a: Article, folded: str) -> bool:
    return any(fold_tag(t.key) == folded for t in a.tags)


def word(w: str, field: str | None = None):
    def match(a: Article) -> bool:
        if any(holds(a, t, field) for t in stems(w)):
            return True
        return field is None and tagged(a, fold_tag(tag_key(w)))
    return match


def phrase(text: str, field: str | None = None):
    want = terms(text)

    def match(a: Article) -> bool:
        return any(want == got[i:i + len(want)] for got in text_terms(a, field)
                   for i in range(len(got)))
    return match


WRITTEN = sorted({w for a in ARTICLES for w in surface_words(a.title, a.body)})


def expanded(words: list[str], tags: set[str]):
    wanted = {index_term(w, lang) for w in words for lang in [*LANGUAGES, None]}

    def match(a: Article) -> bool:
        return any(holds(a, t) for t in wanted) or any(fold_tag(t.key) in tags for t in a.tags)
    return match


def prefix(p: str):
    tags = {fold_tag(t.key) for a in ARTICLES for t in a.tags if fold_tag(t.key).startswith(p)}
    return expanded([w for w in WRITTEN if w.startswith(p)], tags)


def fuzzy(w: str, distance: int = 1):
    near = [x for x in WRITTEN if x[:1] == w[:1] and OSA.distance(w, x) <= distance]
    return expanded(near, {fold_tag(tag_key(x)) for x in near[:8]})


def any_of(*preds):
    return lambda a: any(p(a) for p in preds)


def none_of(pred):
    return lambda a: not pred(a)


def all_of(*preds):
    return lambda a: all(p(a) for p in preds)


QUESTION = "what are the effects of frost on coffee and wheat harvest"
CASES = [
    ("oil OR coffee", any_of(word("oil"), word("coffee"))),
    ("(oil OR wheat) -coffee", all_of(any_of(word("oil"), word("wheat")),
                                      none_of(word("coffee")))),
    ("frost AND (brazil OR coffee) NOT harvest",
     all_of(word("frost"), any_of(word("brazil"), word("coffee")), none_of(word("harvest")))),
    ("negotiat*", prefix("negotiat")),
    ("harv* OR quar*", any_of(prefix("harv"), prefix("quar"))),
    ("harvist~", fuzzy("harvist")),
    ("shiping~ -oil", all_of(fuzzy("shiping"), none_of(word("oil")))),
    ('title:"oil story"', phrase("oil story", "title")),
    ('"interest rates" OR quartz', any_of(phrase("interest rates"), word("quartz"))),
    ("NOT title:oil", none_of(word("oil", "title"))),
    ("oil -title:oil", all_of(word("oil"), none_of(word("oil", "title")))),
    ("NOT (oil wheat)", none_of(all_of(word("oil"), word("wheat")))),
    ("precios", word("precios")),
    ("quartz", word("quartz")),
    ("tag:energy OR title:wheat", any_of(lambda a: tagged(a, "energy"), word("wheat", "title"))),
    ("al-Qaeda", lambda a: holds(a, "al-qaeda") or phrase("al qaeda")(a)),
    (QUESTION, any_of(*(word(w) for w in ("effects", "frost", "coffee", "wheat", "harvest")))),
    ("oil wheat coffee frost brazil",
     any_of(*(word(w) for w in ("oil", "wheat", "coffee", "frost", "brazil")))),
]


def expected(pred, tags: tuple[str, ...] = ()) -> set[str]:
    return {a.id for a in ARTICLES
            if pred(a) and all(k in {t.key for t in a.tags} for k in tags)}


@pytest.mark.parametrize(("q", "pred"), CASES, ids=[c[0] for c in CASES])
def test_both_engines_mean_what_brute_force_means(engines, q, pred):
    want = expected(pred)
    for engine in engines:
        r = engine.run(SearchRequest(q=q, per_page=100), snippets=False)
        assert r.total == len(want), (type(engine).__name__, r.total, r.messages)
        got = {h.id for h in r.hits}
        page = 2
        while len(got) < r.total and page <= r.pages:
            got |= {h.id for h in engine.run(SearchRequest(q=q, per_page=100, page=page),
                                             snippets=False).hits}
            page += 1
        assert got == want, (type(engine).__name__, sorted(got ^ want)[:10])


@pytest.mark.parametrize(("q", "pred"), [CASES[0], CASES[3], CASES[9], CASES[16]],
                         ids=["or", "prefix", "not-title", "question"])
def test_facets_count_what_brute_force_counts(engines, q, pred):
    ts, _ = engines
    r = ts.run(SearchRequest(q=q, per_page=5, tags=("top news",)), snippets=False)
    found = [a for a in ARTICLES if a.id in expected(pred, r.request.tags)]
    assert r.total == len(found)
    tag_counts = Counter(t.key for a in found for t in a.tags)
    assert {v.value: v.count for v in r.tag_facet.values} == {
        k: n for k, n in tag_counts.items()} | {"top news": tag_counts["top news"]}
    everyone = [a for a in ARTICLES if pred(a) and "top news" in {t.key for t in a.tags}]
    assert r.date_facet.undated == sum(1 for a in everyone if a.date is None)
    assert {v.value: v.count for v in r.language_facet.values if v.count} == dict(
        Counter(a.language for a in everyone if a.language))


def test_a_long_question_ranks_articles_with_more_of_its_words_first(engines):
    ts, _ = engines
    words = ("effects", "frost", "coffee", "wheat", "harvest")
    r = ts.run(SearchRequest(q=QUESTION, per_page=20), snippets=False)
    by_id = {a.id: a for a in ARTICLES}
    counts = [sum(word(w)(by_id[h.id]) for w in words) for h in r.hits]
    best = max(sum(word(w)(a) for w in words) for a in ARTICLES)
    assert counts[0] == best and counts[0] > counts[-1], counts
    assert r.partial_match_note and "Ranked by how many" in r.partial_match_note


def test_snippets_mark_prefix_and_fuzzy_words(engines):
    ts, _ = engines
    hit = ts.run(SearchRequest(q="negotiat*")).hits[0]
    assert "<mark>" in hit.snippets[0]
    assert "<mark>" in ts.get(hit.id, q="negotiat*").paragraphs[0]


def test_tag_values_count_within_the_archive_and_a_search(engines):
    ts, _ = engines
    archive = Counter(t.key for a in ARTICLES for t in a.tags)
    got = ts.tag_values("t")
    assert [v.value for v in got] == sorted(["top news", "trade"],
                                            key=lambda k: (-archive[k], k))
    assert {v.value: v.count for v in got} == {"top news": archive["top news"],
                                                "trade": archive["trade"]}
    assert [v.value for v in ts.tag_values("news")] == ["top news"]  # a later word of the label
    within = ts.tag_values("", 50, SearchRequest(q="oil"))
    oil = Counter(t.key for a in ARTICLES if word("oil")(a) for t in a.tags)
    assert {v.value: v.count for v in within} == dict(oil)
    assert ts.tag_values("", 0) == []


def test_completions_offer_words_tags_phrases_and_titles(engines):
    ts, whoosh = engines
    for text in ("negot", "oil st", "quar", "top"):
        got = [(c.kind, c.text) for c in ts.complete(text)]
        assert got, text
        assert got == [(c.kind, c.text) for c in whoosh.complete(text)], text
    assert ts.complete("") == []


def test_related_articles_share_telling_words(engines):
    ts, _ = engines
    related = ts.more_like("a1", 5)
    assert 0 < len(related) <= 5 and all(h.id != "a1" for h in related)
    a1 = next(a for a in ARTICLES if a.id == "a1")
    mine = set(terms(a1.title, "en")) | set(terms(a1.body, "en"))
    by_id = {a.id: a for a in ARTICLES}
    for h in related:
        theirs = set(terms(by_id[h.id].body, "en")) | set(terms(by_id[h.id].title, "en"))
        assert mine & theirs - {"report", "number", "discuss", "length", "offici"}, h.id
    assert ts.more_like("no-such-article") == []


def test_related_articles_by_vector_are_the_nearest_by_cosine(typesense_cluster):
    """With the `vector` field filled, related articles are the nearest by
    cosine (brute force over the articles' own vectors)."""
    import numpy as np

    from index import embedding
    from index.typesense_store import document

    made = embedding.article_vectors([(a.title, a.body) for a in CORPUS[:40]])
    if made is None:
        pytest.skip("no embedding model")
    docs = [document(a, vector=embedding.to_bytes(v))
            for a, v in zip(CORPUS[:40], made, strict=True)]
    name = "read_vectors"
    client = fresh_collection(typesense_cluster, name)
    client.collections[name].documents.import_(docs, {"action": "upsert"})
    upsert_articles(client, name, [])  # the version serial
    wait_replicated([n.url for n in typesense_cluster.nodes], name, 40, typesense_cluster.api_key)
    engine = TypesenseEngine(settings(typesense_cluster, name))
    stored = np.array([d["vector"] for d in docs], dtype=np.float64)
    stored /= np.linalg.norm(stored, axis=1, keepdims=True)
    cosine = stored @ stored[0]
    cosine[0] = -2
    want = [CORPUS[i].id for i in np.argsort(-cosine)[:5]]
    assert [h.id for h in engine.more_like(CORPUS[0].id, 5)] == want


def test_the_answer_cache_never_serves_an_answer_older_than_its_token(typesense_cluster):
    """An update that keeps the count moves a word of an article; once the
    token has changed, the cached engine finds the new word and never the old
    one again, whichever node it reads from."""

    name = "read_cached"
    client = fresh_collection(typesense_cluster, name)
    upsert_articles(client, name, [Article(id="c1", source="/s/c1.txt", title="Alpha",
                                           body="Zebra crossing.")])
    wait_replicated([n.url for n in typesense_cluster.nodes], name, 1, typesense_cluster.api_key)
    for home in (0, 1, 2):
        cached = CachedEngine(TypesenseEngine(settings(typesense_cluster, name), home=home))
        old, new = ("zebra", "yak") if home % 2 == 0 else ("yak", "zebra")
        deadline = time.monotonic() + 5
        while cached.run(SearchRequest(q=old)).total != 1 and time.monotonic() < deadline:
            time.sleep(0.05)
        for _ in range(2):
            assert cached.run(SearchRequest(q=old)).total == 1  # kept the second time
        before = cached.version()
        upsert_articles(client, name, [Article(id="c1", source="/s/c1.txt", title="Alpha",
                                               body=f"{new.title()} crossing.")])
        deadline = time.monotonic() + 5
        while cached.version() == before and time.monotonic() < deadline:
            time.sleep(0.01)
        for _ in range(40):
            assert cached.run(SearchRequest(q=old)).total == 0, home
            assert cached.run(SearchRequest(q=new)).total == 1, home
            time.sleep(0.02)


# -- selecting the engine ----------------------------------------------------------------


def test_make_engine_builds_the_cached_typesense_engine(typesense_cluster, engines):
    from webui.backend import make_engine

    config = {"ENGINE": "typesense", "ANSWER_CACHE": 16, "TYPESENSE_API_KEY":
              typesense_cluster.api_key, "TYPESENSE_COLLECTION": NAME,
              "TYPESENSE_NODES": ",".join(n.url for n in typesense_cluster.nodes)}
    engine = make_engine(config)
    assert isinstance(engine, CachedEngine) and isinstance(engine.engine, TypesenseEngine)
    assert engine.run(SearchRequest(q="quartz")).total == len(expected(word("quartz")))
    with pytest.raises(SettingsError, match="TYPESENSE_API_KEY"):
        make_engine({**config, "TYPESENSE_API_KEY": None})
    with pytest.raises(ValueError, match="unknown engine"):
        make_engine({**config, "ENGINE": "solr"})


def test_the_cli_searches_and_counts_the_cluster(typesense_cluster, engines, tmp_path,
                                                 monkeypatch):
    import json

    from click.testing import CliRunner

    from webui.cli import main

    monkeypatch.setenv("ARCHIVIST_ENGINE", "typesense")
    monkeypatch.setenv("ARCHIVIST_TYPESENSE_NODES",
                       ",".join(n.url for n in typesense_cluster.nodes))
    monkeypatch.setenv("ARCHIVIST_TYPESENSE_API_KEY", typesense_cluster.api_key)
    monkeypatch.setenv("ARCHIVIST_TYPESENSE_COLLECTION", NAME)
    runner = CliRunner()
    found = runner.invoke(main, ["--index-dir", str(tmp_path), "search", "oil OR coffee",
                                 "--json"])
    assert found.exit_code == 0, found.output
    assert json.loads(found.stdout)["total"] == len(expected(CASES[0][1]))
    stats = runner.invoke(main, ["--index-dir", str(tmp_path), "stats", "--json"])
    assert stats.exit_code == 0, stats.output
    assert json.loads(stats.stdout)["articles"] == len(ARTICLES)


# -- the leader dies under readers ----------------------------------------------------------

READER_QUERIES = ["oil", "oil OR coffee", "negotiat*", "harvist~", "NOT title:oil",
                  QUESTION, "quartz", '"interest rates"']


def test_readers_through_archivist_serve_ride_out_the_leaders_death(typesense_cluster, engines,
                                                                   tmp_path, figures):
    cluster = typesense_cluster
    leader = cluster.leader()
    # The server reads from the first node listed: the leader, so its death is felt.
    ordered = [leader, *(n for n in cluster.nodes if n is not leader)]
    env = {"ARCHIVIST_ENGINE": "typesense", "ARCHIVIST_TYPESENSE_API_KEY": cluster.api_key,
           "ARCHIVIST_TYPESENSE_NODES": ",".join(n.url for n in ordered),
           "ARCHIVIST_TYPESENSE_COLLECTION": NAME, "ARCHIVIST_ANSWER_CACHE": "0"}
    port = free_port()
    server = start_archivist(tmp_path / "index", port, tmp_path / "serve.log", env=env)
    want = {q: len(expected(pred)) for q, pred in CASES if q in READER_QUERIES}
    want['"interest rates"'] = len(expected(phrase("interest rates")))
    want["oil"] = len(expected(word("oil")))
    done, failures = [0], []
    stop = threading.Event()

    def read(k: int) -> None:
        i = k
        while not stop.is_set():
            q = READER_QUERIES[i % len(READER_QUERIES)]
            i += 1
            try:
                answer = get_json(port, "/api/search?" + urllib.parse.urlencode({"q": q}),
                                  timeout=30)
                if answer["total"] != want[q]:
                    failures.append(f"{q}: {answer['total']} != {want[q]}")
            except Exception as e:  # noqa: BLE001  every failure is what the test counts
                failures.append(f"{q}: {type(e).__name__}: {e}"[:200])
            done[0] += 1

    threads = [threading.Thread(target=read, args=(k,), daemon=True) for k in range(4)]
    elected = float("nan")
    try:
        for t in threads:
            t.start()
        time.sleep(1.0)
        before = done[0]
        killed_at = time.monotonic()
        cluster.kill(leader)
        while time.monotonic() - killed_at < 60:
            if any(cluster.state(n) == LEADER for n in cluster.running_nodes()):
                elected = time.monotonic() - killed_at
                break
            time.sleep(0.05)
        time.sleep(3.0)  # readers go on after the election too
        stop.set()
        for t in threads:
            t.join(timeout=60)
        during = done[0] - before
    finally:
        stop.set()
        stop_process(server, grace=5)
        if not leader.running:
            cluster.restart(leader)
        cluster.wait_healthy()
    figures(f"typesense failover through archivist serve: {done[0]} reader requests "
            f"({during} from the kill on), {len(failures)} failed; new leader "
            f"{elapsed(elected)} after kill -9 of the leader (the server's home node)")
    assert failures == [], failures[:5]
    assert during > 0 and elected == elected


def elapsed(seconds: float) -> str:
    return f"{seconds:.1f} s" if seconds == seconds else "not seen"


def test_the_page_and_the_api_explain_cluster_hits(typesense_cluster, engines, tmp_path):
    """On the cluster, "why this result" is under every hit of the page (a
    `<details>`, no script) and in the API's hits when asked: Typesense's
    text match whole and the words it matched, never a note that it cannot."""
    from lxml import html as lhtml

    from tests.console_fixtures import make_app

    app = make_app(tmp_path, [], None, ENGINE="typesense", TYPESENSE_COLLECTION=NAME,
                   TYPESENSE_API_KEY=typesense_cluster.api_key,
                   TYPESENSE_NODES=",".join(n.url for n in typesense_cluster.nodes))
    client = app.test_client()
    page = client.get("/?q=quartz")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert f"{len(expected(word('quartz')))} result" in text
    assert "not available with this engine" not in text
    tree = lhtml.fromstring(text)
    whys = tree.xpath("//details[contains(@class, 'why')]")
    assert len(whys) == len(expected(word("quartz")))
    said = " ".join(w.text_content() for w in whys)
    assert "Typesense's text match" in said and "once in the title" in said
    assert "the tag “Quartz”" in said  # q2 is found by its tag alone
    answer = client.get("/api/search?q=quartz&explain=1").get_json()
    assert not any("not available" in m for m in answer["messages"])
    assert answer["hits"] and all("text match" in h["explanation"]["label"]
                                  for h in answer["hits"])
