"""The headline benchmark table in one run: ``python -m bench`` (or ``make bench``).

On the shared corpus (57,852 papers) in a fresh SQLite file: import, embedding, ``paperfeed
index`` end to end, search and similar-papers latency, the web pages and digests. Every
figure stands next to a reference measured in the same run on the same data, and the ratio
between them is what the targets are about (absolute figures move with the machine and with
whatever else runs on it; ratios to in-run references hold on any machine of the kind):

- import: a raw sqlite3 + FTS5 insert of the same rows (bench_import.py);
- embedding and indexing: sentence-transformers fp32 (torch) on the same abstracts;
- the vector arm of search: a bare numpy matrix-vector product over the same matrix;
- the keyword arm: an FTS5 ``bm25()`` query over the same table with the same words;
- hybrid search: arxiv-sanity-lite's median (986 ms over the same 57,852 papers, measured in
  another session, issue 15): the one reference not measured here;
- PostgreSQL + pgvector (bench/pg_rows.py, ``--skip pg`` leaves it out, ~3-4 min): an
  embedded server gets the corpus through ``paperfeed``'s importer (beside the SQLite
  import) and this run's vectors, similar-papers lists and summaries copied from the SQLite
  file (no second embedding), the HNSW index built once after the copy; search and
  similar papers then run the same queries and papers as the SQLite rows and stand beside
  them, the arms beside bare pgvector / ``ts_rank`` SQL over the same tables.

It first prints the machine block (bench/machine.py), then one Markdown table, then the load
average after. ``paperfeed index`` of the whole corpus is most of the run (57,852 papers,
all four steps: 12.5 min at 77 papers/s on an idle 2-core Intel Xeon, docs/benchmarks.md);
``--index-limit`` shortens it. Run it under the bench lock:

    flock /tmp/paperfeed-bench.lock python -m bench
"""

from __future__ import annotations

import argparse
import os
import shutil
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from bench import machine
from bench.bench_import import CORPUS, raw_sqlite_floor, timed_import
from bench.embed_throughput import rate, read_texts
from bench.pg_rows import pg_rows
from bench.rows import Row, Timings, ms, p50_p95, read_sample, time_reads, timed

GROUPS = ("Rows: import, embedding, `paperfeed index`, SQLite search and similar papers, "
          "then (each group may be skipped) PostgreSQL + pgvector import, search and similar "
          "papers on the same papers, vectors and queries (pg), the web pages (web) and "
          "digests (digest).")
ARXIV_SANITY_MEDIAN_MS = 986.0  # issue 15: arxiv-sanity-lite search, same corpus, other session


def import_rows(corpus: Path, work: Path, timings: Timings) -> tuple[list[Row], str]:
    floor = raw_sqlite_floor(corpus, work)
    (work / "raw.db").unlink()
    db = work / "bench.db"
    first, again, n = timed_import(f"sqlite:///{db}", corpus)
    timings["import"] = [first]
    return [Row(f"import {n:,} papers into SQLite (keyword index included)",
                f"{first:.2f} s ({n / first:,.0f}/s); re-import {again:.2f} s",
                "raw sqlite3 + FTS5 insert of the same rows", f"{floor:.2f} s",
                f"{first / floor:.2f}x the time", "")], f"sqlite:///{db}"


