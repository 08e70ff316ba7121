"""Running an instance: ``serve``, ``demo``, ``settings``, ``backup`` and ``restore``."""

from __future__ import annotations

import os
import signal
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import click
from pydantic import SecretStr
from rich.table import Table
from sqlalchemy import Engine

from paperfeed.config import DEV_SECRET, Settings, describe_settings, settings_markdown
from paperfeed.install_key import is_loopback

from .common import (
    common_options,
    engine_for,
    out,
    print_summary,
    progress_bar,
    redact,
    settings_from,
)
from .preload import forked_workers, tune_malloc
from .search import index_for_demo

# What `paperfeed demo` does after importing the bundled corpus, in order.
DEMO_STEPS: list[Callable[[Settings, Engine], None]] = [index_for_demo]


@click.command()
@common_options
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", default=1, show_default=True, type=int)
@click.option("--trusted-proxies", default=None, metavar="ADDRS",
              help="Reverse proxies whose X-Forwarded-For/-Proto are honoured "
              "(comma-separated addresses/CIDRs; default: the trusted_proxies setting).")
def serve(db_url: str | None, config_path: str | None, host: str, port: int, workers: int,
          trusted_proxies: str | None) -> None:
    """Serve the web app and API."""
    import uvicorn

    settings = settings_from(db_url, config_path, trusted_proxies=trusted_proxies)
    if settings.secret_key == DEV_SECRET and not is_loopback(host):
        # the development key is public: only a server reachable from this machine alone
        # may use it; the workers (and this process) fall back to the per-install key
        os.environ["PAPERFEED_SECRET_KEY"] = ""
        settings = settings_from(db_url, config_path, trusted_proxies=trusted_proxies)
        click.echo(f"the development secret key is not used when serving on {host}")
    engine_for(settings).dispose()
    os.environ["PAPERFEED_DATABASE_URL"] = settings.database_url
    os.environ["PAPERFEED_TRUSTED_PROXIES"] = settings.trusted_proxies
    click.echo(f"paperfeed on http://{host}:{port}/ ({redact(settings.database_url)})")
    if settings.trusted_proxies:
        click.echo(f"client addresses from X-Forwarded-For of {settings.trusted_proxies}")
    log_options: dict[str, Any] = {}
    if settings.log_format == "json":
        from paperfeed.log_format import logging_config

        log_options["log_config"] = logging_config("WARNING")
    # Forwarded headers are applied once, by paperfeed's ClientAddress middleware (only for
    # trusted_proxies); uvicorn's own handling stays off so it cannot apply them twice.
    # several workers: forked from this process once it has imported their modules, which
    # they then share (cli/preload.py), with its malloc settings; one: this process serves,
    # with the same settings
    if workers <= 1:
        tune_malloc()
    with metrics_directory(), forked_workers(settings.database_url) if workers > 1 \
            else nullcontext():
        uvicorn.run(
            "paperfeed.app:app_from_environment",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            log_level="warning",
            proxy_headers=False,
            forwarded_allow_ips="",
            **log_options,
        )


@contextmanager
def metrics_directory() -> Iterator[Path]:
    """The PROMETHEUS_MULTIPROC_DIR that the server processes share for /metrics: the
    operator's (its old sample files removed first: they belong to dead processes) or a
    new temporary directory, removed again when the server stops."""
    import shutil
    import tempfile

    given = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if given:
        path = Path(given)
        path.mkdir(parents=True, exist_ok=True)
        for stale in path.glob("*.db"):
            stale.unlink()
        yield path
        return
    path = Path(tempfile.mkdtemp(prefix="paperfeed-metrics-"))
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(path)
    # uvicorn re-raises a SIGTERM after its graceful shutdown, with the handler it found:
    # exiting (status 0) from there still runs the clean-up below
    previous = signal.signal(signal.SIGTERM, _exit_quietly)
    try:
        yield path
    finally:
        signal.signal(signal.SIGTERM, previous)
        os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)
        shutil.rmtree(path, ignore_errors=True)


