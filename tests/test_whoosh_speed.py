"""`index.embedded.whoosh_speed` writes the segment Whoosh writes, only faster.

Each test writes the same documents twice, with Whoosh's own methods and
with the repairs, and compares what a reader finds: every posting (its
document, weight and encoded positions), every field length, stored field
and column. The files that hold them are compared byte for byte too: all of them
when every posting block is compressed as Whoosh compresses it, all but the
postings and term files when small blocks are left uncompressed, which
moves every offset after them.
"""

from __future__ import annotations

import io
import random
import struct
from array import array
from pathlib import Path

import pytest
from whoosh import index as whoosh_index
from whoosh.filedb.structfile import StructFile

from index.analysis import LanguageText
from index.embedded import whoosh_speed
from index.embedded.schema import make_schema
from tests.corpus import page_dump
from tests.index_contents import contents, differences

PERSIAN = "سیاست خارجی ایران و گفت‌وگوهای هسته‌ای در سال ۱۴۰۱ ادامه یافت."
PUNCTUATED = "U.S. and al-Qaeda: AT&T's 1986/87 results, 3,000 jobs; O'Brien said so."


def _documents(count: int) -> list[dict]:
    rng = random.Random(7)
    docs = []
    for i in range(count):
        title, _, body = page_dump(i, rng).partition("\n\n")
        if i % 7 == 0:
            body += "\n\n" + PUNCTUATED
        language = "fa" if i % 11 == 0 else "en"
        if language == "fa":
            body = PERSIAN + "\n\n" + body
        docs.append({
            "id": f"doc-{i}", "title": LanguageText(title, language), "_stored_title": title,
            "body": LanguageText(body, language), "_stored_body": body,
            "tags": "energy,trade" if i % 3 else "climate", "dated": "1",
            "source": f"/archive/{i % 13}.txt", "source_hash": f"{i % 13:032x}",
            "content_hash": f"{i:032x}", "language": language,
        })
    return docs


def _write(folder: Path, docs: list[dict], repaired: bool, limitmb: int) -> whoosh_index.Index:
    (whoosh_speed.install if repaired else whoosh_speed.uninstall)()
    try:
        folder.mkdir()
        ix = whoosh_index.create_in(str(folder), make_schema())
        writer = ix.writer(limitmb=limitmb, compound=False)
        for doc in docs:
            writer.add_document(**doc)
        writer.commit()
        return ix
    finally:
        whoosh_speed.install()


def _files(folder: Path) -> dict[str, bytes]:
    """The segment's files by the part of their name after the segment's id."""
    return {p.name.split(".", 1)[1]: p.read_bytes() for p in folder.iterdir()
            if p.name.startswith("MAIN_") and "." in p.name}


@pytest.mark.parametrize("limitmb", [256, 1], ids=["in memory", "spilled to disk"])
def test_compressing_every_block_gives_whoosh_own_files(tmp_path, limitmb, monkeypatch):
    monkeypatch.setattr(whoosh_speed, "MIN_COMPRESSED", 0)
    docs = _documents(150)
    _write(tmp_path / "whoosh", docs, repaired=False, limitmb=limitmb)
    _write(tmp_path / "repaired", docs, repaired=True, limitmb=limitmb)
    own_files, fast_files = _files(tmp_path / "whoosh"), _files(tmp_path / "repaired")
    assert sorted(own_files) == sorted(fast_files)
    for name in own_files:
        assert own_files[name] == fast_files[name], name


@pytest.mark.parametrize("limitmb", [256, 1], ids=["in memory", "spilled to disk"])
def test_the_segment_is_the_one_whoosh_writes(tmp_path, limitmb):
    docs = _documents(150)
    own = _write(tmp_path / "whoosh", docs, repaired=False, limitmb=limitmb)
    fast = _write(tmp_path / "repaired", docs, repaired=True, limitmb=limitmb)
    assert differences(contents(own), contents(fast)) == []
    own_files, fast_files = _files(tmp_path / "whoosh"), _files(tmp_path / "repaired")
    assert sorted(own_files) == sorted(fast_files)
    for name in own_files:
        if name not in ("pst", "trm"):
            assert own_files[name] == fast_files[name], name
    # Documents, postings and statistics agree term by term, not just overall.
    with own.reader() as a, fast.reader() as b:
        for fieldname, btext in a.all_terms():
            x, y = a.term_info(fieldname, btext), b.term_info(fieldname, btext)
            assert (x.doc_frequency(), x.weight(), x.min_length(), x.max_length(),
                    x.max_weight()) == (y.doc_frequency(), y.weight(), y.min_length(),
                                        y.max_length(), y.max_weight())


def test_small_posting_blocks_are_stored_uncompressed_and_read_back(tmp_path):
    ix = _write(tmp_path / "ix", _documents(20), repaired=True, limitmb=64)
    compressed = set()
    with ix.reader() as r:
        for fieldname, btext in r.all_terms():
            m = r.postings(fieldname, btext)
            m = getattr(m, "child", m)
            compressed.add(bool(m._compression))
            assert len(list(m.all_ids())) == r.doc_frequency(fieldname, btext)
    assert compressed == {False, True}, "both kinds of block were written"


def test_a_counting_file_knows_its_position_as_the_os_does():
    real = io.BytesIO()
    counted = whoosh_speed.CountingFile(real)
    counted.write(b"abc")
    counted.write_int(7)
    counted.write_varint(300)
    counted.write_pickle({"a": [1, 2, 3]})
    counted.write_array(array("I", [1, 2, 3]))
    assert counted.tell() == real.tell() == len(real.getvalue())
    counted.seek(2)
    counted.write(b"Z")
    assert counted.tell() == real.tell() == 3
    plain = io.BytesIO()
    reference = StructFile(plain)
    reference.write(b"abc")
    reference.write_int(7)
    reference.write_varint(300)
    reference.write_pickle({"a": [1, 2, 3]})
    reference.write_array(array("I", [1, 2, 3]))
    reference.seek(2)
    reference.write(b"Z")
    assert real.getvalue() == plain.getvalue()
    assert struct.unpack("!I", real.getvalue()[3:7]) == (7,)


def test_field_lengths_are_whoosh_own(tmp_path):
    ix = _write(tmp_path / "ix", _documents(30) + [{"id": "bare", "dated": "0"}], repaired=True,
                limitmb=64)
    with ix.reader() as r:
        segment = r.leaf_readers()[0][0]
        last = r.doc_count_all() - 1
        perdoc = segment._perdoc
        whoosh_speed.uninstall()
        try:
            expected = {(d, f): perdoc.doc_field_length(d, f)
                        for d in range(last + 1) for f in ("title", "body", "id")}
        finally:
            whoosh_speed.install()
        fresh = segment._perdoc.__class__(segment._storage, segment._segment)
        got = {(d, f): fresh.doc_field_length(d, f) for d, f in expected}
    assert got == expected
    assert expected[(last, "title")] is None  # Whoosh's own answer for a missing field
