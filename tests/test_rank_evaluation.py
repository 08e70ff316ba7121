"""The BEIR evaluation harness, on a tiny BEIR directory written here (never real eval data)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from paperfeed.cli import main
from paperfeed.index.embedder import HashingEmbedder
from paperfeed.rank.evaluation import evaluate_beir, load_corpus, ndcg_at, read_beir, recall_at

DOCS = {
    "d1": ("Hubness in retrieval", "Hubness hurts nearest neighbour retrieval of captions."),
    "d2": ("Protein folding", "Deep networks predict protein structures from sequences."),
    "d3": ("Speech recognition", "Audio encoders transcribe speech in many languages."),
    "d4": ("Graph networks", "Message passing on molecule graphs predicts chemistry."),
}
QUERIES = {"q1": "hubness of nearest neighbours", "q2": "predicting protein structure",
           "q3": "not judged in this split"}
QRELS = "query-id\tcorpus-id\tscore\nq1\td1\t1\nq2\td2\t2\n"


def write_beir(root: Path) -> Path:
    (root / "qrels").mkdir(parents=True)
    with (root / "corpus.jsonl").open("w") as f:
        for doc_id, (title, text) in DOCS.items():
            f.write(json.dumps({"_id": doc_id, "title": title, "text": text}) + "\n")
    with (root / "queries.jsonl").open("w") as f:
        for qid, text in QUERIES.items():
            f.write(json.dumps({"_id": qid, "text": text}) + "\n")
    (root / "qrels" / "test.tsv").write_text(QRELS)
    return root


def test_metrics():
    assert ndcg_at(["a", "b"], {"a": 1}, 10) == 1.0
    assert ndcg_at(["b", "a"], {"a": 1}, 10) == pytest.approx(1 / 1.584962500721156)
    assert ndcg_at(["b"], {}, 10) == 0.0
    assert recall_at(["a", "x"], {"a": 1, "b": 1}, 100) == 0.5


def test_read_beir_keeps_only_judged_queries(tmp_path):
    data = read_beir(write_beir(tmp_path / "beir"), "test")
    assert set(data.queries) == {"q1", "q2"}
    assert data.qrels == {"q1": {"d1": 1}, "q2": {"d2": 2}}
    assert len(data.corpus) == 4 and data.corpus[0].arxiv_id == "beir:d1"


@pytest.mark.parametrize("mode", ["keyword", "semantic", "hybrid"])
def test_evaluate_through_the_product_path(engine, tmp_path, mode):
    data = read_beir(write_beir(tmp_path / "beir"), "test")
    embedder = HashingEmbedder()
    load_corpus(engine, data, embedder)
    report = evaluate_beir(engine, data, embedder=embedder, mode=mode)
    assert report["queries"] == 2 and report["mode"] == mode
    assert report["ndcg@10"] == 1.0 and report["recall@100"] == 1.0
    assert report["latency_ms_p95"] >= report["latency_ms_p50"] > 0


def test_cli_prints_one_json_object(tmp_path, monkeypatch):
    monkeypatch.setenv("PAPERFEED_EMBEDDING_BACKEND", "hashing")
    monkeypatch.setenv("PAPERFEED_CACHE_DIR", str(tmp_path / "cache"))
    beir = write_beir(tmp_path / "beir")
    result = CliRunner().invoke(main, ["eval", "beir", str(beir), "--split", "test",
                                       "--mode", "hybrid"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output.strip().splitlines()[-1])
    assert report["ndcg@10"] == 1.0 and report["queries"] == 2
    assert {"recall@100", "latency_ms_p50", "latency_ms_p95"} <= set(report)


def test_cli_rejects_a_directory_that_is_not_beir(tmp_path):
    result = CliRunner().invoke(main, ["eval", "beir", str(tmp_path), "--split", "train"])
    assert result.exit_code != 0 and "not a BEIR directory" in result.output
