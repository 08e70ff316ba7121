"""``paperfeed users``: accounts from the command line, for operators and scripts.

``add`` (verified on creation), ``list``, ``promote``, ``demote``, ``disable``, ``enable``,
``delete`` and ``invite``. NAME is a username or an email address. Exit codes: 0 done;
1 with one line on stderr for no such user, an existing user, an invalid value or a
change that would leave no active admin; 2 for a usage error (click's).
"""

from __future__ import annotations

import datetime as dt
import json
import re
import secrets
import sys
from collections.abc import Callable

import click
from sqlalchemy import Connection

from paperfeed.store.users import User

from .common import common_options, engine_for, settings_from

_DURATION = re.compile(r"^(\d{1,6})([mhdw])$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


@click.group()
def users() -> None:
    """Manage accounts: add, list, promote, demote, disable, enable, delete, invite.

    NAME is a username or an email address. Demoting, disabling or deleting the last
    active admin is refused. Exit codes: 0 done; 1 for no such user, a user that already
    exists, an invalid value or the last active admin (one line on stderr); 2 for a usage
    error."""


def _find(conn: Connection, name: str) -> User:
    from paperfeed.store.users import find_user

    user = find_user(conn, name)
    if user is None:
        raise click.ClickException(f"no such user: {name}")
    return user


@users.command("add")
@common_options
@click.argument("email")
@click.option("--username", required=True, help="3-40 characters: a-z, 0-9, '-' and '_'.")
@click.option("--admin", is_flag=True, help="Make the account an admin.")
@click.option("--password-stdin", is_flag=True,
              help="Read the password from the first line of standard input. Without it, a "
              "random password is generated and printed once.")
def users_add(db_url: str | None, config_path: str | None, email: str, username: str,
              admin: bool, password_stdin: bool) -> None:
    """Create an account, its email already verified."""
    from paperfeed.store.database import write_transaction
    from paperfeed.store.users import AccountError, create_user

    password = (
        sys.stdin.readline().rstrip("\r\n")
        if password_stdin
        else secrets.token_urlsafe(15)  # 20 characters, 120 bits
    )
    engine = engine_for(settings_from(db_url, config_path))
    try:
        with write_transaction(engine) as conn:
            user = create_user(conn, username=username, email=email, password=password,
                               is_admin=admin, verified=True)
    except AccountError as exc:
        raise click.ClickException(str(exc)) from exc
    role = "admin" if user.is_admin else "user"
    click.echo(f"created {role} {user.username} <{user.email}> (id {user.id})")
    if not password_stdin:
        click.echo(f"password: {password}")


def _user_dict(user: User) -> dict[str, object]:
    return {"id": user.id, "username": user.username, "email": user.email,
            "admin": user.is_admin, "disabled": user.disabled,
            "created_at": user.created_at.isoformat()}


@users.command("list")
@common_options
@click.option("--json", "as_json", is_flag=True, help="Print one JSON array of objects.")
def users_list(db_url: str | None, config_path: str | None, as_json: bool) -> None:
    """Every account, oldest first: id, username, email, admin, disabled, created."""
    from paperfeed.store.users import list_users

    engine = engine_for(settings_from(db_url, config_path))
    with engine.connect() as conn:
        found = list_users(conn, limit=None, oldest_first=True)
    if as_json:
        click.echo(json.dumps([_user_dict(u) for u in found], indent=2))
        return
    for u in found:
        flags = ",".join(f for f, on in (("admin", u.is_admin), ("disabled", u.disabled)) if on)
        click.echo(f"{u.id}\t{u.username}\t{u.email}\t{flags or '-'}\t"
                   f"{u.created_at.date().isoformat()}")
    click.echo(f"{len(found)} user(s)", err=True)


def _change(db_url: str | None, config_path: str | None, name: str,
            change: Callable[[Connection, User], str]) -> None:
    from paperfeed.store.database import write_transaction
    from paperfeed.store.users import AccountError

    engine = engine_for(settings_from(db_url, config_path))
    try:
        with write_transaction(engine) as conn:
            message = change(conn, _find(conn, name))
    except AccountError as exc:  # e.g. the last active admin: nothing was changed
        raise click.ClickException(str(exc)) from exc
    click.echo(message)


def _set_admin(on: bool) -> Callable[[Connection, User], str]:
    from paperfeed.store.users import set_user_admin

    def change(conn: Connection, user: User) -> str:
        if user.is_admin == on:
            return f"{user.username}: {'already an admin' if on else 'not an admin'}"
        set_user_admin(conn, user.id, on)
        return f"{user.username}: {'now an admin' if on else 'no longer an admin'}"

    return change


@users.command("promote")
@common_options
@click.argument("name")
def users_promote(db_url: str | None, config_path: str | None, name: str) -> None:
    """Make NAME an admin."""
    _change(db_url, config_path, name, _set_admin(True))


@users.command("demote")
@common_options
@click.argument("name")
def users_demote(db_url: str | None, config_path: str | None, name: str) -> None:
    """Take NAME's admin rights away (refused for the last active admin)."""
    _change(db_url, config_path, name, _set_admin(False))


@users.command("disable")
@common_options
@click.argument("name")
def users_disable(db_url: str | None, config_path: str | None, name: str) -> None:
    """Disable NAME: no log-in; their sessions end and their API tokens stop working
    (refused for the last active admin)."""
    from paperfeed.store.sessions import end_user_sessions
    from paperfeed.store.users import set_user_disabled

    def change(conn: Connection, user: User) -> str:
        set_user_disabled(conn, user.id, True)
        end_user_sessions(conn, user.id)
        return f"{user.username}: disabled"

    _change(db_url, config_path, name, change)


@users.command("enable")
@common_options
@click.argument("name")
def users_enable(db_url: str | None, config_path: str | None, name: str) -> None:
    """Enable NAME again (they log in anew; their API tokens work again)."""
    from paperfeed.store.users import set_user_disabled

    def change(conn: Connection, user: User) -> str:
        set_user_disabled(conn, user.id, False)
        return f"{user.username}: enabled"

    _change(db_url, config_path, name, change)


@users.command("delete")
@common_options
@click.argument("name")
def users_delete(db_url: str | None, config_path: str | None, name: str) -> None:
    """Delete NAME's account with their votes, comments, collections, submissions, sessions,
    tokens and digest subscription (paper vote and comment counts follow), as "Delete my
    account" in settings does. Refused for the last active admin. No confirmation is
    asked."""
    from paperfeed.store.users import delete_user

    def change(conn: Connection, user: User) -> str:
        delete_user(conn, user.id)
        return f"{user.username}: deleted"

    _change(db_url, config_path, name, change)


def parse_duration(text: str) -> dt.timedelta:
    """``30m``, ``12h``, ``7d`` or ``2w`` as a timedelta; ValueError otherwise."""
    found = _DURATION.match(text.strip().lower())
    if not found or int(found.group(1)) == 0:
        raise ValueError(f"{text!r} is not a duration like 30m, 12h, 7d or 2w")
    return dt.timedelta(**{_UNITS[found.group(2)]: int(found.group(1))})


@users.command("invite")
@common_options
@click.option("--expires", default="7d", show_default=True, metavar="DURATION",
              help="How long the invite stays valid: 30m, 12h, 7d, 2w.")
def users_invite(db_url: str | None, config_path: str | None, expires: str) -> None:
    """Print a one-time sign-up URL (base_url/signup?invite=TOKEN); it works once, until it
    expires."""
    from paperfeed.store.database import write_transaction
    from paperfeed.store.invites import create_invite

    try:
        expires_in = parse_duration(expires)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="'--expires'") from exc
    settings = settings_from(db_url, config_path)
    engine = engine_for(settings)
    with write_transaction(engine) as conn:
        token = create_invite(conn, expires_in=expires_in)
    click.echo(f"{settings.base_url.rstrip('/')}/signup?invite={token}")
    until = (dt.datetime.now(dt.UTC) + expires_in).isoformat(timespec="minutes")
    click.echo(f"valid once, until {until}", err=True)
