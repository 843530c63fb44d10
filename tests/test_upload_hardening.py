"""Uploads attacked the way the security review did, and the console's honesty about runs.

Each zip bomb is built byte by byte (so its headers can say what an
attacker wants) and sent both to `prepare` and through the real app. Every
variant must be refused at once: a guard of well under a second of CPU
(`time.process_time`), no member decompressed that the checks refuse
(`ZipFile.open` is watched), and nothing written anywhere. Then: unreadable
uploads refused with the reader's reason, removing a file through the
console, the uploads folder in the instance, and command-line runs in the
history with their real outcome.
"""

from __future__ import annotations

import functools
import io
import os
import struct
import subprocess
import sys
import time
import zipfile
import zlib
from pathlib import Path

import pytest

from index import history, upload
from index.upload import UploadLimits, UploadRefused, prepare
from tests.console_fixtures import (
    ARTICLE,
    figure,
    make_app,
    make_console,
    post_upload,
    rows,
    sign_in,
    start_reindex,
    wait_for_job,
)
from tests.corpus import write_corpus
from tests.webui_fixtures import parse_html

ROOT = Path(__file__).resolve().parents[1]
MB = 1024 * 1024
#: CPU one refusal may cost: "well under a second", with room for a slow machine.
CPU_GUARD = 0.5


# -- zips made byte by byte ------------------------------------------------------------


@functools.cache
def _zeros(size: int) -> tuple[bytes, int]:
    """`size` zero bytes as a raw deflate stream, and their CRC-32."""
    squeeze = zlib.compressobj(9, zlib.DEFLATED, -15)
    return squeeze.compress(bytes(size)) + squeeze.flush(), zlib.crc32(bytes(size))


def _local(name: str, crc: int, csize: int, size: int, method: int = 8) -> bytes:
    raw = name.encode()
    return struct.pack("<4s5H3L2H", b"PK\x03\x04", 20, 0, method, 0, 0x21, crc, csize, size,
                       len(raw), 0) + raw


def _central(name: str, crc: int, csize: int, size: int, offset: int, method: int = 8) -> bytes:
    raw = name.encode()
    return struct.pack("<4s6H3L5H2L", b"PK\x01\x02", 20, 20, 0, method, 0, 0x21, crc, csize,
                       size, len(raw), 0, 0, 0, 0, 0o100644 << 16, offset) + raw


def _end(entries: int, toc: bytes, toc_start: int) -> bytes:
    return struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, entries, entries, len(toc), toc_start, 0)


def _zip(members: list[tuple[str, bytes, int, int]], declare: int | None = None) -> bytes:
    """A zip of (name, deflated data, crc, size) members; `declare` overrides the entry count."""
    body, toc = bytearray(), bytearray()
    for name, data, crc, size in members:
        toc += _central(name, crc, len(data), size, len(body))
        body += _local(name, crc, len(data), size) + data
    start = len(body)
    count = len(members) if declare is None else declare
    return bytes(body + toc + _end(count, bytes(toc), start))


def _stored(name: str, text: bytes) -> tuple[str, bytes, int, int]:
    """A member whose deflate stream stores `text` as it is (one final stored block)."""
    block = b"\x01" + struct.pack("<HH", len(text), len(text) ^ 0xFFFF) + text
    return name, block, zlib.crc32(text), len(text)


def _overlapping_zip(entries: int, kernel_size: int) -> bytes:
    """Fifield's "better zip bomb": every entry's data runs on into the next entry's.

    Entry i's compressed data is a stored deflate block quoting entry i+1's
    local header, followed by entry i+1's own data, down to one shared
    kernel of zeros; so each entry is a valid member whose data overlaps
    all those after it, and the kernel is inflated once per entry.
    """
    kernel, kernel_crc = _zeros(kernel_size)
    names = [f"part-{i:03d}.txt" for i in range(entries)]
    headers: list[bytes] = [b""] * entries
    csize, size, crc = [0] * entries, [0] * entries, [0] * entries
    csize[-1], size[-1], crc[-1] = len(kernel), kernel_size, kernel_crc
    headers[-1] = _local(names[-1], crc[-1], csize[-1], size[-1])
    for i in range(entries - 2, -1, -1):
        quoted = headers[i + 1]
        csize[i] = 5 + len(quoted) + csize[i + 1]
        size[i] = len(quoted) + size[i + 1]
        crc[i] = zlib.crc32(bytes(kernel_size), zlib.crc32(b"".join(headers[i + 1:])))
        headers[i] = _local(names[i], crc[i], csize[i], size[i])
    body, offsets = bytearray(), []
    for i in range(entries):
        offsets.append(len(body))
        body += headers[i]
        if i + 1 < entries:
            quoted = headers[i + 1]
            body += b"\x00" + struct.pack("<HH", len(quoted), len(quoted) ^ 0xFFFF)
    body += kernel
    toc = b"".join(_central(names[i], crc[i], csize[i], size[i], offsets[i])
                   for i in range(entries))
    return bytes(body) + toc + _end(entries, toc, len(body))


