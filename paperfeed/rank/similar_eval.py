"""Similar-papers evaluation on a CSFCube-layout directory, through the product's own path.

CSFCube (query-by-example similarity of computer-science papers) judges, for a query paper
and one facet of it (background / method / result), candidate papers on a 0-3 scale.
``read_csfcube`` reads ``corpus.jsonl``, ``queries.tsv`` and ``qrels.tsv``;
``load_csfcube`` imports the corpus as papers (``upsert_papers``), embeds them
(``index_missing``), computes their keywords (``index_summaries``) and stores their
similar-papers lists (``index_similar``), exactly as ``paperfeed index`` would;
``evaluate_similar`` ranks the corpus for every query paper with ``similar_papers`` (from
the stored lists, as the site serves them) and scores each (paper, facet) pair with nDCG@20
against that facet's graded judgments (unjudged = 0), averaged over the pairs. The data is
read at run time from wherever it lives; nothing is copied anywhere else.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import Engine

from paperfeed.index.embedder import Embedder
from paperfeed.index.summaries import index_summaries
from paperfeed.index.vectors import index_missing
from paperfeed.models import Paper
from paperfeed.rank.evaluation import ndcg_at
from paperfeed.rank.similar import DEFAULT_SIMILAR, SimilarParams, similar_papers
from paperfeed.rank.similar_lists import index_similar
from paperfeed.store.database import write_transaction
from paperfeed.store.papers import upsert_papers

ID_PREFIX = "csfcube:"  # CSFCube ids are not arXiv ids; the prefix keeps them apart
DEPTH = 20


@dataclass(slots=True)
class CsfcubeData:
    """A CSFCube fold: papers, the (query paper, facet) pairs, graded judgments per pair."""

    corpus: list[Paper]
    pairs: list[tuple[str, str]]  # (paper id, facet)
    qrels: dict[tuple[str, str], dict[str, int]]  # (paper id, facet) -> candidate -> grade


def read_csfcube(directory: Path) -> CsfcubeData:
    """Read corpus.jsonl, queries.tsv and qrels.tsv (each with a header line).

    Raises FileNotFoundError, or ValueError naming the file, for a directory that is not
    CSFCube-shaped.
    """
    directory = Path(directory)
    pairs = [(row[0], row[1]) for row in _tsv(directory / "queries.tsv", 2)]
    qrels: dict[tuple[str, str], dict[str, int]] = {}
    for row in _tsv(directory / "qrels.tsv", 4):
        try:
            grade = int(float(row[3]))
        except ValueError as exc:
            raise ValueError(f"qrels.tsv: grade {row[3]!r} is not a number") from exc
        qrels.setdefault((row[0], row[1]), {})[row[2]] = grade
    corpus: list[Paper] = []
    with (directory / "corpus.jsonl").open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                item = json.loads(line)
                abstract = item.get("abstract") or " ".join(
                    s.get("text", "") for s in item.get("abstract_sentences") or [])
                corpus.append(Paper(arxiv_id=ID_PREFIX + str(item["paper_id"]),
                                    title=str(item.get("title") or ""),
                                    abstract=str(abstract), source="csfcube"))
            except (json.JSONDecodeError, KeyError, AttributeError) as exc:
                raise ValueError(f"corpus.jsonl line {number}: {exc!r}") from exc
    return CsfcubeData(corpus=corpus, pairs=pairs, qrels=qrels)


def _tsv(path: Path, columns: int) -> list[list[str]]:
    rows: list[list[str]] = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle):
            parts = line.rstrip("\n").split("\t")
            if number == 0 or not line.strip():
                continue  # header
            if len(parts) < columns:
                raise ValueError(f"{path.name} line {number + 1}: expected {columns} columns")
            rows.append(parts)
    return rows


def load_csfcube(engine: Engine, data: CsfcubeData, embedder: Embedder,
                 progress: Callable[..., None] | None = None) -> None:
    """Import the corpus as papers, embed it, compute keywords and store the similar-papers
    lists (idempotent), so the evaluation ranks what the site serves."""
    for start in range(0, len(data.corpus), 2000):
        with write_transaction(engine) as conn:
            upsert_papers(conn, data.corpus[start:start + 2000])
    index_missing(engine, embedder, progress=progress)
    index_summaries(engine, embedder)
    index_similar(engine, embedder.model_id)


def evaluate_similar(engine: Engine, data: CsfcubeData, *,
                     params: SimilarParams = DEFAULT_SIMILAR) -> dict[str, Any]:
    """Rank the corpus for every query paper with ``similar_papers`` and score the pairs.

    Output: {"pairs", "ndcg@20", "by_facet": {facet: nDCG@20}, "latency_ms_p50",
    "latency_ms_p95"}. Side effects: none (reads only).
    """
    per_pair: list[tuple[str, float]] = []
    latencies: list[float] = []
    rankings: dict[str, list[str]] = {}
    with engine.connect() as conn:
        for pid, facet in data.pairs:
            if pid not in rankings:
                start = time.perf_counter()
                hits = similar_papers(conn, ID_PREFIX + pid, limit=DEPTH, params=params)
                latencies.append((time.perf_counter() - start) * 1000)
                rankings[pid] = [h.arxiv_id.removeprefix(ID_PREFIX) for h in hits]
            per_pair.append((facet, ndcg_at(rankings[pid], data.qrels.get((pid, facet), {}),
                                            DEPTH)))
    facets = sorted({facet for facet, _ in per_pair})
    return {
        "pairs": len(per_pair),
        "ndcg@20": round(float(np.mean([s for _, s in per_pair])) if per_pair else 0.0, 4),
        "by_facet": {f: round(float(np.mean([s for g, s in per_pair if g == f])), 4)
                     for f in facets},
        "latency_ms_p50": round(float(np.percentile(latencies, 50)), 2) if latencies else 0.0,
        "latency_ms_p95": round(float(np.percentile(latencies, 95)), 2) if latencies else 0.0,
    }
