"""The "mail" corpus (see tests/factories.py), subscribers and settings for the mail,
digest and recommendation tests."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Engine

from paperfeed.config import Settings
from paperfeed.store.database import write_transaction
from paperfeed.store.papers import upsert_papers
from paperfeed.store.subscriptions import Preferences, upsert_subscription

from .factories import make_paper

DAY1 = dt.date(2026, 8, 13)  # a Thursday listing
DAY2 = dt.date(2026, 8, 14)  # the Friday listing
AUTHORS = ("Ada Lovelace", "Alan Turing")
SCRIPT_TITLE = "Attention <script>alert('x')</script> & long context transformers"

_DAY1 = [
    ("2608.00001", "Efficient attention for long context language models",
     "We make attention over long context windows efficient with sparse kernels.", ["cs.CL"]),
    ("2608.00002", "Protein structure prediction with diffusion",
     "A diffusion model predicts protein structure from sequence.", ["q-bio.BM", "cs.LG"]),
    ("2608.00003", "Speech recognition for low resource languages",
     "Speech recognition models transfer to low resource languages.", ["cs.CL", "eess.AS"]),
    ("2608.00004", "A survey of benchmark contamination",
     "We survey benchmark contamination in language model evaluation.", ["cs.CL"]),
    ("2608.00005", "Image segmentation with vision transformers",
     "Vision transformers segment images with fewer labels.", ["cs.CV"]),
    ("2608.00006", SCRIPT_TITLE,
     "Long context attention <b>bold</b> & friends; attention transformers.", ["cs.CL"]),
    ("2608.00007", "Robot grasping from demonstrations",
     "Robots learn grasping from a few demonstrations.", ["cs.RO"]),
    ("2608.00008", "Graph neural networks for molecules",
     "Graph neural networks predict molecule properties.", ["cs.LG"]),
]
_DAY2 = [
    ("2608.00101", "Linear attention for very long context",
     "Linear attention scales to very long context windows.", ["cs.CL"]),
    ("2608.00102", "Protein language models for structure",
     "Protein language models learn structure from sequences.", ["q-bio.BM"]),
    ("2608.00103", "Text to image diffusion evaluation",
     "We evaluate text to image diffusion models.", ["cs.CV"]),
]


def add_corpus(engine: Engine, *, day2: bool = True) -> None:
    """Eight papers on DAY1 (one with <script> in its title), three on DAY2."""
    batch = [make_paper(*row, DAY1, ("Grace Hopper",) if row[0] == "2608.00007" else
                        AUTHORS) for row in _DAY1]
    if day2:
        batch += [make_paper(*row, DAY2, AUTHORS) for row in _DAY2]
    with write_transaction(engine) as conn:
        upsert_papers(conn, batch)


def add_subscriber(engine: Engine, email: str, *interests: str, **prefs: object) -> int:
    preferences = Preferences(interests=list(interests), **prefs)  # type: ignore[arg-type]
    with write_transaction(engine) as conn:
        sub, _ = upsert_subscription(conn, email, preferences, confirmed=True, source="cli")
    return sub.id


def mail_settings(settings: Settings, smtp_url: str = "memory://", **overrides: object) -> Settings:
    values = settings.model_dump() | {
        "smtp_url": smtp_url, "embedding_backend": "hashing", "smtp_retry_base_seconds": 0.01,
        "mail_from": "paperfeed <digest@paperfeed.test>", "base_url": "https://papers.example",
    } | overrides
    return type(settings)(**values)