def _many_bins(count: int = 250, each: int = 20 * MB) -> bytes:
    data, crc = _zeros(each)
    return _zip([(f"blob-{i:04d}.bin", data, crc, each) for i in range(count)])


def _one_huge(size: int = 120 * MB) -> bytes:
    data, crc = _zeros(size)
    return _zip([("huge.txt", data, crc, size)])


def _lying_header(real: int = 60 * MB) -> bytes:
    """One member that says it holds 1 KB and inflates to `real` bytes."""
    data, crc = _zeros(real)
    return _zip([("small.txt", data, crc, 1024)])


def _too_many(count: int = 65_000) -> bytes:
    return _zip([(f"{i}.bin", b"\x03\x00", 0, 0) for i in range(count)])


def _understated(count: int = 5_000) -> bytes:
    """A table of contents holding `count` entries whose end record says it holds one."""
    return _zip([(f"{i}.bin", b"\x03\x00", 0, 0) for i in range(count)], declare=1)


def _nested_and_duplicates(copies: int = 150, each: int = 20 * MB, good: bool = True) -> bytes:
    """A readable `a.txt` (unreadable without `good`), then unsafe and duplicate names."""
    data, crc = _zeros(each)
    deep = "/".join(f"d{i}" for i in range(12)) + "/deep.txt"
    first = _stored("a.txt", ARTICLE.format(n=1).encode() if good else b"Only a title\n")
    members = [first, (deep, data, crc, each), ("../../escape.txt", data, crc, each),
               ("/etc/cron.d/evil.txt", data, crc, each)]
    members += [("A.TXT" if i % 2 else "a.txt", data, crc, each) for i in range(copies)]
    return _zip(members)


BOMBS = {
    "many compressible .bin entries": _many_bins,
    "one huge entry": _one_huge,
    "a header that understates its size": _lying_header,
    "overlapping entries": lambda: _overlapping_zip(150, 8 * MB),
    "too many entries": _too_many,
    "a table of contents that understates its entries": _understated,
    "nested paths and duplicate names": lambda: _nested_and_duplicates(good=False),
}

GENEROUS = UploadLimits(max_bytes=10**13, max_files=10**6, max_file_bytes=20 * MB,
                        max_entries=10**6)


@pytest.fixture(scope="module", autouse=True)
def _parser_warmed() -> None:
    """Parse one article before any test measures. The first parse in a process
    loads the language model, opening its arrays through `zipfile`: neither CPU
    spent on a refusal nor a member of anyone's upload, yet without this the
    tests below counted both whenever this module ran first."""
    prepare([("warm.txt", ARTICLE.format(n=0).encode())])


@pytest.fixture
def opened(monkeypatch) -> list[str]:
    """The names of the zip members decompressed during the test."""
    names: list[str] = []
    original = zipfile.ZipFile.open

    def spy(self, name, *args, **kwargs):
        names.append(getattr(name, "filename", name))
        return original(self, name, *args, **kwargs)

    monkeypatch.setattr(zipfile.ZipFile, "open", spy)
    return names


def _cpu(fn):
    """(what `fn()` returned or raised, CPU seconds it took)."""
    began = time.process_time()
    try:
        outcome = fn()
    except UploadRefused as e:
        outcome = e
    return outcome, time.process_time() - began


def _reasons(prepared) -> dict[str, str]:
    return {r.name: r.reason for r in prepared.refused}


# -- each bomb against the library -------------------------------------------------------


