"""Abstractive TL;DRs from an OpenAI-compatible endpoint: one step of `paperfeed index`.

Off unless ``llm_url`` is set (Ollama, llama.cpp server, vLLM, ... at e.g.
``http://127.0.0.1:11434/v1``). For each paper without a current row in
``paper_llm_summaries`` (newest first, at most ``llm_max_papers`` a run) it sends
``POST {llm_url}/chat/completions`` with the title and abstract and stores the cleaned
answer: one sentence, plain text, at most ``MAX_CHARS``. The row is the cache: a paper is
asked again only when the model, ``PROMPT_VERSION`` or its title/abstract change.

Papers with an upstream Hugging Face ``ai_summary`` are never sent (that one wins anyway).
Timeouts, transport errors, 429 and 5xx are retried with exponential backoff; an answer
that is malformed or empty after cleaning is reported and skipped (the extractive TL;DR
stays shown); after ``GIVE_UP_AFTER`` failures in a row the run stops asking. Pages never
call the endpoint: they read what this step stored (index/summaries.py, get_summaries).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import re
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from typing import Any

import httpx
from sqlalchemy import Connection, Engine, select

from paperfeed.config import Settings
from paperfeed.index.schema import paper_llm_summaries
from paperfeed.index.summaries import UPSTREAM
from paperfeed.index.tldr import split_sentences
from paperfeed.store.database import dialect, write_transaction
from paperfeed.store.schema import paper_signals, papers

log = logging.getLogger(__name__)

PROMPT_VERSION = "tldr-v1"
MAX_CHARS = 300
GIVE_UP_AFTER = 5  # failures in a row: the endpoint is down or misconfigured
SYSTEM_PROMPT = (
    "You summarise research papers for a paper feed. Answer with exactly one plain-text "
    "sentence of at most 35 words saying what the paper contributes. No markdown, no "
    "preamble, no quotes."
)


@dataclass(frozen=True, slots=True)
class LlmEndpoint:
    """Where and how to ask: base URL (ending in /v1 or the like), model, optional key."""

    url: str
    model: str
    api_key: str = ""
    timeout_seconds: float = 60.0
    concurrency: int = 2
    retries: int = 2
    backoff_seconds: float = 1.0

    @classmethod
    def from_settings(cls, settings: Settings) -> LlmEndpoint | None:
        """The configured endpoint, or None when ``llm_url`` is empty (the default)."""
        if not settings.llm_url:
            return None
        return cls(url=settings.llm_url, model=settings.llm_model.strip(),
                   api_key=settings.llm_api_key.get_secret_value(),
                   timeout_seconds=settings.llm_timeout_seconds,
                   concurrency=settings.llm_concurrency)

    def __repr__(self) -> str:  # never the key
        return f"LlmEndpoint(url={self.url!r}, model={self.model!r})"


class LlmFailure(Exception):
    """One paper's TL;DR could not be had; the message says why (never the key)."""


@dataclass(slots=True)
class LlmRun:
    """What one ``index_llm_summaries`` run did."""

    model: str
    stored: int = 0  # answers stored in this run
    up_to_date: int = 0  # papers whose stored answer is current (no request)
    waiting: int = 0  # stale papers left for the next run (over the per-run bound)
    failures: list[str] = field(default_factory=list)  # "arxiv_id: reason"
    stopped: bool = False  # gave up after GIVE_UP_AFTER failures in a row


@dataclass(frozen=True, slots=True)
class _Todo:
    paper_id: int
    arxiv_id: str
    title: str
    abstract: str
    digest: str


def llm_text_hash(title: str, abstract: str) -> str:
    """The cache key part that moves when what the model reads changes."""
    raw = json.dumps([" ".join(title.split()), " ".join(abstract.split())], ensure_ascii=False)
    return hashlib.blake2b(raw.encode(), digest_size=16).hexdigest()


