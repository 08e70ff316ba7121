"""Synthesise a 1,000,000-paper SQLite database from the embedded 57,852-paper corpus.

    flock /tmp/paperfeed-bench.lock python bench/synth_million.py /tmp/pf-57k.db /tmp/pf-1m.db

How: the source file is copied; then each real paper is repeated (new id
``<arxiv id>.s<k>``) until there are --papers rows. Copies keep the title, abstract and
authors (so the keyword index grows like a corpus with the same vocabulary, 17x deeper
posting lists), and get a new vector: normalise(v_i + 0.5 v_j + 0.5 g), where v_i is the
paper's real MiniLM vector, v_j the real vector of another random paper and g Gaussian
noise of unit norm. Each copy thus sits near its original (cosine ~0.85) but is
distinct, and the cloud of vectors keeps the real corpus's cluster structure. The
keyword index is rebuilt at the end (FTS5 'rebuild').
"""

from __future__ import annotations

import argparse
import shutil
import sqlite3
import time

import numpy as np


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("source")
    parser.add_argument("target")
    parser.add_argument("--papers", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=3)
    args = parser.parse_args()
    started = time.perf_counter()
    src = sqlite3.connect(args.source)
    src.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    src.close()
    shutil.copyfile(args.source, args.target)
    db = sqlite3.connect(args.target, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=OFF")
    rng = np.random.default_rng(args.seed)
    rows = db.execute("SELECT p.id, v.model_id, v.text_hash, v.embedding FROM papers p "
                      "JOIN paper_vectors v ON v.paper_id = p.id ORDER BY p.id").fetchall()
    base_ids = np.array([r[0] for r in rows])
    model_id = rows[0][1]
    hashes = [r[2] for r in rows]
    vectors = np.frombuffer(b"".join(r[3] for r in rows), dtype="<f4").reshape(len(rows), -1)
    del rows
    n_base = len(base_ids)
    total = n_base
    copy = 0
    columns = ("title, abstract, authors_text, primary_category, comments, announced_on, "
               "latest_version, source, first_seen_at, content_hash, upvotes, num_comments, "
               "hidden")
    while total < args.papers:
        copy += 1
        take = min(n_base, args.papers - total)
        db.execute("BEGIN")
        max_before = db.execute("SELECT max(id) FROM papers").fetchone()[0]
        db.execute(
            f"INSERT INTO papers (arxiv_id, {columns}) SELECT arxiv_id || '.s{copy}', "
            f"{columns} FROM papers WHERE id IN (SELECT id FROM papers WHERE id <= ? "
            f"ORDER BY id LIMIT ?) ORDER BY id",
            (int(base_ids[-1]), take),
        )
        new_ids = [r[0] for r in db.execute(
            "SELECT id FROM papers WHERE id > ? ORDER BY id", (max_before,))]
        others = vectors[rng.integers(0, n_base, size=take)]
        noise = rng.normal(size=(take, vectors.shape[1])).astype(np.float32)
        noise /= np.linalg.norm(noise, axis=1, keepdims=True)
        synth = vectors[:take] + 0.5 * others + 0.5 * noise
        synth /= np.linalg.norm(synth, axis=1, keepdims=True)
        db.executemany(
            "INSERT INTO paper_vectors (paper_id, model_id, text_hash, embedding, embedded_at) "
            "VALUES (?, ?, ?, ?, datetime('now'))",
            ((pid, model_id, hashes[i], synth[i].astype("<f4").tobytes())
             for i, pid in enumerate(new_ids)),
        )
        db.execute("COMMIT")
        total += take
        print(f"copy {copy}: {total:,} papers ({time.perf_counter() - started:.0f} s)",
              flush=True)
    db.execute("INSERT INTO papers_fts(papers_fts) VALUES ('rebuild')")
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    print(f"done: {total:,} papers in {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
