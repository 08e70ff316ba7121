"""Tune hybrid fusion and BM25 field weights on a BEIR *train* split (never on test).

    python bench/tune_fusion.py ../shared/eval/scifact --workdir /tmp/pf-eval-onnx-256

The workdir must hold an evaluation database made by `paperfeed eval beir ... --workdir`
(corpus loaded and embedded). Each arm runs once per query; fusion settings are then
scored offline, so a sweep over hundreds of settings takes seconds. Prints a table, best
first. The chosen values go into rank/search.py (DEFAULT_FUSION) and
index/sqlite_backend.py (FTS_WEIGHTS) by hand.
"""

from __future__ import annotations

import argparse
import itertools
from pathlib import Path

import numpy as np

from paperfeed.config import load_settings
from paperfeed.index import sqlite_backend
from paperfeed.index.embedder import load_embedder
from paperfeed.rank.evaluation import ID_PREFIX, ndcg_at, read_beir
from paperfeed.rank.filters import SearchFilters, paper_conditions
from paperfeed.rank.fusion import FusionParams, fuse
from paperfeed.rank.query import parse_query
from paperfeed.rank.search import embed_query
from paperfeed.store.database import open_engine


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("directory", type=Path)
    parser.add_argument("--workdir", type=Path, required=True)
    parser.add_argument("--split", default="train")
    parser.add_argument("--backend", default="onnx-int8")
    parser.add_argument("--max-tokens", type=int, default=0)
    parser.add_argument("--depth", type=int, default=200)
    args = parser.parse_args()
    if args.split == "test":
        raise SystemExit("tuning on the test split is not allowed")
    data = read_beir(args.directory, args.split)
    settings = load_settings(embedding_backend=args.backend,
                             embedding_max_tokens=args.max_tokens)
    embedder = load_embedder(settings)
    engine = open_engine(f"sqlite:///{args.workdir / 'eval.db'}")
    conditions = paper_conditions(SearchFilters())
    with engine.connect() as conn:
        id_of = {pid: aid.removeprefix(ID_PREFIX) for pid, aid in
                 conn.exec_driver_sql("SELECT id, arxiv_id FROM papers")}
        parsed = {qid: parse_query(text) for qid, text in data.queries.items()}
        semantic = {
            qid: sqlite_backend.vector_candidates(conn, embed_query(embedder, q.text),
                                                  embedder.model_id, conditions, args.depth,
                                                  narrowing=False)
            for qid, q in parsed.items()
        }
        keyword_by_weights = {}
        for weights in [(1.0, 1.0, 1.0), (2.0, 1.0, 1.0), (3.0, 1.0, 1.0), (5.0, 1.0, 1.0),
                        (1.5, 1.0, 1.0)]:
            keyword_by_weights[weights] = {
                qid: sqlite_backend.keyword_candidates(conn, q.terms, q.phrases, q.excluded,
                                                       conditions, args.depth, weights)
                for qid, q in parsed.items()
            }

    def score(keyword: dict, params: FusionParams) -> float:
        values = []
        for qid in data.queries:
            k = keyword[qid][:params.depth]
            s = semantic[qid][:params.depth]
            ranked = [id_of[f.paper_id] for f in fuse(k, s, params)[:10]]
            values.append(ndcg_at(ranked, data.qrels[qid], 10))
        return float(np.mean(values))

    rows = []
    for weights, keyword in keyword_by_weights.items():
        rows.append((score(keyword, FusionParams(keyword_weight=1, semantic_weight=0)),
                     f"keyword only, title weight {weights[0]}"))
    rows.append((score(keyword_by_weights[(1.0, 1.0, 1.0)],
                       FusionParams(keyword_weight=0, semantic_weight=1)), "semantic only"))
    for weights, keyword in keyword_by_weights.items():
        for depth in (50, 100, 200):
            for method, w in itertools.product(("minmax", "zscore"),
                                               (0.3, 0.4, 0.5, 0.55, 0.6, 0.65, 0.7)):
                p = FusionParams(method, w, 1 - w, depth=depth)
                rows.append((score(keyword, p),
                             f"{method} kw={w} title={weights[0]} depth={depth}"))
            for w, k in itertools.product((0.3, 0.4, 0.5, 0.6, 0.7), (10, 30, 60)):
                p = FusionParams("rrf", w, 1 - w, rrf_k=k, depth=depth)
                rows.append((score(keyword, p),
                             f"rrf kw={w} k={k} title={weights[0]} depth={depth}"))
    rows.sort(reverse=True)
    for value, name in rows[:25]:
        print(f"{value:.4f}  {name}")
    print("...")
    for value, name in rows:
        if "only" in name or ("rrf kw=0.5 k=60" in name and "title=1.0 depth=100" in name):
            print(f"{value:.4f}  {name}")


if __name__ == "__main__":
    main()
