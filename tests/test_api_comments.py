"""Comments over the JSON API: list (public), post, reply, edit and delete with a personal
token; 401 without one, 403 on somebody else's comment; replies notify like the page's."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from paperfeed.store.comments import set_comment_hidden
from paperfeed.store.database import write_transaction
from paperfeed.store.notifications import unread_count

from .factories import TRICKY_ID, ApiUser, make_api_user

pytestmark = pytest.mark.corpus("api")
PAPER = "2503.11731"
URL = f"/api/papers/{PAPER}/comments"


def test_comment_writes_need_a_token(client: TestClient, api_user: ApiUser) -> None:
    cid = client.post(URL, json={"body": "mine"}, headers=api_user.auth).json()["id"]
    for method, url, body in [
        ("POST", URL, {"body": "x"}),
        ("POST", f"/api/comments/{cid}/replies", {"body": "x"}),
        ("PATCH", f"/api/comments/{cid}", {"body": "x"}),
        ("DELETE", f"/api/comments/{cid}", None),
    ]:
        response = client.request(method, url, json=body)
        assert response.status_code == 401, (method, url)
        assert response.headers["www-authenticate"].startswith("Bearer")
        bad = client.request(method, url, json=body, headers={"Authorization": "Bearer pf_no"})
        assert bad.status_code == 401


def test_post_reply_list_edit_delete(client: TestClient, api_user: ApiUser) -> None:
    grace = make_api_user(client.app.state.engine, "grace")
    posted = client.post(URL, json={"body": "Is **this** $O(n)$?"}, headers=api_user.auth)
    assert posted.status_code == 201, posted.text
    top = posted.json()
    assert top["author"] == "ada" and top["paperId"] == PAPER and top["parentId"] is None
    assert "<strong>this</strong>" in top["html"] and top["editedAt"] is None

    reply = client.post(f"/api/comments/{top['id']}/replies", json={"body": "@ada yes"},
                        headers=grace.auth)
    assert reply.status_code == 201
    deeper = client.post(URL, json={"body": "deeper", "parentId": reply.json()["id"]},
                         headers=api_user.auth).json()
    assert deeper["parentId"] == reply.json()["id"] and deeper["rootId"] == top["id"]
    with client.app.state.engine.connect() as conn:
        assert unread_count(conn, api_user.id) == 1  # grace's reply, one notification
        assert unread_count(conn, grace.id) == 1  # the reply to hers

    listed = client.get(URL)  # public
    assert listed.status_code == 200
    assert [c["id"] for c in listed.json()] == [top["id"], reply.json()["id"], deeper["id"]]
    assert '<a href="/users/ada" class="mention" rel="nofollow ugc noopener">@ada</a>' in \
        listed.json()[1]["html"]

    assert client.patch(f"/api/comments/{top['id']}", json={"body": "hijack"},
                        headers=grace.auth).status_code == 403
    assert client.delete(f"/api/comments/{top['id']}", headers=grace.auth).status_code == 403
    edited = client.patch(f"/api/comments/{top['id']}", json={"body": "<script>x</script>"},
                          headers=api_user.auth)
    assert edited.status_code == 200
    assert edited.json()["editedAt"] and "<script>" not in edited.json()["html"]
    assert client.delete(f"/api/comments/{deeper['id']}", headers=api_user.auth
                         ).status_code == 204
    assert client.delete(f"/api/comments/{deeper['id']}", headers=api_user.auth
                         ).status_code == 404
    assert len(client.get(URL).json()) == 2
    assert client.get(f"/api/papers/{PAPER}").json()["numComments"] == 2
    with write_transaction(client.app.state.engine) as conn:
        set_comment_hidden(conn, top["id"], True)
    hidden, answer = client.get(URL).json()  # the reply stays, the hidden text does not
    assert hidden["hidden"] and hidden["body"] == hidden["html"] == hidden["author"] == ""
    assert answer["body"] == "@ada yes" and not answer["hidden"]


def test_bad_input_is_a_4xx_never_a_500(client: TestClient, api_user: ApiUser) -> None:
    auth = api_user.auth
    assert client.post(URL, json={"body": "   "}, headers=auth).status_code == 400
    assert client.post(URL, json={"body": "x" * 6000}, headers=auth).status_code == 400
    assert client.post(URL, json={}, headers=auth).status_code in (400, 422)
    assert client.post(URL, json={"body": "x", "parentId": 999999}, headers=auth
                       ).status_code == 400
    assert client.post("/api/papers/2501.00000/comments", json={"body": "x"}, headers=auth
                       ).status_code == 404
    assert client.get("/api/papers/not-an-id/comments").status_code == 404  # no route
    assert client.post("/api/comments/999999/replies", json={"body": "x"}, headers=auth
                       ).status_code == 404
    assert client.patch("/api/comments/0", json={"body": "x"}, headers=auth).status_code in (
        400, 422)
    assert client.get(f"/api/papers/{TRICKY_ID}/comments").json() == []
