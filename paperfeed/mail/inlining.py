"""CSS inlining done once per template instead of once per message.

Email clients (Gmail, Outlook) ignore most ``<style>`` rules, so every element needs its
``style`` attribute. Running css-inline on each rendered digest costs about 0.2 ms and
re-parses subscriber-provided text; instead the HTML template *source* is inlined once:
its ``{% extends %}`` is resolved, every Jinja tag is swapped for an inert placeholder, the
CSS is inlined by css-inline (media queries stay in a ``<style>`` for phones), and the tags
are put back. The result is an ordinary autoescaped Jinja template.

Rules for HTML message templates that this relies on: no Jinja inside ``class`` or
``style`` attributes (write both alternatives as whole elements instead), no Jinja text
between table rows, no nested blocks and no ``super()``.
"""

from __future__ import annotations

import re

import css_inline
from jinja2 import Environment

_EXTENDS = re.compile(r'^\s*\{%-?\s*extends\s+"([^"]+)"\s*-?%\}', re.DOTALL)
_BLOCK = re.compile(
    r"\{%-?\s*block\s+(\w+)\s*-?%\}(.*?)\{%-?\s*endblock(?:\s+\w+)?\s*-?%\}", re.DOTALL
)
_JINJA = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", re.DOTALL)
_TOKEN = re.compile("\ue000(\\d+)\ue001")


def flatten_template(env: Environment, name: str) -> str:
    """The source of template ``name`` with its ``{% extends %}`` chain resolved."""
    assert env.loader is not None
    source = env.loader.get_source(env, name)[0]
    parent = _EXTENDS.match(source)
    if parent is None:
        return source
    blocks = {m.group(1): m.group(2) for m in _BLOCK.finditer(source)}
    layout = flatten_template(env, parent.group(1))
    return _BLOCK.sub(lambda m: blocks.get(m.group(1), m.group(2)), layout)


_STYLE = re.compile(r"<style[^>]*>(.*?)</style>", re.DOTALL)


def stylesheet_of(env: Environment, name: str) -> str:
    """The CSS in the ``<style>`` elements of template ``name`` (for fragments)."""
    return "\n".join(_STYLE.findall(flatten_template(env, name)))


def inline_template_source(
    source: str, inliner: css_inline.CSSInliner, *, fragment_css: str | None = None
) -> str:
    """``source`` with its CSS inlined and its Jinja tags untouched. A fragment (no
    ``<html>``; e.g. one paper of a digest) takes its CSS from ``fragment_css``."""
    tags: list[str] = []

    def protect(match: re.Match[str]) -> str:
        tags.append(match.group(0))
        return f"\ue000{len(tags) - 1}\ue001"

    protected = _JINJA.sub(protect, source)
    if fragment_css is None:
        inlined = inliner.inline(protected)
    else:
        inlined = inliner.inline_fragment(protected, fragment_css)
    restored = _TOKEN.sub(lambda m: tags[int(m.group(1))], inlined)
    if len(_JINJA.findall(restored)) != len(tags):  # pragma: no cover - template bug guard
        raise ValueError("a Jinja tag was lost while inlining CSS; see paperfeed.mail.inlining")
    return restored