def embedding_rows(corpus: Path, db_url: str, cache_dir: str, sample: int,
                   index_limit: int | None) -> tuple[list[Row], str]:
    from paperfeed.config import load_settings
    from paperfeed.index.embedder import (
        OnnxEmbedder,
        TorchEmbedder,
        bundled_model_dir,
        load_embedder,
    )
    from paperfeed.index.onnx_export import quantized_model_path
    from paperfeed.index.summaries import index_summaries
    from paperfeed.index.terms import term_index
    from paperfeed.index.vectors import index_missing
    from paperfeed.rank.similar_lists import index_similar
    from paperfeed.store.database import open_engine

    texts = read_texts(corpus, sample)
    model_dir = bundled_model_dir()
    onnx = OnnxEmbedder(model_dir, quantized_model_path(model_dir, cache_dir))
    torch = TorchEmbedder(model_dir)
    torch_rates, onnx_rates = [], []
    for _ in range(2):  # interleaved, so that load hits both alike
        value, reference = rate(torch.embed, texts)
        torch_rates.append(value)
        value, vectors = rate(onnx.embed, texts)
        onnx_rates.append(value)
    cosine = (vectors * reference).sum(axis=1)
    torch_rate, onnx_rate = statistics.median(torch_rates), statistics.median(onnx_rates)
    kernels = machine.ort_kernels(onnx, onnx.tokenizer.encode(texts[0]).ids)
    settings = load_settings(database_url=db_url, embedding_backend="onnx-int8",
                             cache_dir=cache_dir)
    engine = open_engine(db_url)
    embedder = load_embedder(settings)
    # The steps of `paperfeed index` (cli/search.py run_index), in its order, each timed.
    summary = index_missing(engine, embedder, batch_size=256, limit=index_limit)
    summaries = index_summaries(engine, embedder)
    started = time.perf_counter()
    with engine.connect() as conn:
        term_index(conn, save=True)
    postings_s = time.perf_counter() - started
    lists = index_similar(engine, embedder.model_id)
    engine.dispose()
    index_s = summary.seconds + summaries.seconds + postings_s + lists.seconds
    # The reference once more after the long indexing run (the machine may have changed).
    torch_after, _ = rate(torch.embed, texts)
    reference_rate = statistics.median(torch_rates + [torch_after])
    rows = [
        Row(f"embedding, {len(texts)} abstracts (title + abstract, 256 tokens), int8 ONNX",
            f"{onnx_rate:.1f}/s (cosine to fp32: min {cosine.min():.4f}, mean "
            f"{cosine.mean():.4f})",
            "sentence-transformers fp32 (torch), same abstracts",
            f"{torch_rate:.1f}/s", f"{onnx_rate / torch_rate:.2f}x", ""),
        Row(f"`paperfeed index` end to end, {summary.embedded:,} papers (all four steps "
            "below)", f"{summary.embedded / index_s:.1f} papers/s ({index_s:.0f} s)",
            "sentence-transformers fp32, same abstracts (3 runs, median)",
            f"{reference_rate:.1f}/s", f"{summary.embedded / index_s / reference_rate:.2f}x",
            ">= 6x"),
        Row("`paperfeed index` step 1: embedding (read, hash, embed, write vectors)",
            f"{summary.per_second:.1f} papers/s ({summary.seconds:.0f} s)",
            "sentence-transformers fp32 (as above)", f"{reference_rate:.1f}/s",
            f"{summary.per_second / reference_rate:.2f}x", ""),
        Row(f"`paperfeed index` step 2: TL;DR + keywords, {summaries.computed:,} papers",
            f"{summaries.seconds:.0f} s ({summaries.per_second:.0f} papers/s)",
            "", "", "", ""),
        Row("`paperfeed index` step 3: BM25 postings saved for the web workers",
            f"{postings_s:.1f} s", "", "", "", ""),
        Row(f"`paperfeed index` step 4: similar-papers lists, {lists.computed:,} papers",
            f"{lists.seconds:.0f} s ({lists.per_second:.0f} papers/s)", "", "", "", ""),
    ]
    return rows, kernels


