"""`paperfeed index`, `search`, `similar` from the command line."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from paperfeed.cli import main
from paperfeed.cli.ops import DEMO_STEPS
from paperfeed.cli.search import index_for_demo

from .search_corpus import load_search_corpus


@pytest.fixture
def cli_env(engine, settings, monkeypatch):
    monkeypatch.setenv("PAPERFEED_EMBEDDING_BACKEND", "hashing")
    monkeypatch.setenv("PAPERFEED_CACHE_DIR", settings.cache_dir)
    return settings.database_url


def run(*args: str) -> str:
    result = CliRunner().invoke(main, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def test_index_then_search_and_similar_as_json(engine, cli_env):
    load_search_corpus(engine, embed=False)
    assert "10 embedded" in run("index", "--db", cli_env)
    assert "0 embedded, 10 up to date" in run("index", "--db", cli_env)
    assert json.loads(run("index", "--db", cli_env, "--status")) == {"hashing-384": 10}
    hits = json.loads(run("search", "hubness captions", "--db", cli_env, "--json",
                          "--limit", "2"))
    assert len(hits) == 2 and hits[0]["id"] == "2501.00001"
    assert {"id", "title", "score", "snippet", "reasons", "url"} <= set(hits[0])
    similar = json.loads(run("similar", "2501.00001", "--db", cli_env, "--json"))
    assert similar[0]["id"] == "2501.00010"
    text = run("search", "hubness", "--db", cli_env, "--mode", "keyword")
    assert "2501.00001" in text


def test_search_prints_a_message_for_an_empty_query(engine, cli_env):
    load_search_corpus(engine)
    result = CliRunner().invoke(main, ["search", "", "--db", cli_env, "--json"])
    assert result.exit_code == 0 and json.loads(result.stdout) == []


def test_similar_for_an_unknown_paper_fails_clearly(engine, cli_env):
    result = CliRunner().invoke(main, ["similar", "2599.99999", "--db", cli_env])
    assert result.exit_code != 0 and "no paper" in result.output


def test_demo_indexes_after_import(engine, settings):
    assert index_for_demo in DEMO_STEPS
    load_search_corpus(engine, embed=False)
    index_for_demo(settings.model_copy(update={"embedding_backend": "hashing"}), engine)
    from paperfeed.index.vectors import vector_counts

    with engine.connect() as conn:
        assert vector_counts(conn) == {"hashing-384": 10}
