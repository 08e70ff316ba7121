"""Saved, memory-mapped search index sets (index/saved_arrays.py, index/terms.py): built
once, mapped read-only (shared pages) by other processes, rebuilt when the data changes,
torn or old sets ignored, one builder when several processes find the index stale (both
databases)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from paperfeed.index import terms
from paperfeed.index.backend import backend_for
from paperfeed.index.postings import SortedVocab, build_segment
from paperfeed.index.saved_arrays import load_set, save_set, saved_sets
from paperfeed.index.terms import term_index
from paperfeed.index.tokens import query_stems
from paperfeed.store.database import write_transaction
from paperfeed.store.papers import upsert_papers

from .search_corpus import load_search_corpus
from .test_index_terms import QUERIES, keyword_ids, paper

# A second process: maps the saved postings of the database and reports what it did.
CHILD = textwrap.dedent("""
    import json, sys
    from paperfeed.store.database import open_engine
    from paperfeed.index import postings, terms
    from paperfeed.index.backend import backend_for
    from paperfeed.index.tokens import query_stems
    built = []
    real = terms.build_segment
    terms.build_segment = lambda *a: built.append(len(a[0])) or real(*a)
    engine = open_engine(sys.argv[1])
    terms.use_cache_dir(engine, sys.argv[2])
    with engine.connect() as conn:
        ix = terms.term_index(conn, backend_for(conn).text_changes,
                              save=sys.argv[4:] == ["save"])
        scores = ix.scores(query_stems(sys.argv[3].split()))
    maps = open("/proc/self/maps").read().splitlines()
    mapped = [line.split()[1] for line in maps if "/terms/" in line and ".npy" in line]
    print(json.dumps({"built": built, "saved": ix.saved, "mapped": mapped,
                      "writeable": bool(ix.segments[0].rows.flags.writeable),
                      "scores": {int(i): float(s) for i, s in zip(ix.ids, scores) if s > 0}}))