def test_the_bombs_are_real():
    """Unchecked, these archives are what they claim: valid members that inflate hugely."""
    with zipfile.ZipFile(io.BytesIO(_overlapping_zip(5, MB))) as z:
        assert len(z.read("part-000.txt")) > MB, "each overlapping entry inflates the kernel"
        assert len(z.read("part-004.txt")) == MB
    with zipfile.ZipFile(io.BytesIO(_many_bins(3, 2 * MB))) as z:
        assert [len(z.read(n)) for n in z.namelist()] == [2 * MB] * 3


def test_many_compressible_bin_entries_are_never_inflated(opened):
    bomb = _many_bins()  # 250 x 20 MB of zeros: 5 GB from a 5 MB zip
    refused, cpu = _cpu(lambda: prepare([("bins.zip", bomb)]))
    assert isinstance(refused, UploadRefused), "refused entries count against the limit"
    assert "more than 50 MB of files once unpacked" in str(refused)
    assert cpu < CPU_GUARD and opened == []

    # With no byte limit to stop it, the names alone refuse every entry, unopened.
    prepared, cpu = _cpu(lambda: prepare([("bins.zip", bomb)], GENEROUS))
    assert cpu < CPU_GUARD and opened == []
    assert prepared.files == []
    assert all("not an article file (.bin)" in r.reason for r in prepared.refused)
    assert (len(prepared.refused), prepared.refused_more) == (upload.MAX_REFUSED_LISTED, 200)


def test_one_huge_entry_is_refused_from_its_header(opened):
    bomb = _one_huge()
    refused, cpu = _cpu(lambda: prepare([("huge.zip", bomb)]))
    assert isinstance(refused, UploadRefused) and "once unpacked" in str(refused)
    assert cpu < CPU_GUARD and opened == []
    prepared, cpu = _cpu(lambda: prepare([("huge.zip", bomb)], GENEROUS))
    assert cpu < CPU_GUARD and opened == []
    assert _reasons(prepared) == {"huge.zip: huge.txt": "larger than 20 MB, the limit for one file"}


def test_a_member_that_understates_its_size_is_cut_off(opened):
    bomb = _lying_header()
    prepared, cpu = _cpu(lambda: prepare([("small.zip", bomb)]))
    assert cpu < CPU_GUARD and prepared.files == []
    assert opened == ["small.txt"]
    assert "cannot be unpacked" in _reasons(prepared)["small.zip: small.txt"]


def test_overlapping_entries_refuse_the_whole_zip(opened):
    bomb = _overlapping_zip(120, 4 * MB)  # ~ 120 x 4 MB inflated from a 4 KB kernel
    prepared, cpu = _cpu(lambda: prepare([("overlap.zip", bomb)], GENEROUS))
    assert cpu < CPU_GUARD and opened == []
    assert prepared.files == []
    [(name, reason)] = _reasons(prepared).items()
    assert name == "overlap.zip"
    assert "share their data" in reason and "zip bomb" in reason


def test_too_many_entries_are_refused_before_the_zip_is_parsed(monkeypatch):
    parsed: list[int] = []
    original = zipfile.ZipFile.__init__

    def spy(self, *args, **kwargs):
        parsed.append(1)
        original(self, *args, **kwargs)

    many, sly = _too_many(), _understated()
    monkeypatch.setattr(zipfile.ZipFile, "__init__", spy)
    refused, cpu = _cpu(lambda: prepare([("many.zip", many)]))
    assert isinstance(refused, UploadRefused)
    assert "more than 2,000 entries" in str(refused)
    assert cpu < CPU_GUARD and parsed == [], "the table of contents was never parsed"

    # An end record that understates the entries: they are counted once parsed.
    refused, cpu = _cpu(lambda: prepare([("sly.zip", sly)]))
    assert isinstance(refused, UploadRefused) and "more than 2,000 entries" in str(refused)
    assert cpu < CPU_GUARD

    # A table of contents far larger than its declared entries could need is not parsed.
    parsed.clear()
    padded = _zip([(f"{'x' * 200}{i}.bin", b"\x03\x00", 0, 0) for i in range(12_000)],
                  declare=10)
    prepared, cpu = _cpu(lambda: prepare([("padded.zip", padded)]))
    assert "table of contents is larger" in _reasons(prepared)["padded.zip"]
    assert cpu < CPU_GUARD and parsed == []

    # Refused form files count as entries too.
    with pytest.raises(UploadRefused, match="more than 10 entries"):
        prepare([(f"{i}.pdf", b"%PDF") for i in range(11)], UploadLimits(max_entries=10))


