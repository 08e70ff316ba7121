"""Citations on the web: /papers/{id}.bib|.ris|.json, Accept negotiation, citation_* meta
tags and the Copy BibTeX block, collection and search exports; all parse in real parsers."""

from __future__ import annotations

import json

import bibtexparser
import rispy
from fastapi.testclient import TestClient
from markupsafe import escape
from sqlalchemy import select

from paperfeed.citations import unescape_bibtex
from paperfeed.store.collections import add_to_collection, create_collection
from paperfeed.store.database import write_transaction
from paperfeed.store.papers import get_paper
from paperfeed.store.schema import papers

from .factories import Site, make_user

HOSTILE = "2503.99901"  # its title holds LaTeX, quotes and a <script>


def test_paper_bibtex_ris_and_csl_parse_and_round_trip(site: Site, client: TestClient) -> None:
    with site.engine.connect() as conn:
        paper = get_paper(conn, HOSTILE)
    assert paper is not None
    bib = client.get(f"/papers/{HOSTILE}.bib")
    assert bib.status_code == 200 and bib.headers["content-type"].startswith("application/x-bibtex")
    library = bibtexparser.parse_string(bib.text)
    assert not library.failed_blocks and len(library.entries) == 1
    entry = library.entries[0]
    assert unescape_bibtex(entry["title"]) == paper.title
    assert entry["eprint"] == HOSTILE and entry["archivePrefix"] == "arXiv"
    ris = rispy.loads(client.get(f"/papers/{HOSTILE}.ris").text)[0]
    assert ris["title"] == paper.title and len(ris["authors"]) == len(paper.authors)
    csl = client.get(f"/papers/{HOSTILE}.json").json()
    assert csl[0]["title"] == paper.title and csl[0]["id"] == f"arXiv:{HOSTILE}"


def test_accept_header_negotiates_a_citation(client: TestClient) -> None:
    bib = client.get(f"/papers/{HOSTILE}", headers={"Accept": "application/x-bibtex"})
    assert bib.status_code == 200 and bib.text.startswith("@")
    page = client.get(f"/papers/{HOSTILE}", headers={"Accept": "text/html"})
    assert page.headers["content-type"].startswith("text/html")


def test_unknown_papers_and_formats_are_404_not_500(client: TestClient) -> None:
    assert client.get("/papers/2503.00000.bib").status_code == 404
    assert client.get("/papers/not-an-id.bib").status_code == 404
    assert client.get(f"/papers/{HOSTILE}.exe").status_code == 404
    assert client.get(f"/papers/{HOSTILE}").status_code == 200  # the page itself still works


def test_paper_page_has_citation_meta_tags_and_copy_bibtex(site: Site,
                                                          client: TestClient) -> None:
    with site.engine.connect() as conn:
        paper = get_paper(conn, HOSTILE)
    assert paper is not None
    page = client.get(f"/papers/{HOSTILE}").text
    assert f'<meta name="citation_title" content="{escape(paper.title)}">' in page
    assert page.count('<meta name="citation_author"') == len(paper.authors)
    assert f'<meta name="citation_arxiv_id" content="{HOSTILE}">' in page
    assert "<script>alert('title')</script>" not in page
    assert 'data-copy="#bibtex-' in page and "Copy BibTeX" in page
    assert f'href="/papers/{HOSTILE}.ris"' in page


def test_collection_export_keeps_order_and_privacy(site: Site, client: TestClient) -> None:
    alice = make_user(site, "alice")
    with write_transaction(site.engine) as conn:
        public_id = create_collection(conn, alice.id, "Reading", is_public=True)
        private_id = create_collection(conn, alice.id, "Secret", is_public=False)
        for arxiv_id in ("2503.99901", "2503.14694"):
            pid = conn.execute(select(papers.c.id).where(papers.c.arxiv_id == arxiv_id)
                               ).scalar_one()
            add_to_collection(conn, public_id, alice.id, pid)
    library = bibtexparser.parse_string(client.get(f"/collections/{public_id}.bib").text)
    assert [e["eprint"] for e in library.entries] == ["2503.99901", "2503.14694"]
    csl = json.loads(client.get(f"/collections/{public_id}.json").text)
    assert [c["number"] for c in csl] == ["2503.99901", "2503.14694"]
    assert client.get(f"/collections/{private_id}.bib").status_code == 404


def test_search_results_export(client: TestClient) -> None:
    found = client.get("/search.bib", params={"q": "attention", "mode": "keyword"})
    assert found.status_code == 200
    library = bibtexparser.parse_string(found.text)
    assert not library.failed_blocks and library.entries
    assert client.get("/search.ris", params={"q": ""}).status_code == 400
    assert client.get("/search.bib", params={"q": "x", "from": "nope"}).status_code == 400
