"""`paperfeed eval similar`: CSFCube-layout directories scored through similar_papers.

The directory is written here (a few invented papers); the real CSFCube data is never
copied into the project."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from paperfeed.cli import main
from paperfeed.rank.similar_eval import read_csfcube

PAPERS = [
    ("1", "Hubness in cross-modal retrieval of images and captions",
     "Hubness makes a few captions nearest neighbours of many images. We reduce hubness."),
    ("2", "Reducing hubness for image caption retrieval",
     "We normalise similarity scores so that hub captions stop dominating image retrieval."),
    ("3", "Diffusion models for image generation",
     "We train diffusion models that generate images from text prompts."),
    ("4", "Large language models as reasoning engines",
     "Language models solve reasoning problems when prompted with chains of thought."),
    ("5", "Alignment of large language models",
     "Preference learning and reward models align large language models with people."),
]


def write_csfcube(root, qrels):
    root.mkdir(exist_ok=True)
    with (root / "corpus.jsonl").open("w") as handle:
        for pid, title, abstract in PAPERS:
            sentences = [{"label": "background", "text": abstract}]
            handle.write(json.dumps({"paper_id": pid, "title": title, "year": 2020,
                                     "abstract_sentences": sentences}) + "\n")
    pairs = sorted({(q, f) for q, f, _, _ in qrels})
    (root / "queries.tsv").write_text("paper_id\tfacet\n" +
                                      "".join(f"{q}\t{f}\n" for q, f in pairs))
    (root / "qrels.tsv").write_text("query_pid\tfacet\tcand_pid\trelevance_adju\n" +
                                    "".join(f"{q}\t{f}\t{c}\t{g}\n" for q, f, c, g in qrels))
    return root


def test_read_csfcube(tmp_path):
    data = read_csfcube(write_csfcube(tmp_path / "c", [("1", "method", "2", 3),
                                                       ("1", "method", "3", 0)]))
    assert len(data.corpus) == 5 and data.corpus[0].arxiv_id == "csfcube:1"
    assert data.corpus[0].abstract.startswith("Hubness makes")
    assert data.pairs == [("1", "method")]
    assert data.qrels[("1", "method")] == {"2": 3, "3": 0}


@pytest.mark.parametrize("relevant, perfect", [("2", True), ("3", False)])
def test_cli_scores_the_product_ranking(tmp_path, monkeypatch, relevant, perfect):
    monkeypatch.setenv("PAPERFEED_CACHE_DIR", str(tmp_path / "cache"))
    root = write_csfcube(tmp_path / "c", [("1", "result", relevant, 2),
                                          ("4", "background", "5", 1)])
    result = CliRunner().invoke(main, ["eval", "similar", str(root), "--backend", "hashing"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["pairs"] == 2 and set(report["by_facet"]) == {"background", "result"}
    assert report["by_facet"]["background"] == 1.0  # 5 is 4's nearest paper
    assert (report["by_facet"]["result"] == 1.0) is perfect
    assert 0 < report["ndcg@20"] <= 1


def test_cli_rejects_a_directory_that_is_not_csfcube(tmp_path):
    result = CliRunner().invoke(main, ["eval", "similar", str(tmp_path)])
    assert result.exit_code != 0 and "not a CSFCube directory" in result.output
