"""Synthesise a 1,000,000-paper PostgreSQL database from an embedded 57,852-paper one.

    python bench/pg_million.py 'postgresql://postgres:@/postgres?host=/tmp/pf-pgdata' \
        --source corpus57k --target corpus1m

The PostgreSQL twin of bench/synth_million.py, done inside the server (SQL, no data
through the client): the source database is copied (CREATE DATABASE ... TEMPLATE); each
real paper is repeated (new id ``<arxiv id>.s<k>``, same title / abstract / authors, so
the full-text column and the in-memory BM25 postings get the real vocabulary with 17x
deeper posting lists) until there are --papers rows; each copy gets the vector
l2_normalize(v_i + 0.5 v_j + 0.5 v_k), v_i its original's real MiniLM vector, v_j and v_k
the real vectors of two other papers picked by a fixed permutation (pgvector has no random
vectors, so where synth_million.py adds Gaussian noise this adds a third real vector).
The HNSW and GIN indexes are dropped before the copies and built again after them, which
is how one bulk-loads PostgreSQL; the build times are printed.
"""

from __future__ import annotations

import argparse
import time

import psycopg

from paperfeed.index.postgres_vector import VECTOR_INDEX_DDL

COLUMNS = ("title, abstract, authors_text, primary_category, comments, journal_ref, doi, "
           "license, submitted_at, updated_at, announced_on, latest_version, source, "
           "first_seen_at, content_hash, upvotes, num_comments, hidden")


def database_uri(admin: str, name: str) -> str:
    base, _, query = admin.partition("?")
    return f"{base.rsplit('/', 1)[0]}/{name}?{query}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("admin_uri")
    parser.add_argument("--source", default="corpus57k")
    parser.add_argument("--target", default="corpus1m")
    parser.add_argument("--papers", type=int, default=1_000_000)
    args = parser.parse_args()
    started = time.perf_counter()

    def step(what: str) -> None:
        print(f"{time.perf_counter() - started:7.0f} s  {what}", flush=True)

    with psycopg.connect(args.admin_uri, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{args.target}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{args.target}" TEMPLATE "{args.source}"')
    step("copied the source database")
    with psycopg.connect(database_uri(args.admin_uri, args.target), autocommit=True) as db:
        db.execute("SET maintenance_work_mem = '6GB'")
        db.execute("SET max_parallel_maintenance_workers = 1")
        db.execute("DROP INDEX IF EXISTS ix_paper_vectors_embedding_hnsw")
        db.execute("DROP INDEX IF EXISTS ix_papers_search_tsv")
        n_base, max_base = db.execute("SELECT count(*), max(id) FROM papers").fetchone()
        model_id = db.execute("SELECT model_id FROM paper_vectors LIMIT 1").fetchone()[0]
        # the real vectors, numbered 0..n-1, for the partners of every copy
        db.execute("CREATE TEMP TABLE base AS SELECT row_number() OVER (ORDER BY paper_id) - 1 "
                   "AS i, paper_id, text_hash, embedding FROM paper_vectors")
        db.execute("CREATE INDEX ON base (i)")
        half = "'[" + ",".join(["0.5"] * 384) + "]'::vector"
        total, copy = n_base, 0
        while total < args.papers:
            copy += 1
            take = min(n_base, args.papers - total)
            with db.transaction():
                db.execute(
                    f"INSERT INTO papers (id, arxiv_id, {COLUMNS}) "
                    f"SELECT id + {copy * max_base}, arxiv_id || '.s{copy}', {COLUMNS} "
                    f"FROM papers WHERE id <= %s ORDER BY id LIMIT %s", (max_base, take))
                db.execute(
                    f"INSERT INTO paper_vectors (paper_id, model_id, text_hash, embedding, "
                    f"embedded_at) "
                    f"SELECT b.paper_id + {copy * max_base}, %s, b.text_hash, "
                    f"l2_normalize(b.embedding + j.embedding * {half} + k.embedding * {half}), "
                    f"now() FROM base b "
                    f"JOIN base j ON j.i = (b.i * 7919 + {copy} * 104729) %% {n_base} "
                    f"JOIN base k ON k.i = (b.i * 15485863 + {copy} * 32452843) %% {n_base} "
                    f"WHERE b.i < %s", (model_id, take))
            total += take
            step(f"copy {copy}: {total:,} papers")
        db.execute(f"SELECT setval(pg_get_serial_sequence('papers', 'id'), "
                   f"{(copy + 1) * max_base})")
        for ddl in VECTOR_INDEX_DDL:
            db.execute(ddl)
        step("built the HNSW index (m 16, ef_construction 64)")
        db.execute("CREATE INDEX ix_papers_search_tsv ON papers USING gin (search_tsv)")
        step("built the GIN index")
        db.execute("VACUUM ANALYZE papers")
        db.execute("VACUUM ANALYZE paper_vectors")
        step("analysed; done")


if __name__ == "__main__":
    main()
