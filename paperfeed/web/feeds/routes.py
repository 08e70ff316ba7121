"""Atom feed routes: daily, trending, category, search, author, public collection, and each
user's personalised feed behind a secret URL.

Entries carry the abstract (as text, and as escaped HTML content with authors and links),
authors, arXiv categories and links to the paper page, arXiv and the PDF. Feeds are cached
like the JSON API (ETag, Last-Modified, 304) and answer errors as ``{"error": ...}``.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Annotated, Literal
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response
from sqlalchemy import Connection, select

from paperfeed.identifiers import author_key
from paperfeed.index.summaries import tldr_source_label
from paperfeed.ingest.normalize import is_arxiv_category
from paperfeed.rank import listings, periods
from paperfeed.rank.cards import PaperCard, load_cards
from paperfeed.rank.trending import TRENDING_FORMULA
from paperfeed.store.collections import collection_paper_ids, get_collection
from paperfeed.store.feed_keys import feed_key
from paperfeed.store.schema import authors, papers
from paperfeed.store.users import get_user_by_username

from ..api.caching import conditional_response
from ..api.errors import ERROR_RESPONSES, ApiError
from ..api.paper_views import PaperViews, load_submissions
from ..deps import DbConn, EmbedderDep, SettingsDep, Views
from ..pages.for_you import for_you_papers
from ..request_limits import RateLimited
from .atom import MEDIA_TYPE, AtomEntry, AtomFeed, AtomLink, render_atom
from .personal import is_personal_feed_secret

router = APIRouter(tags=["feeds"], responses=ERROR_RESPONSES)

FEED_SIZE = 50
ATOM_RESPONSE: dict[int | str, dict[str, object]] = {
    200: {"content": {"application/atom+xml": {}}, "description": "An Atom 1.0 feed"}
}


def paper_entries(
    conn: Connection,
    views: PaperViews,
    cards: Sequence[PaperCard],
    reasons: Sequence[str] | None = None,
) -> list[AtomEntry]:
    """One Atom entry per card, in order; ``reasons`` (why each is in the feed) go first
    in the content."""
    subs = load_submissions(conn, [c.id for c in cards])
    entries = []
    for i, card in enumerate(cards):
        paper = views.from_card(card, subs.get(card.id))
        links = [
            AtomLink(paper.url, "alternate", "text/html"),
            AtomLink(paper.arxivUrl, "related", "text/html", "arXiv"),
            AtomLink(paper.pdfUrl, "related", "application/pdf", "PDF"),
        ]
        if paper.githubRepo:
            links.append(AtomLink(paper.githubRepo, "related", None, "Code"))
        if paper.projectPage:
            links.append(AtomLink(paper.projectPage, "related", None, "Project page"))
        link_html = " · ".join(
            f'<a href="{html.escape(link.href)}">{html.escape(link.title or "Page")}</a>'
            for link in links
        )
        why = f"<p><em>{html.escape(reasons[i])}</em></p>" if reasons and reasons[i] else ""
        tldr = (f"<p><strong>TL;DR:</strong> {html.escape(card.tldr)} "
                f"<em>({html.escape(tldr_source_label(card.tldr_source))})</em></p>"
                if card.tldr else "")
        if card.keywords:
            tldr += "<p>Keywords: " + ", ".join(
                f'<a href="{html.escape(views.base_url)}/search?q={quote(k, safe="")}">'
                f"{html.escape(k)}</a>" for k in card.keywords) + "</p>"
        hf = f" · ▲ {card.hf_upvotes} on Hugging Face" if card.hf_upvotes is not None else ""
        if card.github_stars is not None:
            hf += f" · ★ {card.github_stars} GitHub stars"
        content = (
            f"{why}<p>{html.escape(', '.join(card.authors))}</p>{tldr}"
            f"<p>{html.escape(card.abstract)}</p>"
            f"<p>{card.upvotes} upvotes · {card.num_comments} comments{hf} · {link_html}</p>"
        )
        entries.append(
            AtomEntry(
                id=paper.url,
                title=card.title,
                updated=paper.submittedOnDailyAt or paper.publishedAt,
                published=paper.publishedAt,
                summary=card.abstract,
                authors=list(card.authors),
                links=links,
                categories=list(card.categories),
                content_html=content,
            )
        )
    return entries


def atom_response(
    request: Request, settings: SettingsDep, feed: AtomFeed, *, private: bool = False
) -> Response:
    """The rendered feed with ETag / Last-Modified (304 when the reader has it)."""
    return conditional_response(
        request, render_atom(feed), media_type=MEDIA_TYPE, max_age=settings.cache_seconds,
        private=private,
    )


def make_feed(
    request: Request, settings: SettingsDep, title: str, site_path: str, subtitle: str = ""
) -> AtomFeed:
    """An empty feed titled for this site, its id and self link the requested URL."""
    self_url = settings.base_url + quote(request.url.path, safe="/:@!$'()*+,;=")
    if request.url.query:
        self_url += "?" + request.url.query
    return AtomFeed(
        id=self_url,
        title=f"{settings.site_name}: {title}",
        subtitle=subtitle,
        self_url=self_url,
        site_url=settings.base_url + site_path,
        generator=settings.site_name,
        author=settings.site_name,
    )


@router.get("/feeds/daily.atom", response_class=Response, responses=ATOM_RESPONSE,
            summary="Papers of a day (default: the newest), ranked by the trending score")
def daily_feed(
    request: Request, conn: DbConn, settings: SettingsDep, views: Views,
    date: Annotated[str | None, Query(max_length=10, description="YYYY-MM-DD")] = None,
) -> Response:
    try:
        day = periods.parse_day(date) if date else listings.today(conn)
    except periods.InvalidPeriod as exc:
        raise ApiError(400, str(exc)) from exc
    feed = make_feed(request, settings, "daily papers", "/")
    if day is not None:
        listing = listings.list_period(conn, periods.day_period(day), limit=FEED_SIZE)
        feed.subtitle = f"Papers of {day.isoformat()}"
        feed.entries = paper_entries(conn, views, listing.items)
    return atom_response(request, settings, feed)


@router.get("/feeds/trending.atom", response_class=Response, responses=ATOM_RESPONSE,
            summary="Trending papers of a window")
def trending_feed(
    request: Request, conn: DbConn, settings: SettingsDep, views: Views,
    window: Literal["day", "week", "month"] = "week",
) -> Response:
    listing = listings.trending(conn, window, limit=FEED_SIZE)
    feed = make_feed(request, settings, f"trending this {window}", f"/trending?window={window}",
                     TRENDING_FORMULA)
    feed.entries = paper_entries(conn, views, listing.items)
    return atom_response(request, settings, feed)


@router.get("/feeds/categories/{category}.atom", response_class=Response,
            responses=ATOM_RESPONSE, summary="Newest papers in an arXiv category")
def category_feed(
    request: Request, conn: DbConn, settings: SettingsDep, views: Views,
    category: Annotated[str, Path(max_length=32, description="e.g. cs.CV")],
) -> Response:
    if not is_arxiv_category(category):
        raise ApiError(404, f"no such category: {category[:40]!r}")
    listing = listings.list_recent(conn, category=category, limit=FEED_SIZE)
    feed = make_feed(request, settings, category, f"/categories/{quote(category)}")
    feed.entries = paper_entries(conn, views, listing.items)
    return atom_response(request, settings, feed)


@router.get("/feeds/authors/{name}.atom", response_class=Response, responses=ATOM_RESPONSE,
            summary="Newest papers by an author")
def author_feed(
    request: Request, conn: DbConn, settings: SettingsDep, views: Views,
    name: Annotated[str, Path(max_length=300, description="The author's name as listed.")],
) -> Response:
    key = author_key(name)
    row = (conn.execute(select(authors.c.name).where(authors.c.name_key == key)).first()
           if key else None)
    if row is None:
        raise ApiError(404, "no paper here lists that author")
    listing = listings.list_recent(conn, author_key=key, limit=FEED_SIZE)
    feed = make_feed(request, settings, f"papers by {row.name}", f"/authors/{quote(row.name)}")
    feed.entries = paper_entries(conn, views, listing.items)
    return atom_response(request, settings, feed)


@router.get("/feeds/collections/{collection_id}.atom", response_class=Response,
            responses=ATOM_RESPONSE, summary="The papers of a public collection")
def collection_feed(
    request: Request, conn: DbConn, settings: SettingsDep, views: Views,
    collection_id: Annotated[int, Path(ge=1, le=2**62)],
) -> Response:
    found = get_collection(conn, collection_id, viewer_id=None)
    if found is None or not found.is_public:
        raise ApiError(404, f"no public collection {collection_id}")
    ids = visible_ids(conn, collection_paper_ids(conn, collection_id))[:FEED_SIZE]
    cards = load_cards(conn, ids)
    feed = make_feed(request, settings, f"{found.name} (collection by {found.owner})",
                     f"/collections/{collection_id}", found.description)
    feed.entries = paper_entries(conn, views, [cards[i] for i in ids if i in cards])
    return atom_response(request, settings, feed)


def visible_ids(conn: Connection, paper_ids: Sequence[int]) -> list[int]:
    """``paper_ids`` without hidden papers, order kept."""
    if not paper_ids:
        return []
    visible = set(conn.execute(
        select(papers.c.id).where(papers.c.id.in_(list(paper_ids)), papers.c.hidden.is_(False))
    ).scalars())
    return [i for i in paper_ids if i in visible]


@router.get("/feeds/search.atom", response_class=Response, responses=ATOM_RESPONSE,
            summary="The best matches of a search query", dependencies=[RateLimited("search")])
def search_feed(
    request: Request, conn: DbConn, settings: SettingsDep, views: Views, embedder: EmbedderDep,
    q: Annotated[str, Query(min_length=1, max_length=500, description="A search query.")],
) -> Response:
    """What the search page shows for ``q`` (hybrid search), as a feed to follow."""
    from ..api.search import run_search

    results = run_search(conn, embedder, q, limit=FEED_SIZE, offset=0)
    cards = load_cards(conn, results.paper_ids)
    feed = make_feed(request, settings, f"search “{q}”", f"/search?{urlencode({'q': q})}")
    feed.entries = paper_entries(conn, views, [cards[i] for i in results.paper_ids if i in cards])
    return atom_response(request, settings, feed)


@router.get("/feeds/users/{username}/{secret}.atom", response_class=Response,
            responses=ATOM_RESPONSE, summary="A user's personalised feed (secret URL)",
            dependencies=[RateLimited("feed")])
def personal_feed(
    request: Request, conn: DbConn, settings: SettingsDep, views: Views, embedder: EmbedderDep,
    username: Annotated[str, Path(max_length=40)],
    secret: Annotated[str, Path(max_length=64)],
) -> Response:
    """The user's "For you" papers of the last 7 days with the reason for each. The URL is
    the credential (see ``/api/me`` ``feedUrl`` and account settings, where the user can
    change it); a wrong one is a 404."""
    user = get_user_by_username(conn, username)
    if user is None or user.disabled or not is_personal_feed_secret(
        settings.secret_key, user.id, secret, feed_key(conn, user.id)
    ):
        raise ApiError(404, "no such feed")
    feed = make_feed(request, settings, f"papers for {user.name}", "/for-you")
    feed.id = f"{settings.base_url}/feeds/users/{user.username}"  # the id must not leak the secret
    recs = for_you_papers(conn, user.id, embedder.get(), limit=FEED_SIZE)
    cards = [r.card for r in recs if isinstance(r.card, PaperCard)]
    feed.entries = paper_entries(conn, views, cards, [r.reason for r in recs])
    return atom_response(request, settings, feed, private=True)