def search_rows(db_url: str, cache_dir: str, n_queries: int, timings: Timings) -> list[Row]:
    from paperfeed.config import load_settings
    from paperfeed.index import sqlite_backend
    from paperfeed.index.embedder import load_embedder
    from paperfeed.rank.filters import SearchFilters, paper_conditions
    from paperfeed.rank.query import ParsedQuery
    from paperfeed.store.database import open_engine

    embedder = load_embedder(load_settings(embedding_backend="onnx-int8", cache_dir=cache_dir))
    engine = open_engine(db_url)
    raw = sqlite3.connect(db_url.removeprefix("sqlite:///"))
    conditions = paper_conditions(SearchFilters())

    with engine.connect() as conn:
        sample = read_sample(conn, n_queries)
        count = sample.count
        matrix = sqlite_backend.vector_matrix(conn, embedder.model_id).matrix

        def arms(parsed: ParsedQuery, vector: np.ndarray) -> None:
            timed(timings, "vector arm", lambda: sqlite_backend.vector_candidates(
                conn, vector, embedder.model_id, conditions, 100, narrowing=False))
            timed(timings, "bare matvec", lambda: matrix @ vector)
            timed(timings, "keyword arm", lambda: sqlite_backend.keyword_candidates(
                conn, parsed.terms, [], [], conditions, 100, narrowing=False))
            expr = sqlite_backend.fts5_expression(parsed.terms, [], [])
            if expr:
                timed(timings, "fts5 bm25", lambda: raw.execute(
                    "SELECT rowid, bm25(papers_fts) FROM papers_fts WHERE papers_fts MATCH ? "
                    "ORDER BY bm25(papers_fts) LIMIT 100", (expr,)).fetchall())

        time_reads(conn, embedder, sample, timings, arms)
    raw.close()
    engine.dispose()
    t = timings
    return [
        Row(f"hybrid search, {count:,} papers, {len(t['hybrid'])} queries (p50 / p95)",
            p50_p95(t['hybrid']),
            "arxiv-sanity-lite search median (issue 15, another session)",
            f"{ARXIV_SANITY_MEDIAN_MS:.0f} ms",
            f"{ARXIV_SANITY_MEDIAN_MS / ms(t['hybrid'], 50):.0f}x faster",
            ">= 30x faster; p95 <= 30 ms"),
        Row("garbage collections during the timed searches (count; total, longest)",
            f"{len(t.get('gc pause', []))}; {sum(t.get('gc pause', [])) * 1000:.1f} ms, "
            f"{max(t.get('gc pause', [0.0])) * 1000:.1f} ms", "", "", "", ""),
        Row("semantic search (p50 / p95), query embedding included",
            p50_p95(t['semantic']), "", "", "", ""),
        Row("keyword search (p50 / p95)",
            p50_p95(t['keyword']), "", "", "", ""),
        Row("vector arm: `vector_candidates`, top 100 (p50)",
            f"{ms(t['vector arm'], 50):.2f} ms",
            "bare numpy matrix-vector product over the same matrix (p50)",
            f"{ms(t['bare matvec'], 50):.2f} ms",
            f"{ms(t['vector arm'], 50) / ms(t['bare matvec'], 50):.2f}x the time",
            "was 2.5x (issue 15)"),
        Row("keyword arm: `keyword_candidates`, top 100 (p50)",
            f"{ms(t['keyword arm'], 50):.2f} ms",
            "FTS5 `bm25()` over the same table, same words, top 100 (p50)",
            f"{ms(t['fts5 bm25'], 50):.2f} ms",
            f"{ms(t['keyword arm'], 50) / ms(t['fts5 bm25'], 50):.2f}x the time", ""),
        Row(f"similar papers, {len(t['similar'])} papers, stored lists (p50 / p95)",
            p50_p95(t['similar']),
            "the same papers computed online (p50 / p95)",
            p50_p95(t['similar online']),
            f"{ms(t['similar'], 95) / ms(t['similar online'], 95):.2f}x the time (p95)",
            "p95 <= 5 ms"),
        Row("similar papers computed online (p50)", f"{ms(t['similar online'], 50):.1f} ms",
            "bare numpy matrix-vector product (p50)", f"{ms(t['bare matvec'], 50):.2f} ms",
            f"{ms(t['similar online'], 50) / ms(t['bare matvec'], 50):.2f}x the time", ""),
    ]


