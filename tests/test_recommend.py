"""Personalised ranking: several interest vectors at once (not an average), negatives,
trending blend, filters, never a paper twice, one-line reasons; recommend_for_user for the
"For you" page from interests, upvotes and saved papers."""

from __future__ import annotations

import numpy as np
from sqlalchemy import select

from paperfeed.index.embedder import HashingEmbedder
from paperfeed.rank.profiles import recommend_for_user
from paperfeed.rank.recommend import Candidates, Profile, Weights, rank_profiles
from paperfeed.store.collections import add_to_collection, create_collection
from paperfeed.store.database import write_transaction
from paperfeed.store.schema import papers
from paperfeed.store.subscriptions import mark_not_interested
from paperfeed.store.users import create_user
from paperfeed.store.votes import toggle_vote

from .mail_corpus import DAY1, add_corpus

E = HashingEmbedder()
TOPICS = ["protein folding structure", "speech recognition audio", "graph neural networks",
          "image segmentation vision", "robot grasping control", "long context attention"]


def candidates(upvotes: list[int] | None = None, cats: list[str] | None = None) -> Candidates:
    n = len(TOPICS)
    return Candidates(
        ids=np.arange(1, n + 1, dtype=np.int64),
        matrix=E.embed(TOPICS),
        trending=np.array(upvotes or [0] * n, dtype=np.float32) / max(1, max(upvotes or [1])),
        upvotes=np.array(upvotes or [0] * n),
        categories=[(c,) for c in (cats or ["cs.LG"] * n)],
        authors=[("ada lovelace",)] * (n - 1) + [("grace hopper",)],
        texts=[t.lower() for t in TOPICS],
    )


def profile(*interests: str, **kw) -> Profile:
    vectors = E.embed(list(interests)) if interests else np.zeros((0, E.dim), np.float32)
    return Profile(key="sub:1", vectors=vectors, labels=[f"interest {t}" for t in interests],
                   negatives=kw.pop("negatives", np.zeros((0, E.dim), np.float32)),
                   content=kw.pop("content", "personal"), limit=kw.pop("limit", 2), **kw)


def ids(recs):
    return [r.paper_id for r in recs]


def test_each_interest_counts_on_its_own_not_an_average():
    (recs,) = rank_profiles([profile("protein folding structure", "speech recognition audio")],
                            candidates())
    assert sorted(ids(recs)) == [1, 2]
    assert {r.reason for r in recs} == {"interest protein folding structure",
                                        "interest speech recognition audio"}
    # An averaged vector would sit between the two topics and match neither well.
    avg = E.embed(["protein folding structure", "speech recognition audio"]).mean(axis=0)
    assert float(np.max(candidates().matrix @ (avg / np.linalg.norm(avg)))) < 0.9


def test_not_interested_papers_push_similar_ones_down():
    negatives = E.embed(["protein folding structure"])
    (plain,) = rank_profiles([profile("protein structure speech", limit=1)], candidates())
    (neg,) = rank_profiles([profile("protein structure speech", limit=1, negatives=negatives)],
                           candidates())
    assert ids(plain) == [1] and ids(neg) == [2]


def test_trending_blend_filters_and_exclusions():
    cands = candidates(upvotes=[0, 0, 0, 50, 0, 0],
                       cats=["q-bio", "eess", "cs.LG", "cs.CV", "cs.RO", "cs.CL"])
    (both,) = rank_profiles([profile("protein folding structure", content="both", limit=3)], cands)
    assert both[0].section == "trending" and both[0].paper_id == 4
    assert both[0].reason == "trending: 50 upvotes" and 1 in ids(both)
    (trending_only,) = rank_profiles([profile(content="trending", limit=2,
                                              exclude_categories=["cs.CV"])], cands)
    assert 4 not in ids(trending_only) and len(trending_only) == 2
    (muted,) = rank_profiles([profile("protein folding structure",
                                      muted_keywords=["Folding"])], cands)
    assert 1 not in ids(muted)
    (seen,) = rank_profiles([profile("protein folding structure", exclude_ids={1})], cands)
    assert 1 not in ids(seen)


def test_followed_author_is_boosted_with_its_reason():
    (recs,) = rank_profiles([profile("protein folding structure", authors=["Grace Hopper"])],
                            candidates())
    assert 6 in ids(recs)
    assert next(r for r in recs if r.paper_id == 6).reason == (
        "by an author you follow: Grace Hopper")