_THINK = re.compile(r"<think>.*?(?:</think>|$)", re.DOTALL | re.IGNORECASE)
_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_LINE_MARK = re.compile(r"^\s*(?:[#>]+|[-*+•]|\d+[.)])\s+", re.MULTILINE)
_EMPHASIS = re.compile(r"\*\*|__|~~|`+|(?<![\w*])\*(?=\S)|(?<=\S)\*(?![\w*])")
_PREFIX = re.compile(r"^(?:tl;?\s?dr|summary|one[- ]sentence summary)\s*[:\-–—]\s*",
                     re.IGNORECASE)
_QUOTES = "\"'“”‘’"
_CLOSING_QUOTE = re.compile(r"([.!?])[\"'”’]+(?=\s|$)")  # so the sentence ends there


def clean_answer(text: str) -> str:
    """The model's answer as one plain sentence: no reasoning block, markdown, "TL;DR:"
    prefix or quotes; the first sentence only; at most ``MAX_CHARS`` (cut at a word)."""
    text = _THINK.sub(" ", text)
    text = _LINK.sub(r"\1", text)
    text = _LINE_MARK.sub("", text)
    text = _EMPHASIS.sub("", text)
    text = " ".join(text.split())
    text = _PREFIX.sub("", text).strip().strip(_QUOTES).strip()
    text = _CLOSING_QUOTE.sub(r"\1", text)
    sentences = split_sentences(text) if text else []
    text = sentences[0].strip().strip(_QUOTES).strip() if sentences else ""
    if len(text) > MAX_CHARS:
        text = text[:MAX_CHARS - 1].rsplit(" ", 1)[0].rstrip(" ,;:") + "…"
    return text


def _request_body(endpoint: LlmEndpoint, title: str, abstract: str) -> dict[str, Any]:
    user = (f"Title: {' '.join(title.split())}\n\nAbstract: {' '.join(abstract.split())}\n\n"
            "Write the one-sentence TL;DR.")
    return {"model": endpoint.model, "temperature": 0, "max_tokens": 160, "stream": False,
            "messages": [{"role": "system", "content": SYSTEM_PROMPT},
                         {"role": "user", "content": user}]}


def ask_tldr(client: httpx.Client, endpoint: LlmEndpoint, title: str, abstract: str) -> str:
    """One cleaned TL;DR from the endpoint, retrying timeouts, transport errors, 429 and
    5xx with exponential backoff. Raises LlmFailure (other 4xx, malformed or empty answer,
    retries spent)."""
    body = _request_body(endpoint, title, abstract)
    url = endpoint.url + "/chat/completions"
    problem = ""
    for attempt in range(endpoint.retries + 1):
        if attempt:
            time.sleep(endpoint.backoff_seconds * 2 ** (attempt - 1))
        try:
            response = client.post(url, json=body)
        except httpx.TimeoutException:
            problem = f"timed out after {endpoint.timeout_seconds:g} s"
            continue
        except httpx.TransportError as exc:
            problem = f"unreachable ({type(exc).__name__})"
            continue
        if response.status_code == 429 or response.status_code >= 500:
            problem = f"HTTP {response.status_code}"
            continue
        if response.status_code >= 400:
            raise LlmFailure(f"HTTP {response.status_code}: {response.text[:200]!r}")
        return _answer_of(response)
    raise LlmFailure(f"{problem} ({endpoint.retries + 1} attempts)")


def _answer_of(response: httpx.Response) -> str:
    try:
        content = response.json()["choices"][0]["message"]["content"]
    except (ValueError, KeyError, IndexError, TypeError):
        raise LlmFailure(f"malformed answer: {response.text[:200]!r}") from None
    if not isinstance(content, str):
        raise LlmFailure(f"malformed answer: {response.text[:200]!r}")
    cleaned = clean_answer(content)
    if not cleaned:
        raise LlmFailure(f"empty answer: {content[:200]!r}")
    return cleaned


