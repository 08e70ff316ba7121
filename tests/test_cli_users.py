"""`paperfeed users add|list|promote|demote|disable|enable|delete|invite`: what a script
sees (stdout, one-line stderr, exit codes) and what the database holds afterwards."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from click.testing import CliRunner, Result
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from paperfeed.cli import main
from paperfeed.store.community_schema import invites, users
from paperfeed.store.database import open_engine, write_transaction
from paperfeed.store.invites import create_invite
from paperfeed.store.schema import papers
from paperfeed.store.sessions import create_session, session_user
from paperfeed.store.tokens import create_token, user_for_token
from paperfeed.store.users import authenticate, get_user_by_username

from .factories import PASSWORD, Site, csrf_of

SAMPLE = Path(__file__).parent / "data" / "bulk" / "listing-sample.jsonl"


def run(db_url: str, *args: str, stdin: str | None = None, code: int = 0) -> Result:
    result = CliRunner().invoke(main, ["users", args[0], "--db", db_url, *args[1:]], input=stdin)
    assert result.exit_code == code, (result.stdout, result.stderr, result.exception)
    return result


def listed(db_url: str) -> dict[str, dict[str, object]]:
    return {u["username"]: u for u in json.loads(run(db_url, "list", "--json").stdout)}


def test_add_with_password_stdin_then_list_as_json(db_url: str) -> None:
    out = run(db_url, "add", "Root@Example.org", "--username", "root", "--admin",
              "--password-stdin", stdin=PASSWORD + "\n").stdout
    assert out.startswith("created admin root <root@example.org> (id ")
    assert out.count("\n") == 1  # no password printed
    run(db_url, "add", "ada@example.org", "--username", "ada", "--password-stdin",
        stdin=PASSWORD + "\n")
    rows = json.loads(run(db_url, "list", "--json").stdout)
    assert [r["username"] for r in rows] == ["root", "ada"]
    assert set(rows[0]) == {"id", "username", "email", "admin", "disabled", "created_at"}
    assert rows[0]["admin"] is True and rows[1]["admin"] is False
    assert rows[0]["disabled"] is False and rows[0]["email"] == "root@example.org"
    created = dt.datetime.fromisoformat(str(rows[0]["created_at"]))
    assert created.tzinfo is not None
    assert abs(dt.datetime.now(dt.UTC) - created) < dt.timedelta(minutes=10)
    text = run(db_url, "list")
    assert "root\troot@example.org\tadmin\t" in text.stdout and "2 user(s)" in text.stderr
    engine = open_engine(db_url)
    with write_transaction(engine) as conn:
        user = authenticate(conn, "root@example.org", PASSWORD)
        assert user is not None and user.is_admin and user.email_verified
    engine.dispose()


def test_add_without_stdin_prints_a_working_random_password_once(db_url: str) -> None:
    out = run(db_url, "add", "bob@example.org", "--username", "bob").stdout.splitlines()
    assert out[0].startswith("created user bob <bob@example.org>")
    assert out[1].startswith("password: ")
    password = out[1].removeprefix("password: ")
    assert len(password) >= 20
    engine = open_engine(db_url)
    with write_transaction(engine) as conn:
        assert authenticate(conn, "bob@example.org", password) is not None
    engine.dispose()
    again = run(db_url, "add", "bob2@example.org", "--username", "bob2").stdout
    assert password not in again


def test_errors_exit_1_with_one_line_and_usage_errors_exit_2(db_url: str) -> None:
    run(db_url, "add", "eve@example.org", "--username", "eve", "--password-stdin",
        stdin=PASSWORD)
    for args, stdin, words in (
        (("add", "eve@example.org", "--username", "eve2"), None, "already exists"),
        (("add", "other@example.org", "--username", "eve"), None, "taken"),
        (("add", "not-an-email", "--username", "zed"), None, "email address"),
        (("add", "zed@example.org", "--username", "x"), None, "Usernames are"),
        (("add", "zed@example.org", "--username", "zed", "--password-stdin"), "short\n",
         "at least 10"),
        (("promote", "nobody"), None, "no such user: nobody"),
        (("delete", "nobody@example.org"), None, "no such user"),
    ):
        result = run(db_url, *args, stdin=stdin, code=1)
        assert words in result.stderr and result.stderr.count("\n") == 1, result.stderr
        assert result.stdout == ""
    run(db_url, "add", "zed@example.org", code=2)  # --username missing
    run(db_url, "promote", code=2)  # NAME missing
    run(db_url, "invite", "--expires", "soon", code=2)
    assert set(listed(db_url)) == {"eve"}


def test_promote_demote_by_username_or_email(db_url: str) -> None:
    run(db_url, "add", "root@example.org", "--username", "root", "--admin")
    run(db_url, "add", "ada@example.org", "--username", "ada")
    assert run(db_url, "promote", "ada").stdout == "ada: now an admin\n"
    assert listed(db_url)["ada"]["admin"] is True
    assert run(db_url, "promote", "ADA@example.org").stdout == "ada: already an admin\n"
    assert run(db_url, "demote", "ada@example.org").stdout == "ada: no longer an admin\n"
    assert listed(db_url)["ada"]["admin"] is False
    assert run(db_url, "demote", "ada").stdout == "ada: not an admin\n"


def test_disable_ends_sessions_and_tokens_until_enabled(db_url: str) -> None:
    run(db_url, "add", "ada@example.org", "--username", "ada", "--password-stdin",
        stdin=PASSWORD)
    engine = open_engine(db_url)
    with write_transaction(engine) as conn:
        uid = get_user_by_username(conn, "ada").id  # type: ignore[union-attr]
        session = create_session(conn, uid)
        secret, _ = create_token(conn, uid, "script")
    assert run(db_url, "disable", "ada").stdout == "ada: disabled\n"
    assert listed(db_url)["ada"]["disabled"] is True
    with write_transaction(engine) as conn:
        assert authenticate(conn, "ada@example.org", PASSWORD) is None
        assert session_user(conn, session) is None
        assert user_for_token(conn, secret) is None
    assert run(db_url, "enable", "ada@example.org").stdout == "ada: enabled\n"
    with write_transaction(engine) as conn:
        assert authenticate(conn, "ada@example.org", PASSWORD) is not None
        assert user_for_token(conn, secret) is not None  # tokens work again
        assert session_user(conn, session) is None  # the old session stays ended
    engine.dispose()


def test_the_last_active_admin_cannot_be_demoted_disabled_or_deleted(db_url: str) -> None:
    run(db_url, "add", "root@example.org", "--username", "root", "--admin")
    run(db_url, "add", "old@example.org", "--username", "old", "--admin")
    run(db_url, "disable", "old")  # a disabled admin runs nothing: it does not count
    run(db_url, "add", "ada@example.org", "--username", "ada")
    for command in ("demote", "disable", "delete"):
        result = run(db_url, command, "root@example.org", code=1)
        assert result.stdout == "" and result.stderr.count("\n") == 1, result.stderr
        assert "root is the last active admin" in result.stderr
        assert "paperfeed users promote" in result.stderr
    root = listed(db_url)["root"]
    assert root["admin"] is True and root["disabled"] is False  # nothing changed
    # Ordinary users stay free to go; with a second active admin, root may step down.
    assert run(db_url, "disable", "ada").stdout == "ada: disabled\n"
    run(db_url, "enable", "old")
    assert run(db_url, "demote", "root").stdout == "root: no longer an admin\n"
    run(db_url, "delete", "old", code=1)  # now old is the last one
    run(db_url, "promote", "ada")
    run(db_url, "delete", "old", code=1)  # ada is disabled: still the last active one
    run(db_url, "enable", "ada")
    assert run(db_url, "delete", "old").stdout == "old: deleted\n"
    assert {n for n, u in listed(db_url).items() if u["admin"]} == {"ada"}


def _counts(engine: Engine, ids: list[int]) -> list[tuple[int, int]]:
    with engine.connect() as conn:
        rows = conn.execute(select(papers.c.id, papers.c.upvotes, papers.c.num_comments)
                            .where(papers.c.id.in_(ids)).order_by(papers.c.id)).all()
    return [(r.upvotes, r.num_comments) for r in rows]


def test_delete_removes_the_account_and_keeps_paper_counts_exact(db_url: str) -> None:
    from paperfeed.store.comments import add_comment, set_comment_hidden
    from paperfeed.store.votes import set_vote

    assert CliRunner().invoke(main, ["import", "--db", db_url, str(SAMPLE)]).exit_code == 0
    run(db_url, "add", "ada@example.org", "--username", "ada")
    run(db_url, "add", "bob@example.org", "--username", "bob")
    engine = open_engine(db_url)
    with write_transaction(engine) as conn:
        ids = list(conn.execute(select(papers.c.id).order_by(papers.c.id).limit(3)).scalars())
        ada = get_user_by_username(conn, "ada").id  # type: ignore[union-attr]
        bob = get_user_by_username(conn, "bob").id  # type: ignore[union-attr]
        for uid in (ada, bob):
            set_vote(conn, uid, ids[0], True)
            add_comment(conn, ids[0], uid, f"comment by {uid}")
        set_vote(conn, ada, ids[1], True)
        hidden = add_comment(conn, ids[1], ada, "hidden by an admin")
        set_comment_hidden(conn, hidden, True)
        add_comment(conn, ids[2], ada, "another")
    assert _counts(engine, ids) == [(2, 2), (1, 0), (0, 1)]
    assert run(db_url, "delete", "ada").stdout == "ada: deleted\n"
    assert _counts(engine, ids) == [(1, 1), (0, 0), (0, 0)]
    assert set(listed(db_url)) == {"bob"}
    engine.dispose()


def test_invite_url_signs_up_once_and_expires(site: Site, client: TestClient) -> None:
    db_url = site.settings.database_url
    result = CliRunner().invoke(main, ["users", "invite", "--db", db_url, "--expires", "2d"],
                                env={"PAPERFEED_BASE_URL": "https://papers.example.org"})
    assert result.exit_code == 0, result.output
    url = result.stdout.strip()
    assert url.startswith("https://papers.example.org/signup?invite=")
    assert "valid once, until" in result.stderr
    path = url.removeprefix("https://papers.example.org")
    with site.engine.connect() as conn:
        row = conn.execute(select(invites)).one()
    assert row.used_at is None
    assert dt.timedelta(hours=47) < row.expires_at - row.created_at <= dt.timedelta(days=2)

    def sign_up(target: str, name: str) -> object:
        token = csrf_of(client, target)
        return client.post(target, data={"username": name, "email": f"{name}@example.org",
                                          "password": PASSWORD, "csrf_token": token})

    assert 'action="/signup?invite=' in client.get(path).text
    assert "Check your inbox" in sign_up(path, "invited").text  # type: ignore[attr-defined]
    with site.engine.connect() as conn:
        row = conn.execute(select(invites)).one()
        uid = conn.execute(select(users.c.id).where(users.c.username == "invited")).scalar()
    assert row.used_at is not None and row.used_by == uid
    second = sign_up(path, "second")
    assert second.status_code == 400 and "already used" in second.text  # type: ignore[attr-defined]
    with write_transaction(site.engine) as conn:
        old = create_invite(conn, expires_in=dt.timedelta(days=1),
                            now=dt.datetime.now(dt.UTC) - dt.timedelta(days=2))
    expired = sign_up(f"/signup?invite={old}", "late")
    assert expired.status_code == 400 and "expired" in expired.text  # type: ignore[attr-defined]
    forged = sign_up("/signup?invite=forged", "forger")
    assert forged.status_code == 400  # type: ignore[attr-defined]
    with site.engine.connect() as conn:
        names = set(conn.execute(select(users.c.username)).scalars())
    assert names == {"invited"}
