"""Related articles' key terms: remembering term frequencies changes nothing."""

from __future__ import annotations

from whoosh.filedb.filestore import RamStorage

from index.embedded.engine import write_articles
from index.embedded.schema import make_schema
from search.embedded.related import KEY_TERMS, KnownFrequencies, key_terms
from search.lru import LRU
from tests.engine_corpus import CORPUS


def _whoosh_key_terms(searcher, docnum: int) -> list[tuple[str, str, float]]:
    found = []
    for fieldname, count in KEY_TERMS:
        found += [(fieldname, t, w) for t, w in searcher.key_terms([docnum], fieldname,
                                                                  numterms=count)]
    return found


def test_key_terms_equal_whooshs_with_and_without_remembered_frequencies():
    ix = RamStorage().create_index(make_schema())
    write_articles(ix, CORPUS[:60])
    write_articles(ix, CORPUS[60:])  # two segments: frequencies are summed over both
    with ix.searcher() as s:
        reader = s.reader()
        assert len(list(reader.leaf_readers())) == 2
        known = LRU(100_000)
        remembering = KnownFrequencies(reader, known, reader.stored_fields)
        checked = 0
        for _round in range(2):  # first asking the reader, then from what was kept
            for docnum in reader.all_doc_ids():
                expected = _whoosh_key_terms(s, docnum)
                assert key_terms(remembering, docnum) == expected
                assert key_terms(reader, docnum) == expected
                checked += bool(expected)
        assert checked > 200
        assert len(known) > 50
        # A term in no segment is remembered as absent, not as a zero count.
        assert ("body", b"zzzqx") not in remembering
        assert known.get(("body", b"zzzqx")) == -1
        assert remembering.frequency("body", b"zzzqx") == 0


def test_remembered_frequencies_are_the_readers():
    ix = RamStorage().create_index(make_schema())
    write_articles(ix, CORPUS)
    with ix.searcher() as s:
        reader = s.reader()
        remembering = KnownFrequencies(reader, LRU(10_000), reader.stored_fields)
        for fieldname in ("title", "body"):
            for btext in list(reader.lexicon(fieldname))[:300]:
                assert remembering.frequency(fieldname, btext) == reader.frequency(fieldname,
                                                                                   btext)
                assert (fieldname, btext) in remembering
