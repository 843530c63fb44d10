"""The console in real Chromium: sign in, upload, watch the job, find the new article.

Also leaves screenshots of the console under `tests/artifacts/console/` (the
health charts, a running job, a summary with failures) for people to look at.
"""

from __future__ import annotations

from tests.browser import ARTIFACTS
from tests.console_fixtures import PASSWORD, make_app
from tests.corpus import write_corpus
from tests.webui_fixtures import LiveServer

SHOTS = ARTIFACTS / "console"

NEW_ARTICLE = (
    "Lighthouse keepers return to Cape Vessel\n\n2024/03/09 | maritime, heritage\n\n"
    "The restored lighthouse at Cape Vessel has keepers again. Zanzibarite surveyors said "
    "the lamp room was rebuilt with the original lens.\n"
)


def test_upload_progress_and_the_new_article_is_found(tmp_path, browser):
    src = tmp_path / "src"
    write_corpus(src, 30)
    app = make_app(tmp_path, [src])
    SHOTS.mkdir(parents=True, exist_ok=True)
    upload_file = tmp_path / "lighthouse.txt"
    upload_file.write_text(NEW_ARTICLE, encoding="utf-8")

    with LiveServer(app) as live:
        page = browser.new_page(viewport={"width": 1200, "height": 900})
        problems: list[str] = []
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: problems.append(str(e)))
        missing: list[str] = []
        page.on("response", lambda r: missing.append(r.url) if r.status == 404 else None)

        page.goto(f"{live.url}/admin/")
        assert "/admin/login" in page.url
        page.fill("#name", "Ann")
        page.fill("#password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"{live.url}/admin/")

        # First run: index the folder from the browser.
        page.click("text=Reindex all now")
        page.wait_for_url(f"{live.url}/admin/job")
        page.wait_for_selector("[data-status=done]", timeout=60_000)

        # Upload one new article; it is indexed right away with the same progress view.
        page.goto(f"{live.url}/admin/upload")
        page.set_input_files("#files", str(upload_file))
        page.click("text=Upload and index")
        page.wait_for_url(f"{live.url}/admin/job")
        page.wait_for_selector("[data-status=done]", timeout=60_000)
        assert page.text_content("[data-figure=added]").strip() == "1"
        assert "Index an upload of 1 file" in page.text_content("#job-title")
        # By default uploads go to the instance's own uploads folder, not a source's.
        assert (tmp_path / "instance" / "uploads" / "lighthouse.txt").is_file()
        assert not (src / "lighthouse.txt").exists()

        # A reader finds it.
        page.goto(f"{live.url}/?q=Zanzibarite")
        page.wait_for_selector("text=Lighthouse keepers return to Cape Vessel", timeout=10_000)

        # The health page with its charts.
        page.goto(f"{live.url}/admin/health")
        assert page.locator("svg.columns rect").count() >= 5
        assert page.locator("svg.rows rect").count() >= 5
        page.screenshot(path=str(SHOTS / "health.png"), full_page=True)

        # A long run with failures: watched live, then its summary.
        write_corpus(src, 1500, start=1000)
        (src / "empty.txt").write_text("")
        (src / "scan.txt").write_bytes(b"\x00\x01PDF\x00" * 100)
        (src / "broken.jsonl").write_text('{"title": "no body"}\nnot json\n')
        page.goto(f"{live.url}/admin/")
        page.click("text=Reindex all now")
        page.wait_for_url(f"{live.url}/admin/job")
        page.wait_for_function(
            "() => { const p = document.querySelector('progress.job-progress');"
            " return p && p.value > 5 && p.value < 90; }", timeout=60_000)
        page.screenshot(path=str(SHOTS / "running-job.png"), full_page=True)
        # htmx swaps the panel in place until the summary arrives.
        page.wait_for_selector("[data-status=done]", timeout=120_000)
        assert page.text_content("[data-figure=added]").strip() == "1,500"
        assert page.text_content("[data-figure=failed]").strip() == "4"
        failures = page.text_content("table.failures")
        assert "empty.txt" in failures and "binary content" in failures
        page.screenshot(path=str(SHOTS / "summary-with-failures.png"), full_page=True)

        assert "Finished, 4 failed" in page.text_content("[data-status=done]")
        page.goto(f"{live.url}/admin/")
        page.screenshot(path=str(SHOTS / "sources.png"), full_page=True)
        page.goto(f"{live.url}/admin/history")
        page.screenshot(path=str(SHOTS / "history.png"), full_page=True)
        assert page.locator("table.history tbody tr").count() == 3
        # The run with failures is not green there, and its details list the failed files.
        newest = page.locator("table.history tbody tr").first
        assert newest.locator("[data-outcome]").text_content().strip() == "Finished, 4 failed"
        assert "badge-warn" in newest.locator("[data-outcome]").get_attribute("class")
        newest.locator("a").click()
        page.wait_for_selector("table.failures")
        assert "empty.txt" in page.text_content("table.failures")
        page.screenshot(path=str(SHOTS / "history-run.png"), full_page=True)

        page.context.close()  # the browser is the whole run's; this page's context is not
        # Browsers ask for a favicon by themselves; nothing else may be missing.
        assert [u for u in missing if not u.endswith("/favicon.ico")] == []
        assert not [p for p in problems if "404" not in p], problems
