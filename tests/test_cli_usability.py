"""What a new user trips over on the command line."""

from __future__ import annotations

import socket

from click.testing import CliRunner

from tests.webui_fixtures import build_index
from webui.cli import main


def test_global_options_are_accepted_after_the_command_too(tmp_path):
    index_dir = build_index(tmp_path / "ix")
    runner = CliRunner()
    before = runner.invoke(main, ["--index-dir", str(index_dir), "search", "Marker7"])
    after = runner.invoke(main, ["search", "Marker7", "--index-dir", str(index_dir)])
    assert before.exit_code == after.exit_code == 0, after.output
    assert "Report 7" in after.output and after.output.split("(")[0] == before.output.split("(")[0]


def test_one_article_is_singular(tmp_path):
    index_dir = build_index(tmp_path / "ix")
    out = CliRunner().invoke(main, ["--index-dir", str(index_dir), "search", "Marker7"]).output
    assert out.startswith("1 article, page 1 of 1"), out


def test_a_port_in_use_is_named_with_another_to_choose(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = CliRunner().invoke(main, ["--index-dir", str(tmp_path / "ix"), "serve",
                                           "--port", str(port)])
    assert result.exit_code != 0
    assert "Traceback" not in result.output
    assert f"--port {port + 1}" in result.output and "in use" in result.output.lower()
    assert "pid" in result.output  # this test's own process holds it
