"""Copy stored vectors between two databases holding the same papers (matched by arXiv id),
so a benchmark database need not be embedded twice.

    python bench/copy_vectors.py sqlite:////tmp/pf-57k.db postgresql://.../corpus57k
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from sqlalchemy import select

from paperfeed.index.schema import paper_vectors
from paperfeed.index.vectors import decode_embedding, store_vectors
from paperfeed.store.database import open_engine, write_transaction
from paperfeed.store.schema import papers


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("source")
    parser.add_argument("target")
    parser.add_argument("--batch", type=int, default=2000)
    args = parser.parse_args()
    source, target = open_engine(args.source), open_engine(args.target)
    with target.connect() as conn:
        target_ids = dict(conn.execute(select(papers.c.arxiv_id, papers.c.id)).all())
    start = time.perf_counter()
    copied = 0
    with source.connect() as conn:
        rows = conn.execute(
            select(papers.c.arxiv_id, paper_vectors.c.model_id, paper_vectors.c.text_hash,
                   paper_vectors.c.embedding)
            .join(papers, papers.c.id == paper_vectors.c.paper_id)
        ).all()
    for offset in range(0, len(rows), args.batch):
        batch = [r for r in rows[offset:offset + args.batch] if r.arxiv_id in target_ids]
        by_model: dict[str, list] = {}
        for r in batch:
            by_model.setdefault(r.model_id, []).append(r)
        with write_transaction(target) as conn:
            for model_id, items in by_model.items():
                vectors = np.stack([decode_embedding(r.embedding) for r in items])
                store_vectors(conn, [(target_ids[r.arxiv_id], r.text_hash) for r in items],
                              vectors, model_id)
        copied += len(batch)
    print(f"copied {copied:,} vectors in {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main()