def test_nested_paths_and_duplicates_are_refused_before_inflating(opened):
    bomb = _nested_and_duplicates()
    prepared, cpu = _cpu(lambda: prepare([("nested.zip", bomb)], GENEROUS))
    assert cpu < CPU_GUARD
    assert opened == ["a.txt"], "only the one acceptable member was decompressed"
    assert [f.name for f in prepared.files] == ["a.txt"]
    reasons = _reasons(prepared)
    assert "same name" in reasons["nested.zip: A.TXT"]
    assert "nested more than 8 folders deep" in reasons[
        "nested.zip: " + "/".join(f"d{i}" for i in range(12)) + "/deep.txt"]
    assert "path traversal" in reasons["nested.zip: ../../escape.txt"]
    assert "path traversal" in reasons["nested.zip: /etc/cron.d/evil.txt"]
    assert len(prepared.refused) + prepared.refused_more == 150 + 3
    # A refused first copy claims its name too: the copies after it are never read.
    opened.clear()
    unreadable_first = _nested_and_duplicates(good=False)
    prepared, cpu = _cpu(lambda: prepare([("nested.zip", unreadable_first)], GENEROUS))
    assert cpu < CPU_GUARD and opened == ["a.txt"] and prepared.files == []
    assert "same name" in _reasons(prepared)["nested.zip: A.TXT"]
    # With the default limits the duplicates' declared sizes alone refuse the upload.
    refused, cpu = _cpu(lambda: prepare([("nested.zip", bomb)]))
    assert isinstance(refused, UploadRefused) and cpu < CPU_GUARD


@pytest.mark.parametrize("method", [zipfile.ZIP_DEFLATED, zipfile.ZIP_STORED, zipfile.ZIP_BZIP2,
                                    zipfile.ZIP_LZMA])
def test_damaged_zips_are_refused_never_raised(method):
    """Garbled and cut-off archives are refused with a reason, never a crash (a 500)."""
    import random

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", method) as z:
        for i in range(4):
            z.writestr(f"d/{i}.txt", ARTICLE.format(n=i) * 3)
    good = buf.getvalue()
    rng = random.Random(method)
    for _ in range(400):
        damaged = bytearray(good)
        for _ in range(rng.randint(1, 8)):
            damaged[rng.randrange(len(damaged))] = rng.randrange(256)
        if rng.random() < 0.3:
            damaged = damaged[: rng.randrange(len(damaged))]
        try:
            prepared = prepare([("x.zip", bytes(damaged))])
        except UploadRefused:
            continue
        assert all(r.reason for r in prepared.refused)


def test_damaged_members_are_refused_with_a_reason():
    unnamed = _zip([("", b"\x03\x00", 0, 0)])
    corrupt = _zip([("a.txt", b"\xff\xff\xff\xff", 0, 10)])
    future = bytearray(_zip([_stored("b.txt", ARTICLE.format(n=1).encode())]))
    toc = future.index(b"PK\x01\x02")
    future[toc + 6:toc + 8] = struct.pack("<H", 130)  # "needs zip version 13.0 to extract"
    prepared = prepare([("unnamed.zip", unnamed), ("corrupt.zip", corrupt),
                        ("future.zip", bytes(future))])
    reasons = _reasons(prepared)
    assert reasons["unnamed.zip: "] == "it has no file name"
    assert reasons["corrupt.zip: a.txt"].startswith("cannot be unpacked")
    assert reasons["future.zip"] == "not a readable zip archive"


# -- each bomb against the running app ----------------------------------------------------


def _written(console) -> list[str]:
    """Every file under the sources, the uploads folder and the staging area."""
    places = [console.src, console.instance / "uploads", console.instance / "upload-staging"]
    return sorted(str(p) for place in places if place.exists()
                  for p in place.rglob("*") if p.is_file())


#: The console's default limits, and none on bytes: then the checks of names, headers and
#: overlaps must stop each bomb by themselves.
LIMITS = {"default limits": {},
          "no byte limit": {"MAX_UPLOAD_BYTES": 10**12, "MAX_UPLOAD_FILES": 10**6}}


