"""A paper page as Markdown (``GET /papers/{id}.md``), like huggingface.co's ``read_paper``.

Text from papers is data, not markup: characters that Markdown would read as syntax at the
start of a line, ``<`` and ``](`` are escaped, while LaTeX such as ``$\\alpha$`` is kept as
written (renderers with math support show it as math).
"""

from __future__ import annotations

import re

from paperfeed.models import Paper

from .schemas import PaperDetail

_LINE_START = re.compile(r"^(\s*)([#>+\-*]|\d+\.)(\s)", re.MULTILINE)


def escape_inline(text: str) -> str:
    """Escape what would turn into a link, heading, list or HTML tag in Markdown."""
    text = text.replace("<", "&lt;").replace(">", "&gt;")
    text = text.replace("](", "]\\(")  # no [text](url) links out of paper text
    return _LINE_START.sub(r"\1\\\2\3", text)


def paper_markdown(paper: Paper, detail: PaperDetail) -> str:
    """The Markdown document for one paper: title, authors, dates, links, abstract."""
    lines = [f"# {escape_inline(detail.title)}", ""]
    names = ", ".join(escape_inline(a.name) for a in detail.authors)
    if names:
        lines += [f"**Authors:** {names}", ""]
    lines += [f"**Published:** {detail.publishedAt.date().isoformat()}", ""]
    if detail.categories:
        lines += [f"**Categories:** {', '.join(detail.categories)}", ""]
    lines += [
        f"**Upvotes:** {detail.upvotes} · **Comments:** {detail.numComments}",
        "",
        "## Links",
        "",
        f"- arXiv: {detail.arxivUrl}",
        f"- PDF: {detail.pdfUrl}",
        f"- Page: {detail.url}",
    ]
    if detail.githubRepo:
        lines.append(f"- Code: {detail.githubRepo}")
    if detail.projectPage:
        lines.append(f"- Project page: {detail.projectPage}")
    lines += ["", "## Abstract", "", escape_inline(detail.summary), ""]
    if paper.comments:
        lines += ["## Comments", "", escape_inline(paper.comments), ""]
    if paper.journal_ref or paper.doi:
        ref = "; ".join(x for x in (paper.journal_ref, paper.doi and f"DOI {paper.doi}") if x)
        lines += ["## Published in", "", escape_inline(ref), ""]
    return "\n".join(lines)