def stale_llm_summaries(conn: Connection, model: str) -> tuple[list[_Todo], int]:
    """Visible papers (newest first) without an upstream ai_summary whose stored LLM
    TL;DR is missing or from another model, prompt version or title/abstract; and the
    number of current ones."""
    upstream = set(conn.execute(
        select(paper_signals.c.paper_id).where(
            paper_signals.c.source == UPSTREAM, paper_signals.c.kind == "ai_summary",
            paper_signals.c.value != "")).scalars())
    rows = conn.execute(
        select(papers.c.id, papers.c.arxiv_id, papers.c.title, papers.c.abstract,
               paper_llm_summaries.c.model, paper_llm_summaries.c.prompt_version,
               paper_llm_summaries.c.text_hash)
        .outerjoin(paper_llm_summaries, paper_llm_summaries.c.paper_id == papers.c.id)
        .where(papers.c.hidden.is_(False))
        .order_by(papers.c.id.desc())
    )
    todo: list[_Todo] = []
    current = 0
    for pid, arxiv_id, title, abstract, old_model, old_prompt, old_hash in rows:
        if int(pid) in upstream:
            continue
        digest = llm_text_hash(title or "", abstract or "")
        if (old_model, old_prompt, old_hash) == (model, PROMPT_VERSION, digest):
            current += 1
        else:
            todo.append(_Todo(int(pid), arxiv_id, title or "", abstract or "", digest))
    return todo, current


def index_llm_summaries(engine: Engine, endpoint: LlmEndpoint, *, limit: int,
                        progress: Callable[..., None] | None = None) -> LlmRun:
    """Ask the endpoint for the TL;DR of at most ``limit`` stale papers (see module
    docstring), ``endpoint.concurrency`` at a time, outside any transaction.

    Side effects: one paper_llm_summaries row inserted or replaced (and committed) per
    answer; each failure logged as a warning and listed in the returned run.
    """
    with engine.connect() as conn:
        todo, current = stale_llm_summaries(conn, endpoint.model)
    run = LlmRun(model=endpoint.model, up_to_date=current, waiting=max(len(todo) - limit, 0))
    todo = todo[:limit]
    if not todo:
        return run
    give_up = threading.Event()
    lock = threading.Lock()
    in_a_row = [0]  # failures in a row, counted where they happen so no request follows

    def one(client: httpx.Client, item: _Todo) -> str | None:
        if give_up.is_set():
            return None
        try:
            tldr = ask_tldr(client, endpoint, item.title, item.abstract)
        except LlmFailure:
            with lock:
                in_a_row[0] += 1
                if in_a_row[0] >= GIVE_UP_AFTER:
                    give_up.set()
            raise
        with lock:
            in_a_row[0] = 0
        return tldr

    headers = {"Authorization": f"Bearer {endpoint.api_key}"} if endpoint.api_key else {}
    with httpx.Client(timeout=endpoint.timeout_seconds, headers=headers) as client, \
            ThreadPoolExecutor(max_workers=endpoint.concurrency) as pool:
        futures = {pool.submit(one, client, item): item for item in todo}
        for done, future in enumerate(as_completed(futures), 1):
            item = futures[future]
            if progress:
                progress(done, len(todo))
            try:
                tldr = future.result()
            except LlmFailure as exc:
                run.failures.append(f"{item.arxiv_id}: {exc}")
                log.warning("LLM TL;DR of %s skipped: %s", item.arxiv_id, exc)
                continue
            if tldr is None:
                run.waiting += 1
                continue
            with write_transaction(engine) as conn:
                store_llm_summary(conn, item.paper_id, endpoint.model, item.digest, tldr)
            run.stored += 1
    if give_up.is_set():
        log.warning("LLM TL;DRs: %d failures in a row, stopped this run", GIVE_UP_AFTER)
    run.stopped = give_up.is_set()
    return run


def store_llm_summary(conn: Connection, paper_id: int, model: str, digest: str,
                      tldr: str) -> None:
    """Insert or replace a paper's LLM TL;DR (made with ``PROMPT_VERSION``)."""
    insert = dialect(conn).insert(paper_llm_summaries)
    conn.execute(insert.on_conflict_do_update(
        index_elements=[paper_llm_summaries.c.paper_id],
        set_={c: insert.excluded[c] for c in ("model", "prompt_version", "text_hash", "tldr",
                                              "computed_at")},
    ), {"paper_id": paper_id, "model": model, "prompt_version": PROMPT_VERSION,
        "text_hash": digest, "tldr": tldr, "computed_at": dt.datetime.now(dt.UTC)})