def _exit_quietly(signum: int, frame: object) -> None:
    raise SystemExit(0)


@click.command()
@common_options
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--no-serve", is_flag=True, help="Load the demo corpus and stop.")
@click.pass_context
def demo(ctx: click.Context, db_url: str | None, config_path: str | None, host: str, port: int,
         no_serve: bool) -> None:
    """Load the bundled corpus (30 real arXiv listing days and their Hugging Face daily
    papers), index it, and serve it."""
    from paperfeed.ingest.bulk import import_file
    from paperfeed.ingest.hf_files import import_daily_files

    settings = settings_from(db_url, config_path)
    engine = engine_for(settings)
    corpus = resources.files("paperfeed") / "data" / "demo-listings.jsonl.gz"
    with resources.as_file(corpus) as path, progress_bar("demo corpus", bytes_=True) as update:
        summary = import_file(engine, path, progress=update)
    print_summary(summary)
    # Real Hugging Face upvotes, stars and links for the demo's days (see paperfeed/data/).
    signals = resources.files("paperfeed") / "data" / "demo-hf-daily.jsonl.gz"
    with resources.as_file(signals) as path, progress_bar("Hugging Face signals") as update:
        print_summary(import_daily_files(engine, path, progress=update))
    for step in DEMO_STEPS:
        step(settings, engine)
    if not no_serve:
        ctx.invoke(serve, db_url=settings.database_url, config_path=config_path, host=host,
                   port=port)


@click.command("settings")
@common_options
@click.option("--markdown", is_flag=True, help="Print the table docs/settings.md holds.")
def settings_cmd(db_url: str | None, config_path: str | None, markdown: bool) -> None:
    """Every setting with its environment variable, default and help; with --db or --config,
    also the value in effect (secrets hidden)."""
    if markdown:
        click.echo(settings_markdown(), nl=False)
        return
    current = settings_from(db_url, config_path) if (db_url or config_path) else None
    table = Table(title="settings (defaults < paperfeed.toml < PAPERFEED_* env < flags)")
    for col in ("env var", "type", "default", *(["value"] if current else []), "help"):
        table.add_column(col)
    for env, ann, default, help_ in describe_settings():
        value = [_shown_value(current, env)] if current else []
        table.add_row(env, ann, default, *value, help_)
    out.print(table)


def _shown_value(settings: Settings, env: str) -> str:
    name = env.removeprefix("PAPERFEED_").lower()
    value = getattr(settings, name)
    if isinstance(value, SecretStr):
        value = value.get_secret_value()
    if name in ("secret_key", "llm_api_key"):
        return "(set)" if value else "(empty)"
    if isinstance(value, str) and "://" in value:
        return repr(_without_password(value))
    return repr(value)


def _without_password(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{parts.username or ''}:***@{host}"))


@click.command()
@common_options
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
def backup(db_url: str | None, config_path: str | None, out: Path) -> None:
    """Write a consistent snapshot of the database to OUT while the site keeps serving
    (SQLite: a SQLite file; PostgreSQL: a pg_dump custom-format archive)."""
    from paperfeed.store.backup import BackupError, backup_database

    settings = settings_from(db_url, config_path)
    try:
        result = backup_database(settings.database_url, out)
    except BackupError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"backup of {redact(settings.database_url)} written to {result.path} "
               f"({result.bytes:,} bytes, {result.kind})")


@click.command()
@common_options
@click.argument("backup_file", metavar="IN", type=click.Path(dir_okay=False, path_type=Path))
def restore(db_url: str | None, config_path: str | None, backup_file: Path) -> None:
    """Restore a backup made by `paperfeed backup` into an empty database."""
    from paperfeed.store.backup import BackupError, restore_database

    settings = settings_from(db_url, config_path)
    try:
        restore_database(backup_file, settings.database_url)
    except BackupError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"restored {backup_file} into {redact(settings.database_url)}")