@pytest.mark.parametrize("limits", list(LIMITS))
@pytest.mark.parametrize("variant", list(BOMBS))
def test_each_bomb_is_refused_over_http_quickly_and_writes_nothing(tmp_path, variant, limits):
    console = make_console(tmp_path, files=2, **LIMITS[limits])
    token = sign_in(console.client)
    before = _written(console)
    bomb = BOMBS[variant]()
    began = time.process_time()
    response = post_upload(console.client, token, [("bomb.zip", bomb)])
    cpu = time.process_time() - began
    assert response.status_code in (400, 413), (variant, response.status_code)
    assert cpu < 1.0, f"{variant}: {cpu:.2f} s of CPU"
    assert _written(console) == before, "nothing was saved or staged"
    assert not console.client.get("/admin/job.json").get_json().get("kind")


def test_the_refused_list_is_bounded_on_the_page(tmp_path):
    console = make_console(tmp_path, files=1)
    token = sign_in(console.client)
    junk = _zip([(f"scan-{i:03d}.pdf", b"\x03\x00", 0, 0) for i in range(120)])
    response = post_upload(console.client, token, [("scans.zip", junk)])
    assert response.status_code == 400
    page = parse_html(response.data)
    assert len(rows(page, "failures")) == upload.MAX_REFUSED_LISTED
    assert figure(page, "refused-more") == "and 70 more not listed."
    assert "Not accepted (120)" in page.text_content()


# -- parse before saving ----------------------------------------------------------------------


UNREADABLE = {
    "empty.txt": (b"", "empty file"),
    "title-only.txt": (b"Just a title\n", "no article body"),
    "scan.txt": (b"\x00\x01PDF\x00" * 100, "not a text file (binary content)"),
    "blank.html": (b"<html><body></body></html>", "no article text found"),
    "export.jsonl": (b'{"id": "x", "title": "no body here"}\n', "line 1: no body"),
}


def test_unreadable_uploads_are_refused_with_the_readers_reason_and_not_saved(tmp_path):
    console = make_console(tmp_path, files=1)
    token = sign_in(console.client)
    before = _written(console)
    files = [(name, data) for name, (data, _) in UNREADABLE.items()]
    response = post_upload(console.client, token, files, folder=console.src.resolve())
    assert response.status_code == 400
    cells = parse_html(response.data).xpath("//table[contains(@class,'failures')]/tbody/tr")
    found = {tr[0].text_content(): tr[1].text_content() for tr in cells}
    for name, (_, reason) in UNREADABLE.items():
        assert found[name] == f"cannot be read as an article: {reason}", name
    assert _written(console) == before

    # Mixed with a good file: only the good one is ever written.
    mixed = post_upload(console.client, token, [("good.txt", ARTICLE.format(n=9).encode()),
                                          ("empty.txt", b"")])
    assert mixed.status_code == 303, "refused files send the upload through the dry run"
    review = mixed.headers["Location"]
    assert any("empty.txt" in r and "empty file" in r
               for r in rows(parse_html(console.client.get(review).data), "failures"))
    assert console.client.post(review, data={"csrf_token": token, "decision": "index"}) \
        .status_code == 303
    assert wait_for_job(console.client)["summary"]["failed"] == 0
    uploads = console.instance / "uploads"
    assert sorted(p.name for p in uploads.iterdir()) == ["good.txt"]


# -- removing a file ---------------------------------------------------------------------------


def _search_total(client, q: str, expect: int | None = None) -> int:
    """Hits for `q`; with `expect`, waited for (new commits are seen within a second)."""
    deadline = time.monotonic() + 5
    while True:
        total = client.get(f"/api/search?q={q}").get_json()["total"]
        if expect is None or total == expect or time.monotonic() > deadline:
            return total
        time.sleep(0.1)


