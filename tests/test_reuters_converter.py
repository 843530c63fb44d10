"""The Reuters-21578 to page dump converter used by the benchmarks.

The corpus tests need the shared corpus folder and skip without it; the
small-corpus test writes two stories of genuine Reuters SGML shape itself, so
the layout of copies is checked everywhere.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from tests.bench.reuters import DEFAULT_CORPUS, convert

_TWO_STORIES = """<!DOCTYPE lewis SYSTEM "lewis.dtd">
<REUTERS TOPICS="YES" LEWISSPLIT="TRAIN" CGISPLIT="TRAINING-SET" OLDID="1" NEWID="7">
<DATE>26-FEB-1987 15:01:01.79</DATE>
<TOPICS><D>grain</D><D>wheat</D></TOPICS>
<PLACES><D>usa</D></PLACES>
<TEXT>&#2;
<TITLE>FARMERS &lt;FRM&gt; SEE BIGGER CROP</TITLE>
<DATELINE>    CHICAGO, Feb 26 - </DATELINE><BODY>Farmers expect a bigger
wheat crop this year, a survey said.
    Prices fell&#127;sharply.
 REUTER
 Reuter
&#3;</BODY></TEXT>
</REUTERS>
<REUTERS TOPICS="NO" LEWISSPLIT="TRAIN" CGISPLIT="TRAINING-SET" OLDID="2" NEWID="1203">
<DATE>31-MAR-1987 605:12:19.12</DATE>
<TOPICS></TOPICS>
<PLACES></PLACES>
<TEXT>&#2;
<TITLE>UNTAGGED STORY</TITLE>
<BODY>A story without topics or places.
 Reuter
&#3;</BODY></TEXT>
</REUTERS>
<REUTERS TOPICS="NO" LEWISSPLIT="TRAIN" CGISPLIT="TRAINING-SET" OLDID="3" NEWID="1204">
<DATE>31-MAR-1987 06:12:19.12</DATE>
<TOPICS></TOPICS>
<PLACES></PLACES>
<TEXT TYPE="BRIEF">&#2;
<TITLE>A BRIEF HAS NO BODY</TITLE>
&#3;</TEXT>
</REUTERS>
"""


def test_small_corpus_copies_layout_and_cleaning(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "reut2-000.sgm.gz").write_bytes(gzip.compress(_TWO_STORIES.encode("latin-1")))
    out = tmp_path / "out"

    assert convert(corpus, out, copies=2) == 4

    first = (out / "000" / "7.txt").read_text(encoding="utf-8")
    assert first == (
        "FARMERS <FRM> SEE BIGGER CROP\n\n"
        "1987/02/26 | grain, wheat, usa\n\n"
        "Farmers expect a bigger wheat crop this year, a survey said.\n\n"
        "Prices fell sharply.\n"
    )
    # Copy 1: own file name, dates 400 days later, same text otherwise.
    shifted = (out / "copy-1" / "000" / "7-1.txt").read_text(encoding="utf-8")
    assert shifted.splitlines()[2] == "1988/04/01 | grain, wheat, usa"
    untagged = (out / "copy-1" / "001" / "1203-1.txt").read_text(encoding="utf-8")
    assert untagged.splitlines()[:3] == ["UNTAGGED STORY", "", "1988/05/04"]
    names = sorted(p.relative_to(out).as_posix() for p in out.rglob("*.txt"))
    assert names == ["000/7.txt", "001/1203.txt", "copy-1/000/7-1.txt", "copy-1/001/1203-1.txt"]


@pytest.fixture(scope="module")
def converted(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int]:
    if not DEFAULT_CORPUS.is_dir():
        pytest.skip(f"Reuters-21578 corpus not found at {DEFAULT_CORPUS}")
    out = tmp_path_factory.mktemp("reuters")
    return out, convert(DEFAULT_CORPUS, out)


def test_whole_corpus_count(converted: tuple[Path, int]) -> None:
    out, count = converted
    assert 18_000 <= count <= 21_578
    assert sum(1 for _ in out.rglob("*.txt")) == count


def test_known_story_page_dump(converted: tuple[Path, int]) -> None:
    out, _ = converted
    lines = (out / "000" / "1.txt").read_text(encoding="utf-8").split("\n")
    assert lines[0] == "BAHIA COCOA REVIEW"
    assert lines[2] == "1987/02/26 | cocoa, el-salvador, usa, uruguay"
    assert lines[4].startswith("Showers continued throughout the week in the Bahia cocoa zone,")
    assert "Reuter" not in lines[-2]


def test_the_one_latin1_byte_survives(converted: tuple[Path, int]) -> None:
    out, _ = converted
    text = (out / "017" / "17980.txt").read_text(encoding="utf-8")
    assert "growth.\u00fc" in text
