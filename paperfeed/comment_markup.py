"""Comments are Markdown: rendered by markdown-it-py with raw HTML off, math kept for KaTeX,
@mentions linked, then sanitised by nh3 with an allow-list.

The defences, in order: markdown-it never passes HTML written in the source through
(``html=False``: ``<img onerror=...>`` stays text); its link check lets only absolute
http(s) URLs (paperfeed.safe_urls) and site paths become links, so ``javascript:`` never
does; nh3 then drops every tag, attribute and class not on the lists below (a renderer
slip cannot leak markup) and gives every link ``rel="nofollow ugc noopener"``. Images are
not allowed at all (no tracking pixels, no ``onerror``).

Math: ``$...$`` and ``$$...$$`` are parsed first (so ``$a_b*c_d*$`` is not emphasis) and kept
as their escaped LaTeX source, delimiters included, in ``span.math-inline`` /
``div.math-display``; the page's static/math.js renders them with the same guarded KaTeX
settings as abstracts (``trust: false``, ``maxSize``, ``maxExpand``).

Pure functions; no database. Which @names are real users is the caller's knowledge, passed
in as ``known_users``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from functools import lru_cache

import nh3
from markdown_it import MarkdownIt
from markdown_it.common.utils import escapeHtml
from markdown_it.rules_core import StateCore
from markdown_it.token import Token
from mdit_py_plugins.dollarmath import dollarmath_plugin

from .safe_urls import safe_url

# "@" + a username (store/users.py: lower-case letters, digits, "_" and "-"), not inside a
# word or an email address.
_MENTION = re.compile(r"(?<![\w@/.+-])@([a-z0-9][a-z0-9_-]{1,38}[a-z0-9])(?![\w-])",
                      re.IGNORECASE)

ALLOWED_TAGS = frozenset({
    "a", "p", "br", "hr", "em", "strong", "del", "s", "code", "pre", "blockquote", "ul", "ol",
    "li", "h1", "h2", "h3", "h4", "h5", "h6", "table", "thead", "tbody", "tr", "th", "td",
    "span", "div",
})
ALLOWED_ATTRIBUTES = {"a": {"href"}, "ol": {"start"}}
ALLOWED_CLASSES = {"span": {"math-inline", "math-display"}, "div": {"math-display"},
                   "a": {"mention"}}
LINK_REL = "nofollow ugc noopener"


def _link_allowed(url: str) -> bool:
    if url.startswith("/") and not url.startswith("//") and "\\" not in url:
        return True
    return safe_url(url) is not None


def _math_inline(self: object, tokens: Sequence[Token], idx: int, options: object,
                 env: object) -> str:
    source = escapeHtml(str(tokens[idx].content).strip())
    if tokens[idx].type == "math_inline_double":
        return f'<span class="math-display">$${source}$$</span>'
    return f'<span class="math-inline">${source}$</span>'


def _math_block(self: object, tokens: Sequence[Token], idx: int, options: object,
                env: object) -> str:
    return f'<div class="math-display">$${escapeHtml(str(tokens[idx].content).strip())}$$</div>\n'


def _image(self: object, tokens: Sequence[Token], idx: int, options: object,
           env: object) -> str:
    """An image is shown as a link to it (no pictures loaded from elsewhere)."""
    token = tokens[idx]
    src = str(token.attrGet("src") or "")
    alt = escapeHtml(token.content or src)
    return f'<a href="{escapeHtml(src)}">{alt}</a>' if safe_url(src) else alt


def _text_outside_links(state: StateCore) -> Iterator[tuple[Token, list[Token], int]]:
    """(token, its siblings, index) of every text token that is not inside a link."""
    for block in state.tokens:
        if block.type != "inline" or not block.children:
            continue
        depth = 0
        for i, child in enumerate(block.children):
            if child.type == "link_open":
                depth += 1
            elif child.type == "link_close":
                depth -= 1
            elif child.type == "text" and depth == 0:
                yield child, block.children, i


def _link_mentions(state: StateCore) -> None:
    """Core rule: ``@name`` of a known user (``env["known_users"]``) becomes a link to
    /users/name; ``env["mentions"]`` collects every well-formed @name outside links and code."""
    known: set[str] = state.env.get("known_users") or set()
    found: list[str] = state.env.setdefault("mentions", [])
    for token, siblings, _ in list(_text_outside_links(state)):
        pieces: list[Token] = []
        last = 0
        for m in _MENTION.finditer(token.content):
            name = m.group(1).lower()
            if name not in found:
                found.append(name)
            if name not in known:
                continue
            pieces.append(_text(token.content[last:m.start()]))
            link = Token("link_open", "a", 1, attrs={"href": f"/users/{name}",
                                                    "class": "mention"})
            pieces += [link, _text(m.group(0)), Token("link_close", "a", -1)]
            last = m.end()
        if pieces:
            pieces.append(_text(token.content[last:]))
            index = next(i for i, t in enumerate(siblings) if t is token)
            siblings[index:index + 1] = [p for p in pieces if p.type != "text" or p.content]


def _text(content: str) -> Token:
    token = Token("text", "", 0)
    token.content = content
    return token


@lru_cache(maxsize=1)
def _parser() -> MarkdownIt:
    md = MarkdownIt("js-default", {"html": False, "linkify": True, "typographer": False,
                                   "maxNesting": 20})
    md.enable("linkify")
    md.validateLink = _link_allowed  # type: ignore[method-assign]
    md.use(dollarmath_plugin, allow_labels=False, allow_space=False, allow_digits=False,
           double_inline=True)
    for rule in ("math_inline", "math_inline_double"):
        md.add_render_rule(rule, _math_inline)
    md.add_render_rule("math_block", _math_block)
    md.add_render_rule("image", _image)
    md.core.ruler.push("mentions", _link_mentions)
    return md


def render_comment(body: str, known_users: set[str] | frozenset[str] = frozenset()) -> str:
    """The comment's Markdown as sanitised HTML; @names in ``known_users`` (lower-case)
    become links to their user pages."""
    env: dict[str, object] = {"known_users": set(known_users)}
    html = _parser().render(body, env)
    return nh3.clean(html, tags=set(ALLOWED_TAGS), attributes=ALLOWED_ATTRIBUTES,
                     allowed_classes=ALLOWED_CLASSES, link_rel=LINK_REL,
                     url_schemes={"http", "https"})


def mention_candidates(bodies: list[str]) -> set[str]:
    """Every lower-cased @name written anywhere in ``bodies`` (code included): a cheap
    superset of their mentions, for looking up which names are real users."""
    return {m.group(1).lower() for body in bodies for m in _MENTION.finditer(body)}


def mentioned_usernames(body: str) -> list[str]:
    """The lower-cased @names a comment mentions (outside code and links), in order, once."""
    env: dict[str, object] = {}
    _parser().parse(body, env)
    mentions = env.get("mentions")
    return list(mentions) if isinstance(mentions, list) else []