def test_removing_a_file_through_the_console(tmp_path):
    console = make_console(tmp_path, files=5)
    client = console.client
    (console.src / "empty.txt").write_text("")
    outside = tmp_path / "outside.txt"
    outside.write_text(ARTICLE.format(n=1))
    (console.src / "link.txt").symlink_to(outside)
    token = sign_in(client)
    start_reindex(client, token)
    assert wait_for_job(client)["summary"]["failed"] >= 1
    assert _search_total(client, "Marker3") == 1
    source = str(console.src.resolve())

    # The failed file has a removal link on the job page; it leads to a confirmation.
    page = parse_html(client.get("/admin/job").data)
    links = [a.get("href") for a in page.xpath("//table[contains(@class,'failures')]//a")]
    assert any("file=empty.txt" in href for href in links)
    confirm = client.get("/admin/remove", query_string={"source": source,
                                                        "file": "article-000003.txt"})
    assert confirm.status_code == 200
    form = parse_html(confirm.data).xpath("//form[@action='/admin/remove']")[0]
    assert form.get("method") == "post" and form.xpath(".//input[@name='csrf_token']")
    assert (console.src / "article-000003.txt").is_file(), "showing the page deletes nothing"

    target = {"source": source, "file": "article-000003.txt"}
    no_token = client.post("/admin/remove", data={**target, "confirm": "remove"})
    assert no_token.status_code == 400
    unconfirmed = client.post("/admin/remove", data={**target, "csrf_token": token})
    assert unconfirmed.status_code == 400
    assert (console.src / "article-000003.txt").is_file()

    done = client.post("/admin/remove", data={**target, "csrf_token": token, "confirm": "remove"})
    assert done.status_code == 303 and done.headers["Location"] == "/admin/job"
    state = wait_for_job(client)
    assert state["kind"] == "remove" and state["summary"]["removed"] == 1
    assert not (console.src / "article-000003.txt").exists()
    assert _search_total(client, "Marker3", expect=0) == 0, "its articles left the index"
    assert _search_total(client, "Marker2") == 1

    # Nothing outside a configured source can be named, however it is spelled.
    elsewhere = tmp_path / "elsewhere"
    write_corpus(elsewhere, 1)
    for attempt in ({"source": source, "file": "../outside.txt"},
                    {"source": source, "file": str(outside)},
                    {"source": source, "file": "link.txt"},
                    {"source": source, "file": "./article-000001.txt"},
                    {"source": source, "file": ".hidden"},
                    {"source": str(elsewhere), "file": "article-000000.txt"},
                    {"source": source + "/..", "file": "outside.txt"}):
        assert client.get("/admin/remove", query_string=attempt).status_code == 404, attempt
        refused = client.post("/admin/remove", data={**attempt, "csrf_token": token,
                                                     "confirm": "remove"})
        assert refused.status_code == 400, attempt
    assert outside.is_file() and (console.src / "link.txt").is_symlink()
    assert (elsewhere / "article-000000.txt").is_file()


# -- the uploads folder ----------------------------------------------------------------------------


def test_uploads_go_to_the_instance_uploads_folder_by_default(tmp_path):
    console = make_console(tmp_path, files=1)
    client = console.client
    token = sign_in(client)
    # A folder indexed once from the command line but not configured is not offered.
    from index.writer import update

    stray = tmp_path / "checkout" / "sample_archive"
    write_corpus(stray, 1)
    update(console.index_dir, [stray])

    uploads = (console.instance / "uploads").resolve()
    form = parse_html(client.get("/admin/upload").data)
    options = {o.get("value"): o for o in form.xpath("//select[@name='folder']/option")}
    assert list(options) == [str(uploads), str(console.src.resolve())]
    assert options[str(uploads)].get("selected") is not None
    assert str(stray) not in options
    assert not uploads.exists(), "created on demand, not by looking at the form"

    response = post_upload(client, token, [("harbour.txt", ARTICLE.format(n=71).encode())])
    assert response.status_code == 303
    assert wait_for_job(client)["summary"]["added"] == 1
    assert (uploads / "harbour.txt").is_file()
    assert not (console.src / "harbour.txt").exists()
    assert _search_total(client, "Quayside71", expect=1) == 1
    sources = parse_html(client.get("/admin/").data)
    assert any(str(uploads) in r and "uploads" in r for r in rows(sources, "sources"))

    # A configured source can still be chosen.
    chosen = post_upload(client, token, [("pier.txt", ARTICLE.format(n=72).encode())],
                   folder=console.src.resolve())
    assert chosen.status_code == 303 and wait_for_job(client)["status"] == "done"
    assert (console.src / "pier.txt").is_file()