def web_rows(db_url: str, seconds: int) -> list[Row]:
    if shutil.which("wrk") is None:
        return [Row("web pages", "not measured: `wrk` is not installed", "", "", "", "")]
    from bench.web_load import measure

    rows, invalidated = measure(db_url, seconds=seconds)
    return [Row(f"web: {name}, wrk -c32, {seconds} s (requests/s, p99)",
                f"{r['rps']:,.0f}/s, p99 {r['p99']:.1f} ms, non-2xx {r['errors']:.0f}, "
                f"socket errors {r['socket_errors']:.0f}, timeouts (10 s) {r['timeouts']:.0f}",
                "", "", "", "vote invalidates the cached page: "
                + ("yes" if invalidated else "NO")) for name, _, r in rows]


def digest_rows(corpus: Path, work: Path, subscribers: int) -> list[Row]:
    from bench import digest_bench
    from bench.digest_bench import setup, time_build

    digest_bench.CORPUS = corpus
    url = f"sqlite:///{work / 'digest.db'}"
    setup(url, subscribers)
    wall, built, _empty, rank_s, render_s = time_build(url, subscribers, 1)
    return [Row(f"digests: build + render for {subscribers:,} subscribers x 1,000 papers, "
                "1 process", f"{wall:.1f} s ({built / wall:,.0f} digests/s)", "", "", "",
                f"rank {rank_s:.1f} s + render {render_s:.1f} s CPU")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] + " " + GROUPS)
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--cache-dir", default=str(Path(tempfile.gettempdir()) / "pf-cache"))
    parser.add_argument("--embed-sample", type=int, default=384,
                        help="abstracts embedded by both engines (default 384)")
    parser.add_argument("--index-limit", type=int, default=0,
                        help="embed at most this many papers (default: all)")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--web-seconds", type=int, default=10)
    parser.add_argument("--digest-subscribers", type=int, default=10_000)
    parser.add_argument("--skip", default="",
                        help="comma-separated row groups to leave out: pg (the PostgreSQL "
                             "rows), web, digest")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    load_before = os.getloadavg()
    started = time.perf_counter()
    skip = set(filter(None, args.skip.split(",")))
    extra = {
        "int8 GEMM peak (ONNX Runtime MatMulInteger, 1 thread, 256x384x1536)":
            f"{machine.int8_peak():.0f} GMAC/s",
        "fp32 GEMM peak (torch, 1 thread, same shape)": f"{machine.torch_fp32_peak():.0f} GMAC/s",
    }
    rows: list[Row] = []
    same_run: Timings = {}  # the SQLite figures the PostgreSQL rows stand beside
    with tempfile.TemporaryDirectory(prefix="pf-bench-", ignore_cleanup_errors=True) as tmp:
        work = Path(tmp)
        found, db_url = import_rows(args.corpus, work, same_run)
        rows += found
        found, kernels = embedding_rows(args.corpus, db_url, args.cache_dir, args.embed_sample,
                                        args.index_limit or None)
        rows += found
        extra["ONNX Runtime ops of the int8 embedder (share of one text's run)"] = kernels
        rows += search_rows(db_url, args.cache_dir, args.queries, same_run)
        for name, run in (
            ("pg", lambda: pg_rows(db_url, args.corpus, work, args.cache_dir, args.queries,
                                   same_run)),
            ("web", lambda: web_rows(db_url, args.web_seconds)),
            ("digest", lambda: digest_rows(args.corpus, work, args.digest_subscribers)),
        ):
            if name in skip:
                continue
            try:
                rows += run()
            except Exception as exc:  # noqa: BLE001 - one broken row must not lose the table
                rows.append(Row(f"{name}", f"failed: {type(exc).__name__}: {exc}"[:200],
                                "", "", "", ""))
    print(machine.machine_block(load_before, extra))
    print()
    print("| measure | paperfeed | in-run reference | reference | ratio | target |")
    print("|---|---|---|---:|---:|---|")
    for r in rows:
        print(f"| {r.measure} | {r.value} | {r.reference} | {r.reference_value} | {r.ratio} "
              f"| {r.target} |")
    print()
    print(f"load average after: {' / '.join(f'{x:.2f}' for x in os.getloadavg())}; "
          f"whole run {(time.perf_counter() - started) / 60:.1f} min")


if __name__ == "__main__":
    main()
