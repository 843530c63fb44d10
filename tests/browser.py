"""What the browser tests share: which Chromium, how it starts, and a watched tab.

The fixtures that hand these out (`browser`, `open_tab`, `tab`) are in
`tests/conftest.py`; this module holds the plain parts, so a test can also
open a `Tab` on a server of its own. A `Tab` records what must never happen
on an Archivist page: a script error, a dialog (an `alert` from a hostile
archive would be one), a Content-Security-Policy complaint. `close` checks
all three, so a test cannot forget to.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

#: Debian's chromium (Playwright's own browser builds cannot be downloaded here);
#: ARCHIVIST_CHROMIUM names another.
CHROMIUM = (os.environ.get("ARCHIVIST_CHROMIUM") or shutil.which("chromium")
            or "/usr/bin/chromium")
ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
#: Screenshots for a person to look at (ignored by git).
ARTIFACTS = Path(__file__).parent / "artifacts"


class Tab:
    """A page in a browser context of its own, watched for errors, dialogs and
    CSP complaints, and for the requests it makes."""

    def __init__(self, browser, base: str, **context) -> None:
        self.base = base
        self.context = browser.new_context(**{"viewport": {"width": 1280, "height": 900},
                                              **context})
        self.page = self.context.new_page()
        self.page.set_default_timeout(5000)
        self.dialogs: list[str] = []
        self.errors: list[str] = []
        self.console: list[str] = []
        self.requests: list[str] = []
        self.page.on("dialog", self._dialog)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("console", lambda m: self.console.append(m.text))
        self.page.on("request", lambda r: self.requests.append(r.url))
        self._closed = False

    def _dialog(self, dialog) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def goto(self, path: str):
        """Load `path` of the server; the Playwright page."""
        self.page.goto(self.base + path)
        return self.page

    def query(self) -> dict[str, list[str]]:
        """The current URL's query string, parsed."""
        return parse_qs(urlsplit(self.page.url).query)

    def requested(self, part: str) -> list[str]:
        """The URLs this tab asked for that contain `part`, in order."""
        return [url for url in self.requests if part in url]

    def close(self) -> None:
        """Close the context (once), then fail if anything untoward happened."""
        if not self._closed:
            self._closed = True
            self.context.close()
        assert self.dialogs == [], self.dialogs
        assert self.errors == [], self.errors
        assert not [m for m in self.console if "Content Security Policy" in m], self.console


def mark_document(page) -> None:
    """Mark the loaded document: a full page load loses the mark, an htmx swap keeps it."""
    page.evaluate("window.__sameDocument = true")


def same_document(page) -> bool:
    """True while the document marked by `mark_document` is still the one shown."""
    return page.evaluate("window.__sameDocument === true")
