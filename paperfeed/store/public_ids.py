"""Public row ids are never handed out twice.

Subscription, user, comment, collection and API-token ids appear in emailed links, signed
tokens and URLs. PostgreSQL sequences never go back. SQLite gives a new row max(id) + 1, so
deleting the newest row would hand its id to the next one, and an old link would then name
somebody else's row. On SQLite these tables therefore take their ids from
``public_id_sequences`` (a high-water mark per table, like AUTOINCREMENT's sqlite_sequence,
created by migration 0007); inserts call :func:`new_id_values`.
"""

from __future__ import annotations

from sqlalchemy import Connection, text

PUBLIC_ID_TABLES = frozenset({"subscriptions", "users", "comments", "collections",
                              "api_tokens"})


def new_id_values(conn: Connection, table: str) -> dict[str, int]:
    """``{"id": n}`` with an id ``table`` never had, on SQLite; ``{}`` on PostgreSQL (its
    sequence decides). Takes the table's high-water mark in the caller's transaction (SQLite
    writers are serialised, so two inserts cannot get the same id). Never commits."""
    if conn.dialect.name != "sqlite":
        return {}
    if table not in PUBLIC_ID_TABLES:
        raise ValueError(f"not a table with public ids: {table}")
    conn.execute(text("INSERT INTO public_id_sequences (table_name, last_id) VALUES (:t, 0) "
                      "ON CONFLICT (table_name) DO NOTHING"), {"t": table})
    # max() with the table itself: rows written without this function (older code, an
    # import with explicit ids) still push the mark up
    conn.execute(text(f"UPDATE public_id_sequences SET last_id = max(last_id, "
                      f"(SELECT coalesce(max(id), 0) FROM {table})) + 1 "
                      "WHERE table_name = :t"), {"t": table})
    last = conn.execute(text("SELECT last_id FROM public_id_sequences WHERE table_name = :t"),
                        {"t": table}).scalar_one()
    return {"id": int(last)}
