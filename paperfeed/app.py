"""create_app(settings) -> ASGI app: the composition root of the web side."""

from __future__ import annotations

import html

from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from sqlalchemy import select

from paperfeed.config import Settings, load_settings
from paperfeed.store.database import open_engine
from paperfeed.store.papers import newest_announced_on
from paperfeed.store.schema import papers


def create_app(settings: Settings) -> FastAPI:
    """The whole site for ``settings``: pages, JSON API and feeds."""
    engine = open_engine(settings.database_url)
    app = FastAPI(title=settings.site_name)

    @app.get("/", response_class=HTMLResponse)
    def home() -> str:
        with engine.connect() as conn:
            day = newest_announced_on(conn)
            rows = conn.execute(
                select(papers.c.arxiv_id, papers.c.title, papers.c.authors_text)
                .where(papers.c.announced_on == day)
                .order_by(papers.c.upvotes.desc(), papers.c.arxiv_id.desc())
                .limit(100)
            ).all()
        items = "".join(
            f"<li><a href='https://arxiv.org/abs/{html.escape(r.arxiv_id)}'>"
            f"{html.escape(r.title)}</a><br><small>{html.escape(r.authors_text)}</small></li>"
            for r in rows
        )
        return f"<!doctype html><title>paperfeed</title><h1>Papers of {day}</h1><ol>{items}</ol>"

    return app


def app_from_environment() -> FastAPI:
    """Factory for `uvicorn --factory` and `paperfeed serve`: settings from env/TOML."""
    return create_app(load_settings())
