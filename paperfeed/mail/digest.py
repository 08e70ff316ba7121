"""Building digests: which period a digest covers, which papers each subscriber gets (via
:mod:`paperfeed.rank.recommend`), and the rendered message.

A daily digest covers one arXiv announcement day; a weekly one the ISO week of the given
day. :class:`DigestBuilder` loads the period's papers and their vectors once, then builds
digests for any number of subscriptions in vectorised batches. Reading only: the send
ledger and delivery live in :mod:`paperfeed.mail.delivery`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from markupsafe import Markup, escape
from sqlalchemy import Connection, func, select

from paperfeed.config import Settings
from paperfeed.index.embedder import Embedder
from paperfeed.index.summaries import tldr_source_label
from paperfeed.rank.profiles import profiles_for_subscriptions
from paperfeed.rank.recommend import (
    DEFAULT_WEIGHTS,
    Candidates,
    MatrixSource,
    Recommendation,
    Weights,
    load_candidates,
    rank_profiles,
)
from paperfeed.store.schema import papers
from paperfeed.store.subscriptions import Subscription

from .messages import MessageRenderer, RenderedMessage, mail_domain, renderer_for
from .tokens import unsubscribe_token

_REASON = "\ue010"  # placeholders in cached paper cards (private-use characters:
_TOKEN = "\ue011"  # autoescaping leaves them alone, and no paper text contains them)
ABSTRACT_CHARS = 300
MAX_AUTHORS = 6


@dataclass(frozen=True, slots=True)
class DigestPeriod:
    """What a digest covers: ``key`` names it in the ledger ("daily:2026-08-14")."""

    frequency: str
    start: dt.date
    end: dt.date

    @property
    def key(self) -> str:
        if self.frequency == "weekly":
            year, week, _ = self.start.isocalendar()
            return f"weekly:{year}-W{week:02d}"
        return f"daily:{self.start.isoformat()}"

    @property
    def label(self) -> str:
        if self.frequency == "weekly":
            year, week, _ = self.start.isocalendar()
            return f"week {week} of {year} ({self.start:%b %-d} – {self.end:%b %-d})"
        return self.start.strftime("%A, %B %-d, %Y")


def period_for(frequency: str, day: dt.date) -> DigestPeriod:
    """The daily period of ``day`` or the ISO week (Monday..Sunday) containing it."""
    if frequency == "weekly":
        monday = day - dt.timedelta(days=day.weekday())
        return DigestPeriod("weekly", monday, monday + dt.timedelta(days=6))
    if frequency != "daily":
        raise ValueError("frequency must be daily or weekly")
    return DigestPeriod("daily", day, day)


def newest_day(conn: Connection) -> dt.date | None:
    """The newest announcement day in the database (the default digest day)."""
    return conn.execute(
        select(func.max(papers.c.announced_on)).where(papers.c.hidden.is_(False))
    ).scalar()


@dataclass(slots=True)
class Digest:
    """One subscriber's digest: the picks and the rendered message (None when empty)."""

    subscription: Subscription
    picks: list[Recommendation]
    rendered: RenderedMessage | None

    @property
    def paper_ids(self) -> list[int]:
        return [r.paper_id for r in self.picks]


def list_unsubscribe_headers(settings: Settings, sub_id: int, email: str) -> dict[str, str]:
    """RFC 2369 / RFC 8058 headers: https and mailto unsubscribe with a signed token."""
    token = unsubscribe_token(settings, sub_id, email)
    mailto = settings.mail_unsubscribe_mailto or f"unsubscribe@{mail_domain(settings)}"
    return {
        "List-Unsubscribe": (
            f"<{settings.base_url}/unsubscribe/{token}>, "
            f"<mailto:{mailto}?subject={quote('unsubscribe ' + token)}>"
        ),
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        "List-Id": f"{settings.site_name} digest <digest.{mail_domain(settings)}>",
        "Auto-Submitted": "auto-generated",
        "Precedence": "bulk",
    }