def test_followed_category_makes_papers_eligible_with_its_reason():
    cands = candidates(cats=["q-bio", "eess", "cs.LG", "cs.CV", "cs.RO", "cs.CL"])
    (without,) = rank_profiles([profile(content="personal")], cands)
    assert without == []
    (recs,) = rank_profiles([profile(content="personal", categories=["cs.RO"])], cands)
    assert [(r.paper_id, r.reason) for r in recs] == [(5, "new in cs.RO, a category you follow")]


def test_saved_search_filters_limit_what_its_vector_matches():
    cands = candidates(cats=["q-bio", "eess", "cs.LG", "cs.CV", "cs.RO", "cs.CL"])
    open_search = profile("protein folding structure graph", content="personal")
    (anywhere,) = rank_profiles([open_search], cands)
    assert 1 in ids(anywhere)
    scoped = profile("protein folding structure graph", content="personal")
    scoped.scopes = [{"category": "cs.LG"}]
    (recs,) = rank_profiles([scoped], cands)
    assert 1 not in ids(recs) and 3 in ids(recs)


def test_many_profiles_in_chunks_match_one_at_a_time():
    profiles = [profile(TOPICS[i % 6], TOPICS[(i + 2) % 6], content="both", limit=3)
                for i in range(50)]
    together = rank_profiles(profiles, candidates(upvotes=[1, 2, 3, 4, 5, 6]), chunk=7)
    alone = [rank_profiles([p], candidates(upvotes=[1, 2, 3, 4, 5, 6]))[0] for p in profiles]
    assert [ids(r) for r in together] == [ids(r) for r in alone]


def test_min_similarity_leaves_unrelated_papers_out():
    (recs,) = rank_profiles([profile("quantum chromodynamics lattice")],
                            candidates(), Weights(min_similarity=0.5))
    assert recs == []


def _paper_id(engine, arxiv_id: str) -> int:
    with engine.connect() as conn:
        return conn.execute(select(papers.c.id).where(papers.c.arxiv_id == arxiv_id)).scalar_one()


def test_recommend_for_user_uses_upvotes_saves_and_negatives(engine):
    add_corpus(engine)
    with write_transaction(engine) as conn:
        user = create_user(conn, username="ada", email="ada@example.org",
                           password="correct horse battery staple", verified=True)
        toggle_vote(conn, user.id, _paper_id(engine, "2608.00001"))  # long context attention
        coll = create_collection(conn, user.id, "Reading")
        add_to_collection(conn, coll, user.id, _paper_id(engine, "2608.00002"))  # protein
        mark_not_interested(conn, f"user:{user.id}", _paper_id(engine, "2608.00103"))
    with engine.connect() as conn:
        items = recommend_for_user(conn, user.id, E, days=7, limit=5)
    got = {item.card.arxiv_id: item.reason for item in items}
    assert "2608.00001" not in got and "2608.00002" not in got  # already upvoted / saved
    assert "2608.00103" not in got  # not interested
    assert got["2608.00101"].startswith("similar to ‘Efficient attention for long context")
    assert got["2608.00101"].endswith("which you upvoted")
    assert got["2608.00102"].endswith("which you saved")


def test_recommend_for_user_without_signals_falls_back_to_trending(engine):
    add_corpus(engine)
    with write_transaction(engine) as conn:
        user = create_user(conn, username="newbie", email="new@example.org",
                           password="correct horse battery staple")
    with engine.connect() as conn:
        items = recommend_for_user(conn, user.id, E, as_of=DAY1, days=1, limit=3)
    assert len(items) == 3 and {i.section for i in items} == {"trending"}


def test_candidates_count_hugging_face_upvotes_in_trending(engine):
    from paperfeed.rank.recommend import MatrixSource, load_candidates
    from paperfeed.store.schema import paper_signals

    add_corpus(engine, day2=False)
    pid = _paper_id(engine, "2608.00003")
    with write_transaction(engine) as conn:
        conn.execute(paper_signals.insert().values(paper_id=pid, source="hf", kind="upvotes",
                                                   value="40", observed_on=DAY1))
    with engine.connect() as conn:
        cands = load_candidates(conn, DAY1, DAY1, MatrixSource(E))
    (recs,) = rank_profiles([profile(content="trending", limit=1)], cands)
    assert recs[0].paper_id == pid and recs[0].reason == "trending: 40 upvotes"
