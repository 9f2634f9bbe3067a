"""Web page and HTTP API over the same engine as the CLI (``rtadvisor serve``).

``create_app(db)`` builds the FastAPI application; the page is static HTML/JS/CSS from
``web/static`` and ``web/templates`` (no CDN: nothing is fetched from the internet at run time).
"""

from __future__ import annotations

from .app import create_app

__all__ = ["create_app"]