""")


def child(db_url: str, cache: Path, query: str = "diffusion models", *extra: str) -> dict:
    out = subprocess.run([sys.executable, "-c", CHILD, db_url, str(cache), query, *extra],
                         capture_output=True, text=True, check=True, timeout=120)
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.fixture
def cache(engine, tmp_path):
    terms.use_cache_dir(engine, tmp_path / "c")
    terms.forget()
    yield tmp_path / "c"
    terms.use_cache_dir(engine, None)
    terms.forget()


def test_built_once_then_mapped_read_only_by_another_process(engine, db_url, cache):
    load_search_corpus(engine, embed=False)
    with engine.connect() as conn:
        mine = term_index(conn, backend_for(conn).text_changes)
        scores = mine.scores(query_stems(["diffusion", "models"]))
    assert mine.saved and len(list((cache / "terms").glob("*-*-*-*"))) == 1
    other = child(db_url, cache)
    assert other["built"] == [] and other["saved"]  # mapped, nothing tokenised
    assert other["writeable"] is False
    # shared mappings of the saved files ("r--s"), not private copies
    assert other["mapped"] and all(perms.startswith("r--s") for perms in other["mapped"])
    want = {int(i): float(s) for i, s in zip(mine.ids, scores, strict=True) if s > 0}
    got = {int(k): v for k, v in other["scores"].items()}
    assert want and got == pytest.approx(want, rel=1e-6)
    assert len(list((cache / "terms").glob("*-*-*-*"))) == 1  # the child saved nothing


def test_mapped_copy_scores_like_a_built_one(engine, cache):
    """The binary-searched vocabulary of a mapped set finds exactly the built postings."""
    load_search_corpus(engine, embed=False)
    terms.use_cache_dir(engine, None)
    with engine.connect() as conn:
        built = term_index(conn, backend_for(conn).text_changes)
    terms.forget()
    terms.use_cache_dir(engine, cache)
    with engine.connect() as conn:
        mapped = term_index(conn, backend_for(conn).text_changes)
    assert mapped.saved and not built.saved
    assert isinstance(mapped.segments[0].vocab, SortedVocab)
    assert dict(mapped.segments[0].vocab.items()) == dict(built.segments[0].vocab.items())
    for query in [*QUERIES, "zzznotaword"]:
        stems = query_stems(query.split())
        a, b = built.scores(stems), mapped.scores(stems)
        assert (a is None) == (b is None)
        if a is not None and b is not None:
            assert np.array_equal(a, b)


def test_rebuilt_on_data_change_and_the_new_set_is_what_others_map(engine, db_url, cache,
                                                                   monkeypatch):
    monkeypatch.setattr(terms, "REBUILD_FRACTION", 10.0)
    load_search_corpus(engine, embed=False)
    with engine.connect() as conn:
        first = term_index(conn, backend_for(conn).text_changes)
    with write_transaction(engine) as conn:
        upsert_papers(conn, [paper("2502.00001", "Zebrafish larvae tracking", "We track fish.")])
    with engine.connect() as conn:
        private = term_index(conn, backend_for(conn).text_changes)  # a web worker's refresh
        assert private.stamp != first.stamp and not private.saved
        assert keyword_ids(conn, "zebrafish") == ["2502.00001"]
        saved = term_index(conn, backend_for(conn).text_changes, save=True)  # the worker's
    assert saved.saved and saved.stamp == private.stamp
    assert len(list((cache / "terms").glob("*-*-*-*"))) == 2
    other = child(db_url, cache, "zebrafish")
    assert other["built"] == [] and other["saved"] and len(other["scores"]) == 1
    # a process holding a private copy switches to the saved set once it looks again
    terms.forget()
    monkeypatch.setattr(terms, "RECHECK_SECONDS", 0.0)
    with write_transaction(engine) as conn:
        upsert_papers(conn, [paper("2502.00002", "Zebrafish fins", "Fins.")])
    with engine.connect() as conn:
        assert not term_index(conn, backend_for(conn).text_changes).saved
    assert child(db_url, cache, "zebrafish", "save")["saved"]  # the worker's index step
    with engine.connect() as conn:
        assert term_index(conn, backend_for(conn).text_changes).saved


def test_torn_and_old_sets_are_ignored(engine, db_url, cache):
    load_search_corpus(engine, embed=False)
    with engine.connect() as conn:
        before = keyword_ids(conn, "hubness captions")
    (good,) = list((cache / "terms").glob("*-*-*-*"))
    # an old single-file copy (format 1) and a torn newer set: neither is trusted
    (cache / "terms" / f"{good.name.split('-')[0]}.npz").write_bytes(b"PK\x03\x04 not a zip")
    torn = good.with_name(good.name.rsplit("-", 2)[0] + "-99999999999999999999-1")
    torn.mkdir()
    for f in good.iterdir():
        torn.joinpath(f.name).write_bytes(f.read_bytes())
    rows = torn / "rows0.npy"
    rows.write_bytes(rows.read_bytes()[: rows.stat().st_size // 2])
    assert saved_sets(cache / "terms", good.name.split("-")[0])[0] == torn
    assert load_set(torn) is None
    other = child(db_url, cache, "hubness captions")
    assert other["built"] == [] and other["saved"]  # mapped the good set instead
    terms.forget()
    meta = json.loads((good / "meta.json").read_text())
    (good / "meta.json").write_text(json.dumps({**meta, "format": 1}))
    with engine.connect() as conn:  # no readable set left: built (and saved) again
        assert keyword_ids(conn, "hubness captions") == before
        assert term_index(conn, backend_for(conn).text_changes).saved


def test_one_builder_when_processes_start_together(engine, db_url, cache):
    load_search_corpus(engine, embed=False)
    runs = [subprocess.Popen([sys.executable, "-c", CHILD, db_url, str(cache), "speech"],
                             stdout=subprocess.PIPE, text=True) for _ in range(3)]
    reports = [json.loads(p.communicate(timeout=120)[0].strip().splitlines()[-1]) for p in runs]
    assert sum(1 for r in reports if r["built"]) == 1  # the others waited and mapped
    assert all(r["saved"] for r in reports)
    assert len(list((cache / "terms").glob("*-*-*-*"))) == 1


def test_save_set_keeps_the_newest_and_vocab_round_trips(tmp_path):
    vocab = {"zeta": 0, "alpha": 1, "m\u00e9lange": 2, "beta": 3}
    for i in range(5):
        assert save_set(tmp_path, "x", str(i), {"i": i}, SortedVocab.arrays_of(vocab), keep=3)
    sets = saved_sets(tmp_path, "x")
    assert len(sets) == 3
    loaded = load_set(sets[0])
    assert loaded is not None and loaded[0]["i"] == 4
    mapped = SortedVocab(loaded[1]["text"], loaded[1]["offsets"], loaded[1]["tids"])
    assert dict(mapped.items()) == vocab and mapped.get("gamma") is None
    assert all(mapped.get(w) == t for w, t in vocab.items())
    segment, _ = build_segment([("Bridges of models", None, None)], 0)
    assert SortedVocab(**SortedVocab.arrays_of(segment.vocab)).get("bridg") == \
        segment.vocab["bridg"]


# A second process: maps the SQLite vector matrix and reports whether it read the database.
VECTOR_CHILD = textwrap.dedent("""
    import json, sys
    from paperfeed.store.database import open_engine
    from paperfeed.index import saved_arrays, sqlite_backend
    reads = []
    real = sqlite_backend._read_matrix
    sqlite_backend._read_matrix = lambda *a: reads.append(1) or real(*a)
    engine = open_engine(sys.argv[1])
    saved_arrays.use_cache_dir(engine, sys.argv[2])
    with engine.connect() as conn:
        m = sqlite_backend.vector_matrix(conn, sys.argv[3])
    maps = open("/proc/self/maps").read().splitlines()
    mapped = [line.split()[1] for line in maps if "/vectors/" in line and "matrix.npy" in line]
    print(json.dumps({"reads": len(reads), "rows": len(m.ids), "mapped": mapped,
                      "first": [float(x) for x in m.matrix[0][:4]]}))
