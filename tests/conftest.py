"""The fixtures that several test modules share; pytest finds them here by name.

A fixture used by one module stays in that module. What more than one needs
lives here, once:

- `corpus_index`: the web UI's test corpus (`tests.webui_fixtures.corpus`)
  indexed once per run through the real writer; read-only, so every module
  may search it.
- `index_dir`, `app`, `client`: a module's Flask app and its test client,
  over `corpus_index` unless the module defines its own `index_dir`.
- `live`: the app on `corpus_index`, served by waitress on a free loopback
  port (one server per module; a module that needs another archive defines
  its own `live`, and the browser fixtures below follow it).
- `browser`, `open_tab`, `tab`: one Chromium for the whole run, and tabs that
  fail the test if a page raised a script error, opened a dialog, or broke
  the Content-Security-Policy (`tests.browser.Tab`). Without Playwright or
  Chromium they skip.
- `typesense_cluster`: a real 3-node Typesense cluster (`tests.cluster`),
  started once per run when a test asks for it, stopped at the end.
- `figures`: a test's measured figures, printed as they come and listed
  again in pytest's closing summary, so CI output carries them.

Plain helpers (building an index, parsing HTML, starting a server process)
are in ordinary modules, imported as `tests.<module>`: `tests.webui_fixtures`,
`tests.console_fixtures`, `tests.servers`, `tests.browser`, `tests.cluster`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.webui_fixtures import LiveServer, build_index

# -- figures --------------------------------------------------------------------------

_FIGURES = pytest.StashKey[list[str]]()


@pytest.fixture
def figures(request: pytest.FixtureRequest) -> Callable[[str], None]:
    """A function that records one line of figures measured by the test."""
    recorded = request.config.stash.setdefault(_FIGURES, [])

    def record(line: str) -> None:
        print(line)
        recorded.append(line)

    return record


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    lines = config.stash.get(_FIGURES, [])
    if lines:
        terminalreporter.section("figures")
        for line in lines:
            terminalreporter.write_line(line)


# -- the web UI on the shared corpus -------------------------------------------------------


@pytest.fixture(scope="session")
def corpus_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The index folder of `corpus()`, built once; tests must not write to it."""
    return build_index(tmp_path_factory.mktemp("corpus") / "index")


@pytest.fixture(scope="module")
def index_dir(corpus_index: Path) -> Path:
    """The index that `app` serves: `corpus_index`, unless the module defines
    an `index_dir` of its own (an archive built for its tests)."""
    return corpus_index


@pytest.fixture(scope="module")
def app(index_dir: Path):
    """The Flask app on `index_dir`, one per module, with TESTING on."""
    from webui import create_app
    from webui.backend import close_engine

    app = create_app({"INDEX_DIR": str(index_dir), "TESTING": True})
    yield app
    close_engine(app)


@pytest.fixture
def client(app):
    """Flask's test client for `app`: requests without a server, pages to parse."""
    return app.test_client()


@pytest.fixture(scope="module")
def live(corpus_index: Path) -> Iterator[LiveServer]:
    """The app on `corpus_index`, served on a free loopback port."""
    from webui import create_app
    from webui.backend import close_engine

    app = create_app({"INDEX_DIR": str(corpus_index)})
    with LiveServer(app) as server:
        yield server
    close_engine(app)


# -- a real browser ------------------------------------------------------------------------


@pytest.fixture(scope="session")
def browser():
    """One headless Chromium (Debian's) driven by Playwright, for the whole run."""
    from tests.browser import ARGS, CHROMIUM

    playwright = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.skip(f"needs Chromium at {CHROMIUM} (Debian's chromium package)")
    with playwright.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def open_tab(browser, live):
    """A function that opens a watched tab on the module's `live` server
    (keyword arguments go to the browser context: viewport, color_scheme...).
    Every tab it opened is closed and checked when the test ends."""
    from tests.browser import Tab

    tabs: list[Tab] = []

    def make(**context) -> Tab:
        tabs.append(Tab(browser, live.url, **context))
        return tabs[-1]

    yield make
    for t in tabs:
        t.close()


@pytest.fixture
def tab(open_tab):
    """A watched desktop-sized tab on the module's `live` server."""
    return open_tab()


# -- a Typesense cluster -------------------------------------------------------------------


@pytest.fixture(scope="session")
def typesense_cluster(tmp_path_factory: pytest.TempPathFactory):
    """A real 3-node Typesense cluster on free loopback ports, healthy when handed over.

    A test that kills a node must start it again before it ends; the cluster
    is the whole run's.
    """
    from tests.cluster import Cluster

    with Cluster(tmp_path_factory.mktemp("typesense"), size=3) as cluster:
        yield cluster
