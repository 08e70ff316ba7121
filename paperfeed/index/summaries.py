"""TL;DR and keywords of every paper: upkeep during `paperfeed index`, and reading them.

Each paper gets one row in ``paper_summaries``: a one-sentence TL;DR and 3-8 keywords.
Upstream values win: a Hugging Face ``ai_summary`` / ``ai_keywords`` ingested by
``ingest hf`` (paper_signals, source "hf") is used as it is, with source ``"hf"``;
otherwise the TL;DR is extractive (``index/tldr.py``) and the keywords KeyBERT-style
(``index/keywords.py``), with source ``METHOD``.

Incremental and versioned: a row records ``METHOD`` and a hash of its inputs (title,
abstract, upstream summary and keywords); ``index_summaries`` computes only papers without a
row of the current method or whose inputs changed. Bumping ``METHOD`` recomputes every
paper; nothing else does.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, select

from paperfeed.index.embedder import Embedder, embed_short_texts
from paperfeed.index.forked import ordered_map
from paperfeed.index.keywords import (
    Candidate,
    PhraseVectors,
    candidate_phrases,
    select_keywords,
)
from paperfeed.index.schema import paper_llm_summaries, paper_summaries
from paperfeed.index.terms import term_index
from paperfeed.index.tldr import clean_latex, extractive_tldr
from paperfeed.index.tokens import stems
from paperfeed.index.vectors import get_vectors
from paperfeed.store.database import dialect, write_transaction
from paperfeed.store.schema import paper_signals, papers

METHOD = "paperfeed-extractive-v1"
UPSTREAM = "hf"
LLM_PREFIX = "llm:"  # tldr_source of an abstractive TL;DR: "llm:<model>" (llm_summaries.py)
_CHUNK = 500


@dataclass(frozen=True, slots=True)
class PaperSummary:
    """A paper's TL;DR and keywords, and where each came from ("hf" or ``METHOD``)."""

    tldr: str
    tldr_source: str
    keywords: tuple[str, ...]
    keywords_source: str


@dataclass(slots=True)
class SummaryRun:
    """What one ``index_summaries`` run did."""

    papers: int = 0  # papers in the database
    computed: int = 0  # rows written in this run
    up_to_date: int = 0
    waiting: int = 0  # papers skipped: no vector from the embedder's model yet
    phrases_embedded: int = 0
    seconds: float = 0.0

    @property
    def per_second(self) -> float:
        return self.computed / self.seconds if self.seconds else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {"papers": self.papers, "computed": self.computed, "up_to_date": self.up_to_date,
                "waiting": self.waiting, "phrases_embedded": self.phrases_embedded,
                "seconds": round(self.seconds, 2), "per_second": round(self.per_second, 1)}


@dataclass(slots=True)
class _Todo:
    paper_id: int
    title: str
    abstract: str
    digest: str
    hf_summary: str
    hf_keywords: list[str]


def _upstream(conn: Connection) -> dict[int, dict[str, str]]:
    out: dict[int, dict[str, str]] = {}
    for pid, kind, value in conn.execute(
        select(paper_signals.c.paper_id, paper_signals.c.kind, paper_signals.c.value).where(
            paper_signals.c.source == UPSTREAM,
            paper_signals.c.kind.in_(["ai_summary", "ai_keywords"]))
    ):
        out.setdefault(int(pid), {})[kind] = value or ""
    return out


def _hf_keywords(raw: str) -> list[str]:
    try:
        value = json.loads(raw) if raw else []
    except json.JSONDecodeError:
        return []
    if not isinstance(value, list):
        return []
    words = [" ".join(str(k).split()) for k in value]
    return list(dict.fromkeys(w for w in words if w))[:8]


