"""The Cranfield evaluation's metrics, query forms and parsers (`tests.bench.cranfield_eval`)."""

from __future__ import annotations

import math

import pytest

from tests.bench import cranfield_eval as ce


def test_gain_is_five_minus_the_code_for_judged_relevant_codes_only():
    assert [ce.gain(c) for c in (1, 2, 3, 4)] == [4, 3, 2, 1]
    assert [ce.gain(c) for c in (-1, 5, 0, None)] == [0, 0, 0, 0]


def test_ndcg_of_a_perfect_ranking_is_one_and_of_nothing_relevant_zero():
    codes = {1: 1, 2: 3, 3: 4, 4: -1}
    assert ce.ndcg_at([1, 2, 3], codes, 10) == pytest.approx(1.0)
    assert ce.ndcg_at([1, 2, 3, 99, 4], codes, 10) == pytest.approx(1.0)
    assert ce.ndcg_at([4, 99], codes, 10) == 0.0
    assert ce.ndcg_at([], codes, 10) == 0.0
    assert ce.ndcg_at([1], {7: -1}, 10) == 0.0  # no relevant document: 0, not a division by 0


def test_ndcg_of_a_small_ranking_equals_the_hand_computed_value():
    # Doc 1 has code 1 (gain 4), doc 2 code 3 (gain 2); ranking 7, 2, 1.
    # DCG  = 0/log2(2) + 2/log2(3) + 4/log2(4) = 1.261860 + 2 = 3.261860
    # IDCG = 4/log2(2) + 2/log2(3)             = 4 + 1.261860 = 5.261860
    # nDCG = 3.261860 / 5.261860 = 0.619906
    codes = {1: 1, 2: 3}
    assert ce.ndcg_at([7, 2, 1], codes, 10) == pytest.approx(0.619906, abs=1e-6)
    assert ce.ndcg_at([7, 2, 1], codes, 10) == pytest.approx(
        (2 / math.log2(3) + 2) / (4 + 2 / math.log2(3)))


def test_ndcg_cuts_both_the_ranking_and_the_ideal_at_k():
    # At k=1, ranking 2, 1: DCG = 2, IDCG = 4 (only the best judged doc counts): 0.5.
    assert ce.ndcg_at([2, 1], {1: 1, 2: 3}, 1) == pytest.approx(0.5)
    # The ideal is made of all judged documents, even those never retrieved:
    # ranking 1 alone against gains 4 and 2 is 4 / (4 + 2/log2 3) = 0.760188.
    assert ce.ndcg_at([1], {1: 1, 2: 3}, 10) == pytest.approx(0.760188, abs=1e-6)


def test_average_precision_of_a_known_list():
    # Relevant: 1, 2, 5 (code 4 counts, -1 does not). Ranking 7, 2, 1, 6:
    # hits at rank 2 (precision 1/2) and 3 (2/3): (1/2 + 2/3) / 3 = 7/18 = 0.388889.
    codes = {1: 1, 2: 3, 5: 4, 6: -1}
    assert ce.average_precision_at([7, 2, 1, 6], codes, 100) == pytest.approx(7 / 18)
    assert ce.average_precision_at([1, 2, 5], codes, 100) == pytest.approx(1.0)
    # Cut at 2: one hit at rank 2, divided by min(3 relevant, 2) = 0.25.
    assert ce.average_precision_at([7, 2, 1], codes, 2) == pytest.approx(0.25)
    # A repeated document counts once.
    assert ce.average_precision_at([2, 2, 1], codes, 100) == pytest.approx((1 + 1) / 3)
    assert ce.average_precision_at([1, 2], {1: -1}, 100) == 0.0


def test_query_forms_and_ids():
    text = "what are the  effects of a heat-flux on U.S. aircraft wings ."
    assert ce.content_words(text) == ["effects", "heat", "flux", "aircraft", "wings"]
    assert ce.or_query(text) == "effects OR heat OR flux OR aircraft OR wings"
    assert ce.typed_query(" what are\n the  effects ") == "what are the effects"
    assert ce.doc_id("cran-184") == 184
    assert ce.doc_id("184") is None and ce.doc_id("cran-x") is None


def test_records_drop_the_repeated_title_and_skip_empty_abstracts():
    doc = ce.Doc(5, "wing flutter .", "a", "b", "wing flutter . the flutter of wings .")
    assert ce.article_record(doc) == {"id": "cran-5", "title": "wing flutter .",
                                      "body": "the flutter of wings ."}
    assert ce.article_record(ce.Doc(471, "", "", "", "")) is None


