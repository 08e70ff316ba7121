"""The search commands: ``index``, ``search``, ``similar``, ``eval beir``, ``eval similar``;
thin calls into index/ and rank/. :func:`index_for_demo` is one of ``paperfeed demo``'s steps."""

from __future__ import annotations

import datetime as dt
import json
import tempfile
from pathlib import Path
from typing import Any

import click
from sqlalchemy import Engine

from paperfeed.config import Settings

from .common import DAY, common_options, engine_for, err, progress_bar, settings_from

BACKENDS = click.Choice(["onnx-int8", "torch", "hashing"])


def index_for_demo(settings: Settings, engine: Engine) -> None:
    """Demo step: embed the bundled corpus (4,350 papers, ~1 min with onnx-int8)."""
    run_index(settings, engine, batch_size=256, limit=None)


def run_index(settings: Settings, engine: Engine, *, batch_size: int, limit: int | None) -> None:
    """Embed what is missing or stale with a progress bar, then print one summary line."""
    from paperfeed.index.embedder import load_embedder
    from paperfeed.index.vectors import index_missing

    embedder = load_embedder(settings)
    with progress_bar(f"embed ({settings.embedding_backend})") as update:
        summary = index_missing(engine, embedder, batch_size=batch_size, progress=update,
                                limit=limit)
    click.echo(f"index: {summary.embedded:,} embedded, {summary.up_to_date:,} up to date "
               f"({summary.per_second:.0f} papers/s, model {embedder.model_id})")
    from paperfeed.index.summaries import METHOD, index_summaries

    with progress_bar("TL;DR + keywords") as update:
        run = index_summaries(engine, embedder, progress=update)
    click.echo(f"summaries: {run.computed:,} computed, {run.up_to_date:,} up to date, "
               f"{run.waiting:,} waiting for a vector ({run.per_second:.0f} papers/s, {METHOD})")
    from paperfeed.index.terms import term_index

    with engine.connect() as conn:  # saved, so the web workers map it instead of each
        postings = term_index(conn, save=True)  # refreshing a private copy
    click.echo(f"postings: {postings.n_alive:,} papers, "
               f"{'saved' if postings.saved else 'not saved (no cache_dir)'}")
    from paperfeed.rank.similar_lists import index_similar

    with progress_bar("similar papers") as update:
        lists = index_similar(engine, embedder.model_id, progress=update)
    click.echo(f"similar: {lists.computed:,} computed, {lists.refreshed:,} refreshed, "
               f"{lists.up_to_date:,} up to date, {lists.waiting:,} waiting for a vector "
               f"({lists.per_second:.0f} papers/s)")
    run_llm_summaries(settings, engine)  # last: the slowest step, and the only optional one


def run_llm_summaries(settings: Settings, engine: Engine) -> None:
    """When llm_url is set: abstractive TL;DRs of the papers lacking a current one, with a
    progress bar; one summary line, and each skipped paper on stderr."""
    from paperfeed.index.llm_summaries import LlmEndpoint, index_llm_summaries

    endpoint = LlmEndpoint.from_settings(settings)
    if endpoint is None:
        return
    with progress_bar(f"LLM TL;DR ({endpoint.model})") as update:
        run = index_llm_summaries(engine, endpoint, limit=settings.llm_max_papers,
                                  progress=update)
    for failure in run.failures:
        err.print(f"llm: skipped {failure}", markup=False, highlight=False)
    stopped = ", stopped after failures in a row" if run.stopped else ""
    click.echo(f"llm summaries: {run.stored:,} stored, {run.up_to_date:,} up to date, "
               f"{len(run.failures):,} skipped, {run.waiting:,} waiting for the next run "
               f"(model {endpoint.model}{stopped})")


