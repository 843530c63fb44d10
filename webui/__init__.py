"""The readers' web UI and the `archivist` command line.

`create_app` is the only entry point: nothing is opened or read at import
time, so tests and the CLI can build as many apps as they need.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask

from webui import config as app_config


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """Build the Flask app; `test_config` overrides every other setting."""
    app = Flask(__name__, instance_relative_config=True)
    app_config.load(app.config, app.instance_path, test_config)
    return app
