"""Notes on collection items (shown, editable by the owner only, in every export) and
importing BibTeX / CSL-JSON files into a collection (matched by arXiv id; the rest
reported; bad files a 400, never a 500)."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient

from paperfeed.citations import read_bibtex

from .factories import Site, csrf_of, log_in, make_user, paper_ids, post


def owner_with_collection(site: Site, client: TestClient) -> tuple[int, list[str]]:
    make_user(site, "alice")
    log_in(client, "alice@example.org")
    created = post(client, "/collections", {"name": "Reading list"}, page="/collections")
    cid = int(created.headers["location"].split("/collections/")[1].split("?")[0])
    ids = paper_ids(site.engine)
    for arxiv_id in ids[:2]:
        assert post(client, f"/collections/{cid}/papers", {"arxiv_id": arxiv_id},
                    page="/collections").status_code == 303
    return cid, ids


def upload(client: TestClient, cid: int, name: str, content: bytes) -> object:
    token = csrf_of(client, f"/collections/{cid}")
    return client.post(f"/collections/{cid}/import", data={"csrf_token": token},
                       files={"file": (name, content, "application/octet-stream")},
                       follow_redirects=False)


def test_notes_are_shown_editable_by_the_owner_and_exported(site: Site, client: TestClient) -> None:
    cid, ids = owner_with_collection(site, client)
    note = "Read §3 first & compare with $\\alpha$ {braces} <b>not bold</b>"
    assert post(client, f"/collections/{cid}/notes", {"arxiv_id": ids[0], "note": note},
                page=f"/collections/{cid}").status_code == 303
    page = client.get(f"/collections/{cid}").text
    assert "Read §3 first &amp; compare with $\\alpha$ {braces} &lt;b&gt;not bold&lt;/b&gt;" in page
    assert f'action="/collections/{cid}/notes"' in page

    bib = client.get(f"/collections/{cid}.bib").text
    refs, problems = read_bibtex(bib)
    assert problems == [] and [r.note for r in refs if r.arxiv_id == ids[0]] == [note]
    csl = json.loads(client.get(f"/collections/{cid}.json").text)
    assert [item.get("note") for item in csl] == [note, None]
    assert "N1  - Read §3 first" in client.get(f"/collections/{cid}.ris").text

    bob = TestClient(site.app)
    make_user(site, "bob")
    log_in(bob, "bob@example.org")
    assert post(bob, f"/collections/{cid}/notes", {"arxiv_id": ids[0], "note": "mine"},
                page="/collections").status_code == 403
    assert post(client, f"/collections/{cid}/notes", {"arxiv_id": ids[5], "note": "x"},
                page="/collections").status_code == 403  # not in the collection
    assert post(client, f"/collections/{cid}/notes", {"arxiv_id": ids[0], "note": "x" * 2001},
                page="/collections").status_code == 400
    assert post(client, f"/collections/{cid}/notes", {"arxiv_id": ids[0], "note": ""},
                page="/collections").status_code == 303
    assert "annote" not in client.get(f"/collections/{cid}.bib").text


def test_import_adds_known_papers_and_reports_the_rest(site: Site, client: TestClient) -> None:
    cid, ids = owner_with_collection(site, client)
    bib = f"""
@misc{{known, title = {{Known paper}}, eprint = {{{ids[3]}}}, archivePrefix = {{arXiv}},
  annote = {{Imported note}}}}
@article{{url, title = {{By URL}}, url = {{https://arxiv.org/abs/{ids[4]}v2}}}}
@misc{{again, title = {{Already there}}, eprint = {{{ids[0]}}}}}
@misc{{missing, title = {{Not on this site}}, eprint = {{2401.99999}}}}
@book{{noid, title = {{A book <script>alert(1)</script>}}}}
@misc{{broken, title = {{unclosed
""".encode()
    result = upload(client, cid, "refs.bib", bib)
    assert result.status_code == 200, result.text
    assert "2 added, 1 already in the collection, 2 not added" in result.text
    assert "Not on this site: arXiv 2401.99999 is not on this site" in result.text
    assert "A book &lt;script&gt;alert(1)&lt;/script&gt;: no arXiv id" in result.text
    page = client.get(f"/collections/{cid}").text
    assert ids[3] in page and ids[4] in page and "Imported note" in page

    csl = json.dumps([{"id": "x", "title": "CSL item", "URL": f"https://arxiv.org/abs/{ids[6]}",
                       "note": "from Zotero"}, "junk"]).encode()
    result = upload(client, cid, "refs.json", csl)
    assert result.status_code == 200 and "1 added" in result.text and "item 2" in result.text

    for name, content in [("x.bib", b"\xff\xfe\x00garbage"), ("x.json", b"[not json"),
                          ("x.bib", b"\x00\x00"), ("empty.bib", b"")]:
        response = upload(client, cid, name, content)
        assert response.status_code in (200, 400), (name, response.status_code)
    assert upload(client, cid, "x.bib", b"\xff\xfe\x00garbage").status_code == 400

    bob = TestClient(site.app)
    make_user(site, "bob")
    log_in(bob, "bob@example.org")
    token = csrf_of(bob, "/collections")
    response = bob.post(f"/collections/{cid}/import", data={"csrf_token": token},
                        files={"file": ("refs.bib", bib, "text/plain")}, follow_redirects=False)
    assert response.status_code == 403