def stale_summaries(conn: Connection) -> tuple[list[_Todo], int]:
    """Papers whose summary row is missing, from another method or made from other
    inputs (newest first), and the number of current rows."""
    upstream = _upstream(conn)
    rows = conn.execute(
        select(papers.c.id, papers.c.title, papers.c.abstract, paper_summaries.c.method,
               paper_summaries.c.text_hash)
        .outerjoin(paper_summaries, paper_summaries.c.paper_id == papers.c.id)
        .order_by(papers.c.id.desc())
    )
    todo: list[_Todo] = []
    current = 0
    for pid, title, abstract, method, old_hash in rows:
        signals = upstream.get(int(pid), {})
        summary = " ".join((signals.get("ai_summary") or "").split())
        keywords = _hf_keywords(signals.get("ai_keywords", ""))
        raw = json.dumps([title, abstract, summary, keywords], ensure_ascii=False)
        digest = hashlib.blake2b(raw.encode(), digest_size=16).hexdigest()
        if method == METHOD and old_hash == digest:
            current += 1
        else:
            todo.append(_Todo(int(pid), title or "", abstract or "", digest, summary, keywords))
    return todo, current


def _idf(conn: Connection) -> Callable[[str], float]:
    index = term_index(conn)
    n = max(index.n_alive, 1)
    cache: dict[str, float] = {}

    def idf(stem: str) -> float:
        value = cache.get(stem)
        if value is None:
            df = sum(len(p[0]) for p in (s.postings(stem) for s in index.segments)
                     if p is not None)
            value = cache[stem] = max(math.log((n - df + 0.5) / (df + 0.5)), 0.1)
        return value

    return idf


def index_summaries(engine: Engine, embedder: Embedder, *, batch_size: int = 512,
                    progress: Callable[..., None] | None = None,
                    limit: int | None = None, workers: int | None = None) -> SummaryRun:
    """Compute the TL;DR and keywords of every paper that needs them (see module docstring).

    Input: an engine (each batch is its own write transaction, so the work is resumable)
    and the Embedder whose vectors are stored (keywords are scored against them; papers
    without a vector from its model wait for the next run). The TL;DRs and keyword
    candidates (pure Python) are computed by ``workers`` forked processes (default: one
    per core; index/forked.py); this process embeds the candidates, picks the keywords and
    writes, batch after batch in order. Side effects: paper_summaries rows inserted or
    replaced; progress(done, total) after each batch.
    """
    start = time.perf_counter()
    with engine.connect() as conn:
        todo, current = stale_summaries(conn)
        idf = _idf(conn) if todo else (lambda _: 1.0)
    if limit is not None:
        todo = todo[:limit]
    run = SummaryRun(papers=len(todo) + current, up_to_date=current)
    phrases = PhraseVectors(lambda texts: embed_short_texts(embedder, texts))
    stem = stems()

    def jobs() -> Iterator[_Job]:
        for offset in range(0, len(todo), batch_size):
            batch = todo[offset:offset + batch_size]
            with engine.connect() as conn:
                vectors = get_vectors(conn, [t.paper_id for t in batch if not t.hf_keywords],
                                      model_id=embedder.model_id)
            yield _Job(batch, vectors)

    if progress:
        progress(0, len(todo))
    done = 0
    for job, extracted in ordered_map(lambda job: _extract(job, stem, idf), jobs(),
                                      workers=workers):
        rows = _summarise(job, extracted, phrases)
        run.waiting += len(job.batch) - len(rows)
        with write_transaction(engine) as conn:
            store_summaries(conn, rows)
        run.computed += len(rows)
        done += len(job.batch)
        if progress:
            progress(done, len(todo))
    run.phrases_embedded = phrases.embedded
    run.seconds = time.perf_counter() - start
    return run


@dataclass(slots=True)
class _Job:
    batch: list[_Todo]
    vectors: dict[int, Any]  # paper id -> stored vector (papers needing extracted keywords)


def _extract(job: _Job, stem: Callable[[str], str], idf: Callable[[str], float]
             ) -> dict[int, tuple[list[Candidate] | None, str]]:
    """The pure-Python part of a batch, no database (a worker of forked.ordered_map runs
    it): paper id -> (keyword candidates, or None when the keywords are upstream's or the
    paper has no vector yet; the TL;DR, "" when upstream's is used)."""
    out: dict[int, tuple[list[Candidate] | None, str]] = {}
    for item in job.batch:
        if not item.hf_keywords and item.paper_id not in job.vectors:
            out[item.paper_id] = (None, "")  # waits for its vector: nothing to compute
            continue
        title, abstract = clean_latex(item.title), clean_latex(item.abstract)
        candidates = (None if item.hf_keywords
                      else candidate_phrases(title, abstract, stem, idf, cleaned=True))
        tldr = "" if item.hf_summary else extractive_tldr(title, abstract, cleaned=True)
        out[item.paper_id] = (candidates, tldr)
    return out


