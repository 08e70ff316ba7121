"""Relevance evaluation on a BEIR-layout directory, through the product's own path.

``evaluate_beir`` loads ``corpus.jsonl`` as papers (upsert_papers, so the keyword index
follows as in production), embeds them with ``index_missing``, runs every judged query of
the split through ``search_papers`` and reports nDCG@10, recall@100 and query latency.
The data is read at run time from wherever it lives; nothing is copied anywhere else.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import Engine, select

from paperfeed.index.embedder import Embedder
from paperfeed.index.vectors import index_missing
from paperfeed.models import Paper
from paperfeed.rank.fusion import FusionParams
from paperfeed.rank.search import DEFAULT_FUSION, search_papers
from paperfeed.store.database import write_transaction
from paperfeed.store.papers import upsert_papers
from paperfeed.store.schema import papers

ID_PREFIX = "beir:"  # BEIR ids are not arXiv ids; the prefix keeps them apart


@dataclass(slots=True)
class BeirData:
    """A BEIR split: documents, the judged queries, and graded judgments."""

    corpus: list[Paper]
    queries: dict[str, str]  # query id -> text, only queries judged in the split
    qrels: dict[str, dict[str, int]]  # query id -> doc id -> grade


def read_beir(directory: Path, split: str = "train") -> BeirData:
    """Read corpus.jsonl, queries.jsonl and qrels/SPLIT.tsv. Raises FileNotFoundError or
    ValueError (with the file name) for a directory that is not BEIR-shaped."""
    directory = Path(directory)
    qrels: dict[str, dict[str, int]] = {}
    qrels_path = directory / "qrels" / f"{split}.tsv"
    with qrels_path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle):
            parts = line.rstrip("\n").split("\t")
            if number == 0 and not parts[-1].strip().lstrip("-").isdigit() and \
                    not (len(parts) > 2 and parts[2].strip().lstrip("-").isdigit()):
                continue  # header
            if len(parts) < 3:
                continue
            qrels.setdefault(parts[0], {})[parts[1]] = int(parts[2])
    queries: dict[str, str] = {}
    for item in _jsonl(directory / "queries.jsonl"):
        if str(item["_id"]) in qrels:
            queries[str(item["_id"])] = str(item.get("text", ""))
    corpus = [
        Paper(arxiv_id=ID_PREFIX + str(item["_id"]), title=str(item.get("title") or ""),
              abstract=str(item.get("text") or ""), source="beir")
        for item in _jsonl(directory / "corpus.jsonl")
    ]
    return BeirData(corpus=corpus, queries=queries, qrels=qrels)


def _jsonl(path: Path) -> list[dict[str, Any]]:
    out = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if line.strip():
                try:
                    out.append(json.loads(line))
                except json.JSONDecodeError as exc:
                    raise ValueError(f"{path.name} line {number}: {exc}") from exc
    return out


def load_corpus(engine: Engine, data: BeirData, embedder: Embedder | None,
                progress: Callable[..., None] | None = None) -> None:
    """Upsert the corpus as papers and embed what is missing (idempotent)."""
    for start in range(0, len(data.corpus), 2000):
        with write_transaction(engine) as conn:
            upsert_papers(conn, data.corpus[start:start + 2000])
    if embedder is not None:
        index_missing(engine, embedder, progress=progress)


def evaluate_beir(engine: Engine, data: BeirData, *, embedder: Embedder | None,
                  mode: str = "hybrid", fusion: FusionParams = DEFAULT_FUSION,
                  ) -> dict[str, Any]:
    """Run every judged query through search_papers and score the rankings.

    Output: {"mode", "queries", "ndcg@10", "recall@100", "latency_ms_p50",
    "latency_ms_p95"}; latency is per query, including the query's embedding.
    Side effects: none (reads only).
    """
    ndcgs: list[float] = []
    recalls: list[float] = []
    latencies: list[float] = []
    with engine.connect() as conn:
        id_of = {int(pid): aid for pid, aid in conn.execute(select(papers.c.id, papers.c.arxiv_id))}
        for qid, text in data.queries.items():
            start = time.perf_counter()
            results = search_papers(conn, text, embedder=embedder, limit=100, mode=mode,
                                    fusion=fusion)
            latencies.append((time.perf_counter() - start) * 1000)
            ranked = [id_of[pid].removeprefix(ID_PREFIX) for pid in results.paper_ids]
            ndcgs.append(ndcg_at(ranked, data.qrels.get(qid, {}), 10))
            recalls.append(recall_at(ranked, data.qrels.get(qid, {}), 100))
    return {
        "mode": mode,
        "queries": len(ndcgs),
        "ndcg@10": round(float(np.mean(ndcgs)) if ndcgs else 0.0, 4),
        "recall@100": round(float(np.mean(recalls)) if recalls else 0.0, 4),
        "latency_ms_p50": round(float(np.percentile(latencies, 50)), 2) if latencies else 0.0,
        "latency_ms_p95": round(float(np.percentile(latencies, 95)), 2) if latencies else 0.0,
    }


def ndcg_at(ranked: list[str], relevant: dict[str, int], k: int) -> float:
    """nDCG@k with linear gains (as trec_eval / BEIR): 0 when nothing is relevant."""
    dcg = sum(relevant.get(doc, 0) / math.log2(i + 2) for i, doc in enumerate(ranked[:k]))
    ideal = sorted((g for g in relevant.values() if g > 0), reverse=True)[:k]
    idcg = sum(g / math.log2(i + 2) for i, g in enumerate(ideal))
    return dcg / idcg if idcg > 0 else 0.0


def recall_at(ranked: list[str], relevant: dict[str, int], k: int) -> float:
    """Share of the relevant documents found in the top k."""
    wanted = {doc for doc, grade in relevant.items() if grade > 0}
    return len(wanted & set(ranked[:k])) / len(wanted) if wanted else 0.0
