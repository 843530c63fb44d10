"""The readers' web UI and the `archivist` command line.

`create_app` is the only entry point: nothing is opened or read at import
time, so tests and the CLI can build as many apps as they need. The search
engine is opened by the first request that needs it (`webui.backend`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask, url_for

from webui import config as app_config


def create_app(test_config: Mapping[str, Any] | None = None,
               instance_path: str | None = None) -> Flask:
    """Build the Flask app; `test_config` overrides every other setting.

    `instance_path` replaces Flask's default instance folder (beside the
    package), where the index, the console's password hash, secret key and
    run history live; tests give each app its own.
    """
    app = Flask(__name__, instance_relative_config=True, instance_path=instance_path)
    app_config.load(app.config, app.instance_path, test_config)

    from webui import api, backend, errors, exports, proxy, security, views

    proxy.init_app(app)
    backend.init_app(app)
    security.init_app(app)
    errors.init_app(app)
    app.register_blueprint(views.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(exports.bp)

    from webui import admin

    admin.init_app(app)

    @app.context_processor
    def _assets() -> dict[str, Any]:
        # The few fixed URLs every page needs; search-state links come from presenters.
        return {"assets": {
            "home": url_for("pages.search"),
            "css": url_for("static", filename="app.css"),
            "js": url_for("static", filename="app.js"),
            "complete_js": url_for("static", filename="complete.js"),
            "complete": url_for("pages.complete"),
            "htmx": url_for("static", filename="htmx.min.js"),
            "icon": url_for("static", filename="favicon.svg"),
            "max_q": app.config["MAX_QUERY_CHARS"],
        }}

    return app
