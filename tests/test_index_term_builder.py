"""The server's search warm-up tokenises the corpus in a child process
(index/term_builder.py), never in the web server's own process, whose requests would
wait for the GIL meanwhile; without a cache directory, or when the child fails, the
process builds its own copy as before (both databases)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from paperfeed.config import Settings
from paperfeed.index import terms
from paperfeed.index.postings import build_segment
from paperfeed.index.term_builder import build_saved_terms
from paperfeed.index.terms import has_current_saved_set, term_index, use_cache_dir
from paperfeed.rank.search import warm_up
from paperfeed.store.database import open_engine

from .search_corpus import load_search_corpus


@pytest.fixture
def tokenised_here(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """Papers tokenised by this process (build_segment calls, by batch size)."""
    calls: list[int] = []

    def counting(rows: Any, offset: int) -> Any:
        calls.append(len(rows))
        return build_segment(rows, offset)

    monkeypatch.setattr(terms, "build_segment", counting)
    terms.forget()
    yield calls
    terms.forget()


def test_warm_up_leaves_the_tokenising_to_a_child_process(
        settings: Settings, engine: Engine, tmp_path: Path, tokenised_here: list[int]) -> None:
    load_search_corpus(engine, embed=False)
    use_cache_dir(engine, tmp_path)
    with engine.connect() as conn:
        assert not has_current_saved_set(conn)
    warm_up(engine, settings).join()
    saved = list((tmp_path / "terms").glob("*-*-*-*"))
    assert len(saved) == 1
    assert not saved[0].name.endswith(f"-{os.getpid()}")  # written by another process
    assert tokenised_here == []
    with engine.connect() as conn:
        assert has_current_saved_set(conn)
        index = term_index(conn)
    assert index.saved and index.n_alive > 0  # this process maps the child's set
    assert tokenised_here == []
    # a server started later finds the set current: no child, no tokenising
    terms.forget()
    warm_up(engine, settings).join()
    assert list((tmp_path / "terms").glob("*-*-*-*")) == saved and tokenised_here == []


def test_without_a_cache_directory_the_process_builds_its_own_copy(
        settings: Settings, engine: Engine, tokenised_here: list[int]) -> None:
    load_search_corpus(engine, embed=False)
    assert build_saved_terms(engine) is False  # nothing a child could share
    warm_up(engine, settings).join()
    assert sum(tokenised_here) > 0


def test_a_failed_child_answers_false_and_saves_nothing(tmp_path: Path) -> None:
    """warm_up then builds in its own process (term_index: the set is still missing)."""
    unmigrated = open_engine(f"sqlite:///{tmp_path / 'no-tables.db'}")
    use_cache_dir(unmigrated, tmp_path / "cache")
    try:
        assert build_saved_terms(unmigrated) is False
        assert list((tmp_path / "cache").glob("terms/*-*-*-*")) == []
    finally:
        unmigrated.dispose()
