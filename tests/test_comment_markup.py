"""Comments as Markdown: real Markdown, raw HTML never passes, links only http(s) or site
paths with rel="nofollow ugc noopener", no images, math kept for KaTeX, @mentions."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest

from paperfeed.comment_markup import (
    ALLOWED_TAGS,
    mention_candidates,
    mentioned_usernames,
    render_comment,
)

ATTACKS = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    '<a href="javascript:alert(1)">x</a>',
    "[click](javascript:alert(1))",
    "[click](JaVaScRiPt:alert(1))",
    "[click](  javascript:alert(1) )",
    "[click](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "[click](vbscript:msgbox(1))",
    "[click](//evil.example/x)",
    "![pic](x onerror=alert(1))",
    '![pic](https://evil.example/p.png "t" onerror="alert(1)")',
    "<iframe src=https://evil.example></iframe>",
    "<svg onload=alert(1)>",
    "<details open ontoggle=alert(1)>",
    "[x](https://ok.example/\" onmouseover=\"alert(1))",
    "$<img src=x onerror=alert(1)>$",
    "$$\n</div><script>alert(1)</script>\n$$",
    "<style>body{display:none}</style>",
    "`<b>` <b>bold</b>",
    "<!-- comment --><p onclick=alert(1)>x</p>",
]


class Elements(HTMLParser):
    """Every start tag with its attributes, as a browser would read them."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found.append((tag, dict(attrs)))


def elements(html: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = Elements()
    parser.feed(html)
    parser.close()
    return parser.found


@pytest.mark.parametrize("source", ATTACKS)
def test_raw_html_scripts_and_unsafe_links_never_survive(source: str) -> None:
    html = render_comment(source, {"ada"})
    for tag, attrs in elements(html):
        assert tag in ALLOWED_TAGS, (source, html)
        assert set(attrs) <= {"href", "rel", "class", "start"}, (source, html)
        href = attrs.get("href")
        if href is not None:
            assert href.startswith(("https://", "http://", "/")), (source, html)
            assert not href.startswith("//"), (source, html)
    assert "<script" not in html.lower() and "<img" not in html.lower()


def test_markdown_is_rendered_and_links_get_nofollow_ugc_noopener() -> None:
    html = render_comment("**bold** _it_ `code`\n\n> quoted\n\n- a\n- b\n\nsee "
                          "https://example.org/notes and [docs](https://docs.example/x)")
    assert "<strong>bold</strong>" in html and "<em>it</em>" in html
    assert "<code>code</code>" in html and "<blockquote>" in html and "<li>a</li>" in html
    assert ('<a href="https://example.org/notes" rel="nofollow ugc noopener">'
            "https://example.org/notes</a>") in html
    assert '<a href="https://docs.example/x" rel="nofollow ugc noopener">docs</a>' in html


def test_images_become_links_not_pictures() -> None:
    html = render_comment("![a plot](https://example.org/p.png)")
    assert "<img" not in html
    assert '<a href="https://example.org/p.png" rel="nofollow ugc noopener">a plot</a>' in html


def test_math_is_kept_as_latex_for_katex_and_not_read_as_markdown() -> None:
    html = render_comment("inline $a_b * c_d * e$ and\n\n$$\n\\sum_i x_i < 1\n$$")
    assert '<span class="math-inline">$a_b * c_d * e$</span>' in html
    assert '<div class="math-display">$$\\sum_i x_i &lt; 1$$</div>' in html
    assert "<em>" not in html


def test_mentions_link_known_users_only_and_skip_code_and_emails() -> None:
    source = "thanks @Ada and @nobody, cc `@bob`, mail carl@example.org, [@dan](https://x.org)"
    html = render_comment(source, {"ada", "bob", "carl", "dan"})
    assert '<a href="/users/ada" class="mention" rel="nofollow ugc noopener">@Ada</a>' in html
    assert "@nobody" in html and "/users/nobody" not in html
    assert "/users/bob" not in html and "/users/carl" not in html and "/users/dan" not in html
    assert mentioned_usernames(source) == ["ada", "nobody"]
    assert mention_candidates([source]) >= {"ada", "nobody", "bob"}
