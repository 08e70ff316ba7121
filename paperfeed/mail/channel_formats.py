"""The day's papers as each team platform wants them: Slack blocks, Discord embeds,
Mattermost / Matrix (hookshot) text, or a signed JSON webhook.

Every text that came from a paper or a user is escaped for the platform (Slack mrkdwn
``& < >``, Markdown specials for Discord / Mattermost, HTML for Matrix); links go back to
this site's paper pages.
"""

from __future__ import annotations

import hashlib
import hmac
import html
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass

SIGNATURE_HEADER = "X-Paperfeed-Signature"
TIMESTAMP_HEADER = "X-Paperfeed-Timestamp"
DELIVERY_HEADER = "X-Paperfeed-Delivery"
DISCORD_MAX_EMBEDS = 10  # Discord refuses more in one message


@dataclass(frozen=True, slots=True)
class PostItem:
    """One paper in a post."""

    arxiv_id: str
    title: str
    url: str
    authors: tuple[str, ...]
    upvotes: int
    summary: str = ""


@dataclass(frozen=True, slots=True)
class Post:
    """What a channel posts for a period: a heading and the papers."""

    heading: str
    feed_url: str
    items: tuple[PostItem, ...]


def _authors(item: PostItem, limit: int = 3) -> str:
    shown = ", ".join(item.authors[:limit])
    return shown + (" et al." if len(item.authors) > limit else "")


def _short(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def slack_escape(text: str) -> str:
    """Slack mrkdwn escaping: only ``&``, ``<`` and ``>`` are control characters."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


_MD_SPECIAL = re.compile(r"([\\`*_~|>\[\]()#<@!])")


def markdown_escape(text: str) -> str:
    """Discord / Mattermost Markdown with every special character taken literally (no
    mentions, links or formatting smuggled in through a title)."""
    return _MD_SPECIAL.sub(r"\\\1", text)


def slack_payload(post: Post) -> dict[str, object]:
    blocks: list[dict[str, object]] = [
        {"type": "header", "text": {"type": "plain_text", "text": _short(post.heading, 150)}},
    ]
    for item in post.items:
        line = f"*<{item.url}|{slack_escape(_short(item.title, 200))}>*"
        meta = [slack_escape(_authors(item))] + ([f"▲ {item.upvotes}"] if item.upvotes else [])
        text = line + "\n" + " · ".join(m for m in meta if m)
        if item.summary:
            text += "\n" + slack_escape(_short(item.summary, 280))
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": text}})
    blocks.append({"type": "context", "elements": [
        {"type": "mrkdwn", "text": f"<{post.feed_url}|More on paperfeed>"}]})
    fallback = post.heading + ": " + "; ".join(_short(i.title, 80) for i in post.items)
    return {"text": _short(fallback, 3000), "blocks": blocks}


def discord_payload(post: Post) -> dict[str, object]:
    embeds = [
        {
            "title": _short(item.title, 256),  # embed titles are not Markdown
            "url": item.url,
            "description": markdown_escape(_short(item.summary or _authors(item), 350)),
            "footer": {"text": _short(_authors(item), 200)
                       + (f" · ▲ {item.upvotes}" if item.upvotes else "")},
        }
        for item in post.items[:DISCORD_MAX_EMBEDS]
    ]
    return {
        "content": markdown_escape(_short(post.heading, 1800)) + f"\n<{post.feed_url}>",
        "embeds": embeds,
        "allowed_mentions": {"parse": []},
    }


def mattermost_payload(post: Post) -> dict[str, object]:
    lines = [f"#### {markdown_escape(post.heading)}"]
    for n, item in enumerate(post.items, 1):
        votes = f" · ▲ {item.upvotes}" if item.upvotes else ""
        lines.append(f"{n}. [{markdown_escape(_short(item.title, 200))}]({item.url}) "
                     f"— {markdown_escape(_authors(item))}{votes}")
    lines.append(f"[More on paperfeed]({post.feed_url})")
    return {"text": "\n".join(lines)}


def matrix_payload(post: Post) -> dict[str, object]:
    """Matrix hookshot generic webhooks take ``text`` and an optional ``html`` body."""
    text = [post.heading] + [f"{n}. {i.title} — {i.url}" for n, i in enumerate(post.items, 1)]
    items = "".join(
        f'<li><a href="{html.escape(i.url)}">{html.escape(_short(i.title, 200))}</a> — '
        f"{html.escape(_authors(i))}</li>"
        for i in post.items
    )
    body = f"<h4>{html.escape(post.heading)}</h4><ol>{items}</ol>"
    return {"text": "\n".join(text), "html": body}


def webhook_payload(post: Post, *, feed: str, period: str) -> dict[str, object]:
    return {
        "feed": feed,
        "period": period,
        "heading": post.heading,
        "url": post.feed_url,
        "papers": [
            {"arxiv_id": i.arxiv_id, "title": i.title, "url": i.url, "authors": list(i.authors),
             "upvotes": i.upvotes, "summary": i.summary}
            for i in post.items
        ],
    }


def payload_for(kind: str, post: Post, *, feed: str, period: str) -> dict[str, object]:
    """The JSON body ``kind`` expects."""
    if kind == "slack":
        return slack_payload(post)
    if kind == "discord":
        return discord_payload(post)
    if kind == "mattermost":
        return mattermost_payload(post)
    if kind == "matrix":
        return matrix_payload(post)
    return webhook_payload(post, feed=feed, period=period)


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """``sha256=<hex>``: HMAC-SHA256 of ``"<timestamp>." + body`` with the channel secret.
    A receiver recomputes it and compares in constant time (and rejects old timestamps)."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def encode(payload: dict[str, object]) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


def items_summary(items: Sequence[PostItem]) -> str:
    return ", ".join(i.arxiv_id for i in items)