def test_parsers_on_a_small_sample(tmp_path):
    (tmp_path / "docs").write_text(
        ".I 1\n.T\nslip stream\nwing .\n.A\nsmith\n.B\nj. 1958\n.W\nslip stream\nwing .\n"
        "  lift increase .\n.I 2\n.T\n.A\n.B\n.W\n", encoding="utf-8")
    (tmp_path / "qry").write_text(".I 001\n.W\nwhat lift\n.\n.I 004\n.W\nheat .\n",
                                  encoding="utf-8")
    (tmp_path / "qrels").write_text("1 1 2 \n2 1 -1 \n", encoding="utf-8")
    docs = ce.parse_docs(tmp_path / "docs")
    assert docs[0] == ce.Doc(1, "slip stream wing .", "smith", "j. 1958",
                             "slip stream wing . lift increase .")
    assert docs[1].id == 2 and docs[1].text == ""
    assert ce.parse_queries(tmp_path / "qry") == [ce.Topic(1, "001", "what lift ."),
                                                  ce.Topic(2, "004", "heat .")]
    assert ce.parse_qrels(tmp_path / "qrels") == {1: {1: 2}, 2: {1: -1}}


def test_cisi_and_cacm_layouts_read_their_extra_fields_and_binary_judgements(tmp_path):
    # CISI: .X citations after the abstract; judgements "query doc 0 0.000000".
    (tmp_path / "CISI.ALL").write_text(
        ".I 1\n.T\nDewey history\n.A\nComaromi, J.P.\n.W\n   The present study\n"
        "is a history.\n.X\n1\t5\t1\n92\t1\t1\n.I 2\n.T\nLibraries\n.W\nUse made.\n",
        encoding="utf-8")
    (tmp_path / "CISI.QRY").write_text(
        ".I 1\n.W\nWhat problems are there?\n.I 3\n.W\nWhat is information science?\n",
        encoding="utf-8")
    (tmp_path / "CISI.REL").write_text("     1     28\t0\t0.000000\n     3     2\t0\t0.000000\n",
                                       encoding="utf-8")
    cisi = ce.COLLECTIONS["cisi"]
    docs = ce.parse_docs(tmp_path / cisi.docs)
    assert docs[0].text == "The present study is a history."  # not the citations
    topics = ce.parse_queries(tmp_path / cisi.queries, cisi.by_position)
    assert [t.number for t in topics] == [1, 3]  # by .I, as the judgements number them
    assert ce.parse_qrels(tmp_path / cisi.qrels, cisi.graded) == {1: {28: 1}, 3: {2: 1}}
    assert ce.gain(1) == max(ce.gain(c) for c in (1, 2, 3, 4))
    # CACM: a record with no abstract gets its byline; a query's .N note is not its text.
    (tmp_path / "cacm.all").write_text(
        ".I 1\n.T\nPreliminary Report\n.B\nCACM December, 1958\n.A\nPerlis, A. J.\n"
        ".N\nCA581203 JB\n.X\n100\t5\t1\n", encoding="utf-8")
    (tmp_path / "query.text").write_text(
        ".I 2\n.W\n I am interested in articles by Pooch\n.A\nPooch, U.\n.N\n 2. R. A.\n",
        encoding="utf-8")
    cacm = ce.COLLECTIONS["cacm"]
    doc = ce.parse_docs(tmp_path / cacm.docs)[0]
    assert ce.article_record(doc, cacm.byline_body) == {
        "id": "cran-1", "title": "Preliminary Report",
        "body": "Perlis, A. J. CACM December, 1958"}
    assert ce.article_record(doc) is None  # Cranfield's rule: no abstract, no record
    assert ce.parse_queries(tmp_path / cacm.queries, False) == [
        ce.Topic(2, "2", "I am interested in articles by Pooch")]


@pytest.mark.skipif(not (ce.DEFAULT_CORPUS / "cran.all.1400").exists(),
                    reason="../shared/corpora/cranfield is absent")
def test_the_cranfield_collection_reads_whole():
    docs = ce.parse_docs(ce.DEFAULT_CORPUS / "cran.all.1400")
    topics = ce.parse_queries(ce.DEFAULT_CORPUS / "cran.qry")
    qrels = ce.parse_qrels(ce.DEFAULT_CORPUS / "cranqrel")
    assert len(docs) == 1400 and [d.id for d in docs] == list(range(1, 1401))
    assert len(topics) == 225 and [t.number for t in topics] == list(range(1, 226))
    assert topics[0].file_id == "001" and topics[-1].file_id == "365"
    assert sorted(qrels) == list(range(1, 226))
    assert all(any(ce.gain(c) for c in codes.values()) for codes in qrels.values())
    records = [ce.article_record(d) for d in docs]
    assert [d.id for d, r in zip(docs, records, strict=True) if r is None] == [471, 995]
