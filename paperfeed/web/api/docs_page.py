"""``/docs``: Swagger UI for ``/openapi.json``, served from the vendored copy in
``static/swagger-ui`` (see ``static/vendor-swagger-ui.sh``), never from a CDN.

The page has no inline script (the site's Content-Security-Policy forbids it): the start-up
code is ``/docs/init.js``. The online validator badge is off: it would send the schema to a
third party.
"""

from __future__ import annotations

import html
import json
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles

SWAGGER_DIR = Path(__file__).resolve().parent.parent / "static" / "swagger-ui"
SWAGGER_URL = "/static/swagger-ui"

PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<link rel="stylesheet" href="{assets}/swagger-ui.css">
<link rel="icon" type="image/png" href="{assets}/favicon-32x32.png">
</head>
<body>
<div id="swagger-ui"></div>
<script src="{assets}/swagger-ui-bundle.js"></script>
<script src="/docs/init.js"></script>
</body>
</html>
"""

INIT = """window.ui = SwaggerUIBundle({
  url: %s,
  dom_id: "#swagger-ui",
  deepLinking: true,
  validatorUrl: null,
  presets: [SwaggerUIBundle.presets.apis],
  layout: "BaseLayout"
});
"""


def install_docs(app: FastAPI, title: str) -> None:
    """Mount the Swagger UI assets and add ``/docs`` (replacing FastAPI's CDN page)."""
    app.router.routes[:] = [
        r for r in app.router.routes
        if getattr(r, "path", None) not in ("/docs", "/redoc", "/docs/oauth2-redirect")
    ]
    app.mount(SWAGGER_URL, StaticFiles(directory=SWAGGER_DIR), name="swagger-ui")
    page = PAGE.format(title=html.escape(f"{title} API"), assets=SWAGGER_URL)
    init = INIT % json.dumps(app.openapi_url or "/openapi.json")

    @app.get("/docs", include_in_schema=False)
    def swagger_ui() -> HTMLResponse:
        return HTMLResponse(page)

    @app.get("/docs/init.js", include_in_schema=False)
    def swagger_ui_init() -> Response:
        return Response(init, media_type="text/javascript")
