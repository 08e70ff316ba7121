"""``paperfeed ingest arxiv|arxiv-api|oai|hf``: fetch papers from upstream."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click
from sqlalchemy import Engine

from paperfeed.config import Settings
from paperfeed.models import ImportSummary

from .common import (
    DAY,
    common_options,
    engine_for,
    exit_for,
    print_summary,
    progress_bar,
    settings_from,
)


@click.group()
def ingest() -> None:
    """Fetch papers from upstream: arXiv listings and API, OAI-PMH, Hugging Face."""


def _upstream_client(settings: Settings, *, delay_seconds: float | None = None) -> Any:
    from paperfeed.ingest.upstream import Upstream

    return Upstream.from_settings(settings, delay_seconds=delay_seconds)


@ingest.command("arxiv")
@common_options
@click.option("--category", "categories", multiple=True, metavar="CAT",
              help="arXiv category, repeatable (default: the `categories` setting).")
@click.option("--base-url", default=None, help="RSS base URL (default: arxiv_rss_url).")
@click.option("--api-url", default=None, help="arXiv API URL (default: arxiv_api_url).")
@click.option("--no-details", is_flag=True, help="Keep listing fields only; skip the API.")
def ingest_arxiv(db_url: str | None, config_path: str | None, categories: tuple[str, ...],
                 base_url: str | None, api_url: str | None, no_details: bool) -> None:
    """Today's arXiv listings per category (RSS), completed from the arXiv API by id."""
    settings = settings_from(db_url, config_path)
    summary = read_arxiv_listings(settings, engine_for(settings), categories=categories,
                                  base_url=base_url, api_url=api_url, details=not no_details)
    print_summary(summary)
    exit_for(summary)


def read_arxiv_listings(settings: Settings, engine: Engine, *, categories: Sequence[str] = (),
                        base_url: str | None = None, api_url: str | None = None,
                        details: bool = True) -> ImportSummary:
    """`ingest arxiv` (and the worker's step of that name): the current listings."""
    from paperfeed.ingest.arxiv_rss import ingest_listings

    with _upstream_client(settings) as client, progress_bar("arXiv listings") as update:
        return ingest_listings(
            engine, client, rss_url=base_url or settings.arxiv_rss_url,
            api_url=api_url or settings.arxiv_api_url,
            categories=list(categories or settings.categories), details=details,
            progress=update,
        )


@ingest.command("arxiv-api")
@common_options
@click.option("--category", "categories", multiple=True, metavar="CAT",
              help="arXiv category, repeatable (default: the `categories` setting).")
@click.option("--from", "first_day", type=DAY, required=True, help="First submission day.")
@click.option("--until", "last_day", type=DAY, default=None, help="Last day (default: --from).")
@click.option("--api-url", "--base-url", "api_url", default=None,
              help="arXiv API URL (default: arxiv_api_url).")
@click.option("--page-size", default=100, show_default=True, help="Entries per API request.")
def ingest_arxiv_api(db_url: str | None, config_path: str | None, categories: tuple[str, ...],
                     first_day: Any, last_day: Any, api_url: str | None, page_size: int) -> None:
    """Backfill categories by submission date range from the arXiv API (resumable)."""
    from paperfeed.ingest.arxiv_api import backfill_category

    settings = settings_from(db_url, config_path)
    engine = engine_for(settings)
    total = ImportSummary()
    with _upstream_client(settings) as client:
        for category in categories or settings.categories:
            with progress_bar(f"arXiv API {category}") as update:
                total.add(backfill_category(
                    engine, client, api_url=api_url or settings.arxiv_api_url,
                    category=category, first_day=first_day.date(),
                    last_day=(last_day or first_day).date(), page_size=page_size,
                    progress=update,
                ))
    print_summary(total)
    exit_for(total)


@ingest.command("oai")
@common_options
@click.option("--set", "set_spec", default=None, help="OAI set, e.g. cs or physics:hep-th.")
@click.option("--from", "first_day", type=DAY, default=None, help="First datestamp day.")
@click.option("--until", "last_day", type=DAY, default=None, help="Last datestamp day.")
@click.option("--base-url", default=None, help="OAI-PMH endpoint (default: arxiv_oai_url).")
def ingest_oai(db_url: str | None, config_path: str | None, set_spec: str | None,
               first_day: Any, last_day: Any, base_url: str | None) -> None:
    """Harvest arXiv OAI-PMH ListRecords (arXiv format), resuming a stopped harvest."""
    from paperfeed.ingest.oai import harvest

    settings = settings_from(db_url, config_path)
    engine = engine_for(settings)
    with _upstream_client(settings) as client, progress_bar("OAI-PMH") as update:
        summary = harvest(
            engine, client, oai_url=base_url or settings.arxiv_oai_url, set_spec=set_spec,
            first_day=first_day.date() if first_day else None,
            last_day=last_day.date() if last_day else None, progress=update,
        )
    print_summary(summary)
    exit_for(summary)


@ingest.command("hf")
@common_options
@click.option("--date", "first_day", type=DAY, default=None,
              help="Day to read (default: today, UTC); with --until, the first day.")
@click.option("--until", "last_day", type=DAY, default=None, help="Last day of a range.")
@click.option("--base-url", default=None, help="Hugging Face base URL (default: hf_url).")
@click.option("--from-file", "from_file", type=click.Path(exists=True, path_type=Path),
              default=None, help="Import archived daily_papers responses instead: a JSON "
              "array or JSON Lines file (.gz too) or a folder of them; the day comes from "
              "each record or the file name (2025-03-18.json.gz). No network.")
def ingest_hf(db_url: str | None, config_path: str | None, first_day: Any, last_day: Any,
              base_url: str | None, from_file: Path | None) -> None:
    """Hugging Face daily papers with their upvotes, submitter and links, day by day."""
    from paperfeed.ingest.hf_files import import_daily_files

    settings = settings_from(db_url, config_path)
    engine = engine_for(settings)
    if from_file is not None:
        with progress_bar("HF daily papers files") as update:
            summary = import_daily_files(engine, from_file, progress=update)
        print_summary(summary)
        exit_for(summary)
        return
    first = first_day.date() if first_day else dt.datetime.now(dt.UTC).date()
    summary = read_hf_days(settings, engine, first, last_day.date() if last_day else first,
                           base_url=base_url)
    print_summary(summary)
    exit_for(summary)


def read_hf_days(settings: Settings, engine: Engine, first: dt.date, last: dt.date, *,
                 base_url: str | None = None) -> ImportSummary:
    """`ingest hf` (and the worker's step of that name): the daily papers of first..last."""
    from paperfeed.ingest.hf_daily import ingest_daily_papers

    # Hugging Face is not arXiv: one request a second is polite enough there.
    delay = min(settings.arxiv_delay_seconds, 1.0)
    with _upstream_client(settings, delay_seconds=delay) as client, \
            progress_bar("HF daily papers") as update:
        return ingest_daily_papers(engine, client, hf_url=base_url or settings.hf_url,
                                   first_day=first, last_day=last, progress=update)