@click.command("index")
@common_options
@click.option("--batch-size", default=256, show_default=True, help="Papers per transaction.")
@click.option("--limit", type=int, default=None, help="Embed at most this many papers.")
@click.option("--backend", type=BACKENDS, default=None, help="Override settings.embedding_backend.")
@click.option("--status", is_flag=True, help="Only print vector counts per model.")
def index_cmd(db_url: str | None, config_path: str | None, batch_size: int, limit: int | None,
              backend: str | None, status: bool) -> None:
    """Embed papers whose vector is missing or stale, then give every paper a TL;DR and
    keywords (upstream Hugging Face ones when ingested), a stored list of similar papers,
    and, when llm_url is set, an abstractive TL;DR from that endpoint (cached); resumable,
    safe to repeat."""
    from paperfeed.index.vectors import vector_counts

    settings = settings_from(db_url, config_path, embedding_backend=backend)
    engine = engine_for(settings)
    if status:
        with engine.connect() as conn:
            click.echo(json.dumps(vector_counts(conn), indent=2))
        return
    run_index(settings, engine, batch_size=batch_size, limit=limit)


def _hit_dict(hit: Any) -> dict[str, Any]:
    return {"id": hit.arxiv_id, "title": hit.title, "score": hit.score, "snippet": hit.snippet,
            "reasons": list(hit.reasons), "url": f"https://arxiv.org/abs/{hit.arxiv_id}"}


def _print_hits(hits: list[Any], as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps([_hit_dict(h) for h in hits], indent=2, ensure_ascii=False))
        return
    for number, hit in enumerate(hits, start=1):
        click.echo(f"{number:>3}. [{hit.arxiv_id}] {hit.title}  ({hit.score:.3f})")
        if hit.reasons:
            click.echo(f"     {'; '.join(hit.reasons)}")


@click.command("search")
@click.argument("query")
@common_options
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list of hits.")
@click.option("--limit", default=10, show_default=True, type=click.IntRange(1, 100))
@click.option("--offset", default=0, show_default=True, type=click.IntRange(0, 1000))
@click.option("--mode", type=click.Choice(["hybrid", "keyword", "semantic"]), default="hybrid",
              show_default=True)
@click.option("--category", default=None, help="Only papers in this arXiv category.")
@click.option("--author", default=None, help="Only papers with an author matching this.")
@click.option("--from", "date_from", type=DAY, default=None)
@click.option("--to", "date_to", type=DAY, default=None)
def search_cmd(query: str, db_url: str | None, config_path: str | None, as_json: bool,
               limit: int, offset: int, mode: str, category: str | None, author: str | None,
               date_from: dt.datetime | None, date_to: dt.datetime | None) -> None:
    """Search papers: words, "phrases", -excluded, author:, cat:, year:, before:, after:."""
    from paperfeed.index.embedder import load_embedder
    from paperfeed.rank.search import search_papers

    settings = settings_from(db_url, config_path)
    engine = engine_for(settings)
    embedder = load_embedder(settings) if mode != "keyword" else None
    with engine.connect() as conn:
        results = search_papers(
            conn, query, embedder=embedder, limit=limit, offset=offset, mode=mode,
            category=category, author=author,
            date_from=date_from.date() if date_from else None,
            date_to=date_to.date() if date_to else None,
        )
    if results.message:
        err.print(f"[yellow]{results.message}[/]", highlight=False)
    if results.redirect_arxiv_id and not as_json:
        click.echo(f"arXiv:{results.redirect_arxiv_id} is in the database:")
    _print_hits(results.hits, as_json)


@click.command("similar")
@click.argument("arxiv_id")
@common_options
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list of hits.")
@click.option("--limit", default=10, show_default=True, type=click.IntRange(1, 100))
def similar_cmd(arxiv_id: str, db_url: str | None, config_path: str | None, as_json: bool,
                limit: int) -> None:
    """Papers closest in meaning to ARXIV_ID."""
    from paperfeed.rank.similar import similar_papers

    engine = engine_for(settings_from(db_url, config_path))
    with engine.connect() as conn:
        hits = similar_papers(conn, arxiv_id, limit=limit)
    if not hits and not as_json:
        raise click.ClickException(f"no paper {arxiv_id!r} in the database, or no neighbours")
    _print_hits(hits, as_json)


@click.group("eval")
def eval_group() -> None:
    """Measure search relevance."""


@eval_group.command("beir")
@click.argument("directory", type=click.Path(file_okay=False, exists=True, path_type=Path))
@common_options
@click.option("--split", default="train", show_default=True, help="qrels/SPLIT.tsv to score.")
@click.option("--mode", type=click.Choice(["keyword", "semantic", "hybrid"]), default="hybrid",
              show_default=True)