class DigestBuilder:
    """Builds the digests of one period: candidates and cards loaded once, then
    :meth:`build` for batches of subscriptions."""

    def __init__(
        self,
        conn: Connection,
        settings: Settings,
        embedder: Embedder,
        period: DigestPeriod,
        *,
        weights: Weights = DEFAULT_WEIGHTS,
    ) -> None:
        self.settings = settings
        self.embedder = embedder
        self.period = period
        self.weights = weights
        self.matrix_for = MatrixSource(embedder)
        self.candidates: Candidates = load_candidates(conn, period.start, period.end,
                                                      self.matrix_for)
        self.renderer: MessageRenderer = renderer_for(settings)
        self._papers: dict[int, dict[str, Any]] = {}
        self._cards: dict[tuple[int, str, bool], str] = {}
        self._load_paper_views(conn)

    @property
    def paper_count(self) -> int:
        return len(self.candidates)

    def _load_paper_views(self, conn: Connection) -> None:
        from paperfeed.rank.cards import load_cards

        base = self.settings.base_url
        ids = [int(i) for i in self.candidates.ids]
        for start in range(0, len(ids), 900):
            for pid, card in load_cards(conn, ids[start : start + 900]).items():
                authors = list(card.authors)
                shown = ", ".join(authors[:MAX_AUTHORS]) + (
                    " et al." if len(authors) > MAX_AUTHORS else "")
                abstract = " ".join(card.abstract.split())
                if len(abstract) > ABSTRACT_CHARS:
                    abstract = abstract[: ABSTRACT_CHARS].rsplit(" ", 1)[0] + " …"
                self._papers[pid] = {
                    "arxiv_id": card.arxiv_id,
                    "title": " ".join(card.title.split()),
                    "authors": shown,
                    "abstract": abstract,
                    "url": f"{base}/papers/{quote(card.arxiv_id)}",
                    "abs_url": f"https://arxiv.org/abs/{quote(card.arxiv_id)}",
                    "pdf_url": f"https://arxiv.org/pdf/{quote(card.arxiv_id)}",
                    "code_url": card.code_url,
                    "category": card.primary_category or "",
                    "upvotes": card.upvotes,
                    "tldr": card.tldr,
                    "tldr_label": tldr_source_label(card.tldr_source),
                    "keywords": ", ".join(card.keywords),
                }

    def build(
        self, conn: Connection, subs: Sequence[Subscription], *, render: bool = True
    ) -> list[Digest]:
        """Digests for ``subs`` (aligned). Reads the database; never writes."""
        profiles = profiles_for_subscriptions(conn, subs, self.embedder, self.candidates,
                                              self.matrix_for)
        ranked = rank_profiles(profiles, self.candidates, self.weights)
        digests = []
        for sub, picks in zip(subs, ranked, strict=True):
            picks = [r for r in picks if r.paper_id in self._papers]
            rendered = self.render(sub, picks) if render and picks else None
            digests.append(Digest(sub, picks, rendered))
        return digests

    def context(self, sub: Subscription, picks: Sequence[Recommendation]) -> dict[str, Any]:
        """The template context of a digest (also used by /digest/preview)."""
        base = self.settings.base_url
        token = unsubscribe_token(self.settings, sub.id, sub.email)
        sections: list[dict[str, Any]] = []
        voted = any(r.section == "trending" and r.reason.startswith("trending") for r in picks)
        fresh = "New this week" if self.period.frequency == "weekly" else "New today"
        titles = {"trending": "Trending" if voted else fresh, "personal": "Picked for you"}
        for kind in ("trending", "personal"):
            items: list[dict[str, Any]] = []
            for rec in picks:
                if rec.section != kind:
                    continue
                view = dict(self._papers[rec.paper_id])
                view["reason"] = rec.reason
                view["card"] = Markup(
                    self._card(rec.paper_id, kind, first=not items)
                    .replace(_REASON, str(escape(rec.reason)))
                    .replace(_TOKEN, token)
                )
                items.append(view)
            if items:
                sections.append({"title": titles[kind], "kind": kind, "papers": items})
        heading = "Your weekly papers" if self.period.frequency == "weekly" else "Today's papers"
        top = self._papers[picks[0].paper_id]["title"] if picks else ""
        return {
            "heading": heading,
            "period_label": self.period.label,
            "paper_count": self.paper_count,
            "frequency": self.period.frequency,
            "email": sub.email,
            "sections": sections,
            "picks": list(picks),
            "top_title": top,
            "manage_url": f"{base}/subscription/{token}",
            "unsubscribe_url": f"{base}/unsubscribe/{token}",
            "preheader": "; ".join(self._papers[r.paper_id]["title"] for r in picks[:3])[:150],
        }

    def _card(self, paper_id: int, kind: str, *, first: bool) -> str:
        """The HTML of one paper in a section, rendered once per period with placeholders
        for the per-subscriber reason and "not interested" token (rendering every card of
        100,000 digests through Jinja2 would cost more than everything else together)."""
        key = (paper_id, kind, first)
        html = self._cards.get(key)
        if html is None:
            view = dict(self._papers[paper_id])
            view["reason"] = _REASON
            view["not_interested_url"] = (
                f"{self.settings.base_url}/not-interested/{_TOKEN}?paper={quote(view['arxiv_id'])}"
                if kind == "personal" else None
            )
            html = self.renderer.render_fragment(
                "digest/_paper.html", {"p": view, "kind": kind, "first": first}
            )
            self._cards[key] = html
        return html

    def render(self, sub: Subscription, picks: Sequence[Recommendation]) -> RenderedMessage:
        """The rendered digest message of ``sub``."""
        return self.renderer.render("digest", self.context(sub, picks))