def test_the_uploads_folder_can_be_configured(tmp_path):
    elsewhere = tmp_path / "incoming"
    console = make_console(tmp_path, files=1, UPLOAD_DIR=str(elsewhere))
    token = sign_in(console.client)
    assert post_upload(console.client, token, [("a.txt", ARTICLE.format(n=5).encode())]) \
        .status_code == 303
    wait_for_job(console.client)
    assert (elsewhere / "a.txt").is_file()
    assert not (console.instance / "uploads").exists()


# -- the history tells every run as it went ---------------------------------------------------


def _cli_index(index_dir: Path, *paths: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "webui.cli", "--index-dir", str(index_dir), "index",
         *map(str, paths)], cwd=ROOT, capture_output=True, text=True, timeout=240)


def test_command_line_runs_appear_in_the_history_with_their_real_outcome(tmp_path):
    src = tmp_path / "src"
    write_corpus(src, 3)
    (src / "empty.txt").write_text("")
    (src / "scan.txt").write_bytes(b"\x00\x01PDF\x00" * 100)
    run = _cli_index(tmp_path / "index", src)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip().endswith("failed 2")

    app = make_app(tmp_path, [src])
    client = app.test_client()
    token = sign_in(client)
    page = parse_html(client.get("/admin/history").data)
    [row] = page.xpath("//table[contains(@class,'history')]/tbody/tr")
    text = row.text_content()
    assert f"Index {src.resolve()}" in text and "(command line)" in text
    badge = row.xpath(".//*[@data-outcome]")[0]
    assert badge.text_content().strip() == "Finished, 2 failed"
    assert "badge-warn" in badge.get("class") and "badge-done" not in badge.get("class")

    details = client.get(row.xpath(".//a")[0].get("href"))
    assert details.status_code == 200
    detail = parse_html(details.data)
    assert figure(detail, "added") == "3" and figure(detail, "failed") == "2"
    failed = rows(detail, "failures")
    assert any("empty.txt" in r and "empty file" in r for r in failed)
    assert any("scan.txt" in r and "binary content" in r for r in failed)

    # A clean run is green "Done"; the console's own runs sit beside the CLI's.
    (src / "empty.txt").unlink()
    (src / "scan.txt").unlink()
    assert _cli_index(tmp_path / "index", src).returncode == 0
    start_reindex(client, token)
    wait_for_job(client)
    page = parse_html(client.get("/admin/history").data)
    outcomes = [b.text_content().strip() for b in page.xpath("//table//*[@data-outcome]")]
    tones = [b.get("data-outcome") for b in page.xpath("//table//*[@data-outcome]")]
    assert outcomes == ["Done", "Done", "Finished, 2 failed"]
    assert tones == ["done", "done", "warn"]
    recent = parse_html(client.get("/admin/").data).xpath("//ul[@class='recent']//a")
    assert len(recent) == 3 and all("/admin/history/" in a.get("href") for a in recent)
    assert history.recent(tmp_path / "index", 1)[0].via == "console"


def test_a_console_run_with_failures_is_not_green_in_the_history(tmp_path):
    console = make_console(tmp_path, files=3)
    (console.src / "empty.txt").write_text("")
    token = sign_in(console.client)
    start_reindex(console.client, token)
    wait_for_job(console.client)
    page = parse_html(console.client.get("/admin/history").data)
    badge = page.xpath("//table//*[@data-outcome]")[0]
    assert badge.text_content().strip() == "Finished, 1 failed"
    assert badge.get("data-outcome") == "warn"


def test_an_older_history_in_the_instance_folder_is_kept(tmp_path):
    console = make_console(tmp_path, files=1)
    old = history.Entry(job="abc123", kind="reindex", label="An older run", who="Ann",
                        started="2024-01-01T10:00:00+0000", finished="2024-01-01T10:00:05+0000",
                        seconds=5.0, status="done")
    history.append(console.instance, old)
    sign_in(console.client)
    page = console.client.get("/admin/history").data.decode()
    assert "An older run" in page
    assert (console.index_dir / history.HISTORY_FILE).is_file()
    assert not (console.instance / history.HISTORY_FILE).exists()
    assert os.path.getsize(console.index_dir / history.HISTORY_FILE) > 0
