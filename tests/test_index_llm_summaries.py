"""Abstractive TL;DRs from an OpenAI-compatible endpoint: asked during `paperfeed index`
only when llm_url is set, cached per (paper, model, prompt version, text), retried,
failures skipped and reported, the key kept secret; shown with their label, under an
upstream Hugging Face summary. The endpoint is a fake server on 127.0.0.1."""

from __future__ import annotations

import datetime as dt
import json
import logging

import feedparser
import pytest
from click.testing import CliRunner
from sqlalchemy import select

from paperfeed.cli import main
from paperfeed.config import load_settings
from paperfeed.index.llm_summaries import (
    GIVE_UP_AFTER,
    PROMPT_VERSION,
    LlmEndpoint,
    clean_answer,
    index_llm_summaries,
    store_llm_summary,
)
from paperfeed.index.schema import paper_llm_summaries
from paperfeed.index.summaries import METHOD, get_summaries, store_summaries
from paperfeed.models import Paper, Signal
from paperfeed.store.database import write_transaction
from paperfeed.store.papers import upsert_papers
from paperfeed.store.schema import papers

from .factories import TRICKY_ID
from .replay import ReplayServer, Reply

PATH = "/v1/chat/completions"
KEY = "sk-very-secret-4711"
TITLES = ("Alpha graphs", "Beta retrieval", "Gamma diffusion")