""")


def test_sqlite_vectors_saved_once_mapped_by_others_and_rebuilt(engine, db_url, db_kind,
                                                                 cache):
    if db_kind != "sqlite":
        pytest.skip("PostgreSQL searches vectors in the database (HNSW): nothing to map")
    from paperfeed.index import sqlite_backend
    from paperfeed.index.vectors import store_vectors

    embedder = load_search_corpus(engine, embed=True)
    sqlite_backend.forget_matrices()

    def run_child() -> dict:
        out = subprocess.run([sys.executable, "-c", VECTOR_CHILD, db_url, str(cache),
                              embedder.model_id], capture_output=True, text=True, check=True,
                             timeout=120)
        return json.loads(out.stdout.strip().splitlines()[-1])

    try:
        with engine.connect() as conn:
            mine = sqlite_backend.vector_matrix(conn, embedder.model_id)
        assert not mine.matrix.flags.writeable  # mapped from the set it saved
        sets = list((cache / "vectors").glob("*-*-*-*"))
        assert len(sets) == 1
        other = run_child()
        assert other["reads"] == 0 and other["rows"] == len(mine.ids)
        assert other["mapped"] and all(p.startswith("r--s") for p in other["mapped"])
        assert other["first"] == pytest.approx([float(x) for x in mine.matrix[0][:4]])
        # a new vector moves the generation: a new set, which the next process maps
        with write_transaction(engine) as conn:
            store_vectors(conn, [(int(mine.ids[0]), "changed")],
                          np.eye(1, embedder.dim, dtype=np.float32), embedder.model_id)
        first = run_child()
        assert first["reads"] == 1 and first["first"][:2] == [1.0, 0.0]
        assert run_child()["reads"] == 0
        assert len(list((cache / "vectors").glob("*-*-*-*"))) == 2
        # a torn set is never trusted: read from the database again
        newest = saved_sets(cache / "vectors", sets[0].name.split("-")[0])[0]
        matrix = newest / "matrix.npy"
        matrix.write_bytes(matrix.read_bytes()[:100])
        again = run_child()
        assert again["reads"] == 1 and again["first"][:2] == [1.0, 0.0]
    finally:
        sqlite_backend.forget_matrices()