def _summarise(job: _Job, extracted: dict[int, tuple[list[Candidate] | None, str]],
               phrases: PhraseVectors) -> list[dict[str, Any]]:
    phrases.prepare([c.phrase for cands, _ in extracted.values() for c in cands or ()])
    now = dt.datetime.now(dt.UTC)
    rows: list[dict[str, Any]] = []
    for item in job.batch:
        cands, tldr = extracted[item.paper_id]
        if item.hf_keywords:
            keywords, keywords_source = item.hf_keywords, UPSTREAM
        elif cands is not None:
            keywords = select_keywords(cands, phrases.matrix([c.phrase for c in cands]),
                                       job.vectors[item.paper_id]) if cands else []
            keywords_source = METHOD
        else:
            continue  # no vector from this model yet: the next run does it
        if item.hf_summary:
            tldr, tldr_source = clean_latex(item.hf_summary), UPSTREAM
        else:
            tldr_source = METHOD
        rows.append({"paper_id": item.paper_id, "method": METHOD, "text_hash": item.digest,
                     "tldr": tldr, "tldr_source": tldr_source,
                     "keywords": json.dumps(keywords, ensure_ascii=False),
                     "keywords_source": keywords_source, "computed_at": now})
    return rows


def store_summaries(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """Insert or replace paper_summaries rows (dicts with every column)."""
    if not rows:
        return
    insert = dialect(conn).insert(paper_summaries)
    conn.execute(insert.on_conflict_do_update(
        index_elements=[paper_summaries.c.paper_id],
        set_={c: insert.excluded[c] for c in ("method", "text_hash", "tldr", "tldr_source",
                                              "keywords", "keywords_source", "computed_at")},
    ), rows)


def tldr_source_label(source: str | None) -> str:
    """What pages, feeds and emails say about where a TL;DR or keywords came from."""
    if not source:
        return ""
    if source == UPSTREAM:
        return "From Hugging Face"
    if source.startswith(LLM_PREFIX):
        return f"Summarised by {source.removeprefix(LLM_PREFIX)}"
    return f"Extracted by paperfeed ({source})"


def get_summaries(conn: Connection, paper_ids: Sequence[int]) -> dict[int, PaperSummary]:
    """Stored TL;DRs and keywords by paper id (papers with neither are absent).

    The TL;DR shown: upstream Hugging Face's, else a stored LLM one (source
    ``"llm:<model>"``), else the extractive one. Rows of an older method or model still
    count until `paperfeed index` replaces them; nothing here calls a model.
    """
    out: dict[int, PaperSummary] = {}
    ids = list(dict.fromkeys(int(i) for i in paper_ids))
    for start in range(0, len(ids), _CHUNK):
        for row in conn.execute(
            select(paper_summaries.c.paper_id, paper_summaries.c.tldr,
                   paper_summaries.c.tldr_source, paper_summaries.c.keywords,
                   paper_summaries.c.keywords_source)
            .where(paper_summaries.c.paper_id.in_(ids[start:start + _CHUNK]))
        ):
            try:
                keywords = tuple(str(k) for k in json.loads(row.keywords or "[]"))
            except json.JSONDecodeError:
                keywords = ()
            out[int(row.paper_id)] = PaperSummary(row.tldr or "", row.tldr_source, keywords,
                                                  row.keywords_source)
        for row in conn.execute(
            select(paper_llm_summaries.c.paper_id, paper_llm_summaries.c.model,
                   paper_llm_summaries.c.tldr)
            .where(paper_llm_summaries.c.paper_id.in_(ids[start:start + _CHUNK]))
        ):
            found = out.get(int(row.paper_id))
            if found is None:
                out[int(row.paper_id)] = PaperSummary(row.tldr, LLM_PREFIX + row.model, (), "")
            elif found.tldr_source != UPSTREAM:
                out[int(row.paper_id)] = PaperSummary(row.tldr, LLM_PREFIX + row.model,
                                                      found.keywords, found.keywords_source)
    return out