def answer(text: str) -> Reply:
    body = {"id": "x", "object": "chat.completion", "model": "m",
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": text}}]}
    return Reply(body=json.dumps(body).encode(), content_type="application/json")


def endpoint(server: ReplayServer, model: str = "tiny-model", **kw: object) -> LlmEndpoint:
    options: dict = {"api_key": KEY, "timeout_seconds": 2.0, "backoff_seconds": 0.01}
    options.update(kw)
    return LlmEndpoint(url=server.url + "/v1", model=model, **options)


def add_papers(engine, titles=TITLES, start=1, **extra) -> dict[str, int]:
    with write_transaction(engine) as conn:
        upsert_papers(conn, [
            Paper(arxiv_id=f"2501.{i:05d}", title=title,
                  abstract=f"We study {title.lower()}. It works.", source="test", **extra)
            for i, title in enumerate(titles, start)])
        return {t: i for t, i in conn.execute(select(papers.c.title, papers.c.id))}


def route_answers(server: ReplayServer, titles=TITLES) -> None:
    for title in titles:
        server.add(PATH, answer(f"**TL;DR:** {title} made simple. Second sentence."),
                   query_contains=title)


def requests_for(server: ReplayServer, title: str) -> list[dict]:
    return [json.loads(r.query) for r in server.log if title in r.query]


def test_answers_are_stored_cleaned_and_labelled_by_model(engine, replay):
    ids = add_papers(engine)
    route_answers(replay)
    run = index_llm_summaries(engine, endpoint(replay), limit=10)
    assert (run.stored, run.failures, run.up_to_date) == (3, [], 0)
    body = requests_for(replay, "Alpha graphs")[0]
    assert body["model"] == "tiny-model" and body["messages"][0]["role"] == "system"
    assert "Abstract: We study alpha graphs. It works." in body["messages"][1]["content"]
    with engine.connect() as conn:
        shown = get_summaries(conn, list(ids.values()))
        row = conn.execute(select(paper_llm_summaries)
                           .where(paper_llm_summaries.c.paper_id == ids["Alpha graphs"])).one()
    assert shown[ids["Alpha graphs"]].tldr == "Alpha graphs made simple."
    assert shown[ids["Alpha graphs"]].tldr_source == "llm:tiny-model"
    assert (row.model, row.prompt_version) == ("tiny-model", PROMPT_VERSION)


def test_a_second_run_asks_nothing_and_a_model_or_text_change_asks_again(engine, replay):
    ids = add_papers(engine)
    route_answers(replay)
    index_llm_summaries(engine, endpoint(replay), limit=10)
    assert len(replay.log) == 3
    again = index_llm_summaries(engine, endpoint(replay), limit=10)
    assert (again.stored, again.up_to_date, len(replay.log)) == (0, 3, 3)

    other = index_llm_summaries(engine, endpoint(replay, model="bigger-model"), limit=10)
    assert other.stored == 3 and len(replay.log) == 6
    assert {json.loads(r.query)["model"] for r in replay.log[3:]} == {"bigger-model"}
    with engine.connect() as conn:
        assert get_summaries(conn, [ids["Beta retrieval"]])[ids["Beta retrieval"]] \
            .tldr_source == "llm:bigger-model"

    with write_transaction(engine) as conn:  # a new abstract: only that paper is asked
        conn.execute(papers.update().where(papers.c.id == ids["Gamma diffusion"])
                     .values(abstract="We revise gamma diffusion."))
    changed = index_llm_summaries(engine, endpoint(replay, model="bigger-model"), limit=10)
    assert (changed.stored, changed.up_to_date) == (1, 2)
    assert "We revise gamma diffusion." in replay.log[-1].query and len(replay.log) == 7


def test_the_per_run_bound_leaves_the_rest_for_the_next_run(engine, replay):
    add_papers(engine)
    route_answers(replay)
    first = index_llm_summaries(engine, endpoint(replay), limit=2)
    assert (first.stored, first.waiting, len(replay.log)) == (2, 1, 2)
    assert "Gamma diffusion" in replay.log[0].query + replay.log[1].query  # newest first
    second = index_llm_summaries(engine, endpoint(replay), limit=2)
    assert (second.stored, second.up_to_date, second.waiting) == (1, 2, 0)


def test_a_server_error_is_retried(engine, replay):
    add_papers(engine, titles=("Alpha graphs",))
    replay.add(PATH, Reply(status=500, body=b"overloaded", content_type="text/plain"),
               answer("Alpha graphs, at last."))
    run = index_llm_summaries(engine, endpoint(replay), limit=10)
    assert (run.stored, run.failures) == (1, [])
    assert [r.path for r in replay.log] == [PATH, PATH]


def test_timeouts_and_malformed_or_empty_answers_are_skipped_and_reported(
        engine, replay, caplog):
    ids = add_papers(engine, titles=("Slow one", "Broken one", "Empty one", "Good one"))
    replay.add(PATH, Reply(body=b"{}", content_type="application/json", delay=3.0),
               query_contains="Slow one")
    replay.add(PATH, Reply(body=b'{"choices": []}', content_type="application/json"),
               query_contains="Broken one")
    replay.add(PATH, answer("  ** `` **  "), query_contains="Empty one")
    replay.add(PATH, answer("The good one lands."), query_contains="Good one")
    with write_transaction(engine) as conn:  # the extractive TL;DR the failures keep
        store_summaries(conn, [{
            "paper_id": ids["Slow one"], "method": METHOD, "text_hash": "x" * 32,
            "tldr": "We study slow one.", "tldr_source": METHOD, "keywords": "[]",
            "keywords_source": METHOD, "computed_at": dt.datetime.now(dt.UTC)}])
    with caplog.at_level(logging.WARNING, logger="paperfeed.index.llm_summaries"):
        run = index_llm_summaries(engine, endpoint(replay, timeout_seconds=1.0, retries=1),
                                  limit=10)
    assert run.stored == 1 and not run.stopped
    reasons = dict(f.split(": ", 1) for f in run.failures)
    assert reasons["2501.00001"].startswith("timed out after 1 s (2 attempts)")
    assert reasons["2501.00002"].startswith("malformed answer")
    assert reasons["2501.00003"].startswith("empty answer")
    assert len(requests_for(replay, "Slow one")) == 2  # retried once
    assert len(requests_for(replay, "Broken one")) == 1  # a bad answer is not retried
    assert "LLM TL;DR of 2501.00002 skipped: malformed answer" in caplog.text
    with engine.connect() as conn:
        shown = get_summaries(conn, list(ids.values()))
    assert shown[ids["Good one"]].tldr == "The good one lands."
    assert (shown[ids["Slow one"]].tldr, shown[ids["Slow one"]].tldr_source) == (
        "We study slow one.", METHOD)
    assert ids["Broken one"] not in shown


def test_failures_in_a_row_stop_the_run(engine, replay):
    titles = tuple(f"Paper {c}" for c in "ABCDEFGHI")
    add_papers(engine, titles=titles)
    replay.add(PATH, Reply(status=404, body=b'{"error": "model not found"}'))
    run = index_llm_summaries(engine, endpoint(replay, concurrency=1), limit=20)
    assert run.stopped and len(run.failures) == GIVE_UP_AFTER
    assert len(replay.log) == GIVE_UP_AFTER and run.waiting == len(titles) - GIVE_UP_AFTER
    assert "HTTP 404" in run.failures[0]


def test_the_key_is_sent_as_bearer_and_never_logged(engine, replay, caplog):
    add_papers(engine, titles=("Alpha graphs", "Beta retrieval"))
    replay.add(PATH, Reply(status=503, body=b"no"), answer("Alpha graphs."),
               query_contains="Alpha graphs")
    replay.add(PATH, Reply(status=401, body=b'{"error": "bad key"}'))
    with caplog.at_level(logging.DEBUG):
        run = index_llm_summaries(engine, endpoint(replay), limit=10)
    assert run.stored == 1 and len(run.failures) == 1
    assert {r.headers.get("Authorization") for r in replay.log} == {f"Bearer {KEY}"}
    assert KEY not in caplog.text and KEY not in " ".join(run.failures)
    assert KEY not in repr(endpoint(replay))
    settings = load_settings(llm_url=replay.url + "/v1", llm_model="m", llm_api_key=KEY)
    assert KEY not in repr(settings) and KEY not in str(settings.model_dump())


def test_without_a_key_no_authorization_header_is_sent(engine, replay):
    add_papers(engine, titles=("Alpha graphs",))
    route_answers(replay, ("Alpha graphs",))
    index_llm_summaries(engine, endpoint(replay, api_key=""), limit=10)
    assert "Authorization" not in replay.log[0].headers


def test_an_upstream_summary_wins_and_its_paper_is_never_sent(engine, replay):
    ids = add_papers(engine, titles=("Alpha graphs",),
                     signals=[Signal("hf", "ai_summary", "Hugging Face says alpha.")])
    ids |= add_papers(engine, titles=("Beta retrieval",), start=2)
    route_answers(replay)
    run = index_llm_summaries(engine, endpoint(replay), limit=10)
    assert run.stored == 1 and requests_for(replay, "Alpha graphs") == []
    with write_transaction(engine) as conn:  # even a stored LLM one does not override it
        store_llm_summary(conn, ids["Alpha graphs"], "tiny-model", "x" * 32, "LLM says alpha.")
        store_summaries(conn, [{
            "paper_id": ids["Alpha graphs"], "method": METHOD, "text_hash": "x" * 32,
            "tldr": "Hugging Face says alpha.", "tldr_source": "hf", "keywords": "[]",
            "keywords_source": METHOD, "computed_at": dt.datetime.now(dt.UTC)}])
    with engine.connect() as conn:
        shown = get_summaries(conn, list(ids.values()))
    assert (shown[ids["Alpha graphs"]].tldr, shown[ids["Alpha graphs"]].tldr_source) == (
        "Hugging Face says alpha.", "hf")
    assert shown[ids["Beta retrieval"]].tldr_source == "llm:tiny-model"


def test_index_asks_nothing_by_default_and_asks_when_llm_url_is_set(
        settings, engine, replay, monkeypatch):
    add_papers(engine, titles=(*TITLES, "Delta broken"))
    replay.add(PATH, Reply(body=b'{"choices": [{"message": {}}]}'), query_contains="Delta")
    route_answers(replay)
    monkeypatch.delenv("PAPERFEED_LLM_URL", raising=False)
    args = ["index", "--db", settings.database_url, "--backend", "hashing"]
    off = CliRunner().invoke(main, args, catch_exceptions=False)
    assert off.exit_code == 0 and "llm summaries" not in off.output
    assert load_settings().llm_url == ""
    with engine.connect() as conn:
        assert conn.execute(select(paper_llm_summaries)).all() == []

    monkeypatch.setenv("PAPERFEED_LLM_URL", replay.url + "/v1/")
    monkeypatch.setenv("PAPERFEED_LLM_MODEL", "tiny-model")
    monkeypatch.setenv("PAPERFEED_LLM_API_KEY", KEY)
    on = CliRunner().invoke(main, args, catch_exceptions=False)
    assert on.exit_code == 0, on.output
    assert "llm summaries: 3 stored, 0 up to date, 1 skipped" in on.stdout
    assert "llm: skipped 2501.00004: malformed answer" in on.stderr
    assert KEY not in on.output and len(replay.log) == 4
    again = CliRunner().invoke(main, args, catch_exceptions=False)  # only the failed one
    assert "llm summaries: 0 stored, 3 up to date, 1 skipped" in again.stdout
    assert len(replay.log) == 5 and "Delta broken" in replay.log[-1].query


def test_llm_url_needs_a_model_and_an_http_url():
    with pytest.raises(ValueError, match="LLM_MODEL"):
        load_settings(llm_url="http://127.0.0.1:11434/v1")
    with pytest.raises(ValueError, match="LLM_URL"):
        load_settings(llm_url="file:///etc/passwd", llm_model="m")


def test_answers_are_cleaned_to_one_plain_sentence():
    assert clean_answer("<think>hmm. ok</think>\n**TL;DR:** We propose *X*, a "
                        "[fast](http://x) method. It works.") == "We propose X, a fast method."
    assert clean_answer('"A model for e.g. graphs." Then more.') == "A model for e.g. graphs."
    assert clean_answer("- `Graph` nets: bullets  gone") == "Graph nets: bullets gone"
    assert clean_answer("Summary: plain.") == "plain."
    assert clean_answer(" ** ") == ""
    long = clean_answer("word " * 200)
    assert long.endswith("…") and len(long) <= 300


@pytest.mark.corpus("api")
def test_pages_api_atom_show_the_model_label_escaped(client, corpus, replay):
    with write_transaction(corpus) as conn:
        pid = conn.execute(select(papers.c.id).where(papers.c.arxiv_id == TRICKY_ID)).scalar_one()
        store_llm_summary(conn, pid, "evil<b>model", "x" * 32, "An <i>LLM</i> & its TL;DR.")
    detail = client.get(f"/api/papers/{TRICKY_ID}").json()
    assert detail["ai_summary"] == "An <i>LLM</i> & its TL;DR."
    assert detail["ai_summary_source"] == "llm:evil<b>model"
    assert replay.log == []  # pages read what is stored: nothing asks a model
    home = client.get("/").text
    assert 'title="Summarised by evil&lt;b&gt;model"' in home
    assert "An &lt;i&gt;LLM&lt;/i&gt; &amp; its TL;DR." in home
    page = client.get(f"/papers/{TRICKY_ID}").text
    assert "(Summarised by evil&lt;b&gt;model)" in page and "<i>LLM</i>" not in page
    parsed = feedparser.parse(client.get("/feeds/daily.atom").content)
    entry = next(e for e in parsed.entries if e.id.endswith("/papers/" + TRICKY_ID))
    assert "An &lt;i&gt;LLM&lt;/i&gt; &amp; its TL;DR. <em>(Summarised by evil&lt;b&gt;model)" \
        in entry.content[0].value


def test_digest_emails_show_the_model_label(engine, settings):
    from paperfeed.index.embedder import HashingEmbedder
    from paperfeed.mail.delivery import send_digests
    from paperfeed.mail.mailer import MemoryMailer

    from .mail_corpus import DAY1, add_corpus, add_subscriber, mail_settings

    add_corpus(engine, day2=False)
    add_subscriber(engine, "ada@example.org", "attention")
    with write_transaction(engine) as conn:
        for pid in conn.execute(select(papers.c.id)).scalars():
            store_llm_summary(conn, pid, "tiny-model", "x" * 32, f"Paper {pid} <in> short.")
    mailer = MemoryMailer()
    send_digests(engine, mail_settings(settings, smtp_concurrency=1), mailer, HashingEmbedder(),
                 day=DAY1)
    message = mailer.messages[0]
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert "<in> short. (Summarised by tiny-model)" in text
    assert "&lt;in&gt; short. <em>(Summarised by tiny-model)</em>" in html