@click.option("--workdir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Keep the evaluation database here and reuse it (default: a temporary "
              "directory, removed afterwards).")
@click.option("--backend", type=BACKENDS, default=None, help="Override settings.embedding_backend.")
@click.option("--max-tokens", type=int, default=None, help="Override embedding_max_tokens.")
def eval_beir_cmd(directory: Path, db_url: str | None, config_path: str | None, split: str,
                  mode: str, workdir: Path | None, backend: str | None,
                  max_tokens: int | None) -> None:
    """Load a BEIR directory into a scratch database through ingest -> index -> search, run
    the split's queries, print one JSON object (nDCG@10, recall@100, latency).

    The scratch database is WORKDIR/eval.db (SQLite); with --db, the corpus is loaded into
    that database instead (use an empty one, e.g. a PostgreSQL database made for this)."""
    from paperfeed.index.embedder import load_embedder
    from paperfeed.rank.evaluation import evaluate_beir, load_corpus, read_beir
    from paperfeed.store.database import open_engine
    from paperfeed.store.migrate import upgrade_database

    settings = settings_from(None, config_path, embedding_backend=backend,
                             embedding_max_tokens=max_tokens)
    try:
        data = read_beir(directory, split)
    except (OSError, ValueError, KeyError) as exc:
        raise click.ClickException(f"{directory} is not a BEIR directory: {exc}") from exc
    with tempfile.TemporaryDirectory(prefix="paperfeed-eval-") as tmp:
        root = workdir or Path(tmp)
        root.mkdir(parents=True, exist_ok=True)
        engine = open_engine(db_url or f"sqlite:///{root / 'eval.db'}")
        upgrade_database(engine)
        embedder = load_embedder(settings) if mode != "keyword" else None
        load_corpus(engine, data, embedder)
        report = evaluate_beir(engine, data, embedder=embedder, mode=mode)
        engine.dispose()
    report = {"dataset": directory.name, "split": split, **report,
              "embedder": embedder.model_id if embedder else None,
              "backend": settings.embedding_backend if embedder else None}
    click.echo(json.dumps(report))


@eval_group.command("similar")
@click.argument("directory", type=click.Path(file_okay=False, exists=True, path_type=Path))
@common_options
@click.option("--workdir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Keep the evaluation database here and reuse it (default: a temporary "
              "directory, removed afterwards).")
@click.option("--backend", type=BACKENDS, default=None, help="Override settings.embedding_backend.")
def eval_similar_cmd(directory: Path, db_url: str | None, config_path: str | None,
                     workdir: Path | None, backend: str | None) -> None:
    """Load a CSFCube directory (corpus.jsonl, queries.tsv, qrels.tsv) into a scratch
    database through import -> index, rank each query paper's similar papers, print one
    JSON object (nDCG@20 over the query paper x facet pairs, per facet, latency).

    The scratch database is WORKDIR/similar.db (SQLite); with --db, the corpus is loaded
    into that database instead (use an empty one)."""
    from paperfeed.index.embedder import load_embedder
    from paperfeed.index.terms import forget
    from paperfeed.rank.similar_eval import evaluate_similar, load_csfcube, read_csfcube
    from paperfeed.store.database import open_engine
    from paperfeed.store.migrate import upgrade_database

    settings = settings_from(None, config_path, embedding_backend=backend)
    try:
        data = read_csfcube(directory)
    except (OSError, ValueError) as exc:
        raise click.ClickException(f"{directory} is not a CSFCube directory: {exc}") from exc
    with tempfile.TemporaryDirectory(prefix="paperfeed-eval-") as tmp:
        root = workdir or Path(tmp)
        root.mkdir(parents=True, exist_ok=True)
        engine = open_engine(db_url or f"sqlite:///{root / 'similar.db'}")
        upgrade_database(engine)
        embedder = load_embedder(settings)
        load_csfcube(engine, data, embedder)
        report = evaluate_similar(engine, data)
        engine.dispose()
        forget()
    click.echo(json.dumps({"dataset": directory.name, **report,
                           "embedder": embedder.model_id,
                           "backend": settings.embedding_backend}))
