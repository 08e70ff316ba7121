"""Settings: every field typed, with a default and help text.

Precedence, lowest first: defaults < TOML file < ``PAPERFEED_*`` environment < CLI flags.
Settings are never built at import time; call :func:`load_settings`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal, get_args, get_origin

from platformdirs import user_data_dir
from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

DEFAULT_TOML = "paperfeed.toml"
DEV_SECRET = "paperfeed-development-secret-do-not-use-in-production"


def usable_cores() -> int:
    """CPUs this process may run on (its affinity mask where the OS has one)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1


def default_database_url() -> str:
    """SQLite file in the working directory if one exists there, else in the user data dir."""
    local = Path.cwd() / "paperfeed.db"
    if local.exists():
        return f"sqlite:///{local}"
    data = Path(user_data_dir("paperfeed", appauthor=False))
    return f"sqlite:///{data / 'paperfeed.db'}"


class Settings(BaseSettings):
    """All of paperfeed's configuration. ``paperfeed settings`` prints it with help."""

    model_config = SettingsConfigDict(env_prefix="PAPERFEED_", extra="ignore")

    environment: Literal["development", "production", "test"] = Field(
        "development",
        description="'production' refuses unsafe defaults (e.g. no secret key).",
    )
    database_url: str = Field(
        default_factory=default_database_url,
        description="SQLAlchemy URL: sqlite:///path.db (default) or postgresql://user@host/db.",
    )
    secret_key: str = Field(
        "",
        description="Signs sessions, CSRF and email tokens. Required in production; "
        "elsewhere empty = a random per-install key kept (mode 0600) in cache_dir/secret_key.",
    )
    base_url: str = Field(
        "http://127.0.0.1:8000",
        description="Public absolute URL of the site, used in emails and feeds.",
    )
    site_name: str = Field("paperfeed", description="Name shown in pages, feeds and emails.")
    # --- upstream sources -------------------------------------------------------------
    arxiv_rss_url: str = Field(
        "https://rss.arxiv.org/rss", description="Base URL of arXiv's RSS listings."
    )
    arxiv_api_url: str = Field(
        "https://export.arxiv.org/api/query", description="arXiv API (Atom) query endpoint."
    )
    arxiv_oai_url: str = Field(
        "https://oaipmh.arxiv.org/oai", description="arXiv OAI-PMH endpoint."
    )
    hf_url: str = Field("https://huggingface.co", description="Hugging Face base URL.")
    user_agent: str = Field(
        "paperfeed/0.1 (+https://github.com/paperfeed/paperfeed; mailto:admin@localhost)",
        description="User-Agent sent upstream; put a contact address in it.",
    )
    arxiv_delay_seconds: float = Field(
        3.0, description="Minimum seconds between requests to arXiv (their policy: >= 3)."
    )
    http_timeout_seconds: float = Field(30.0, description="Timeout for one upstream request.")
    http_retries: int = Field(4, description="Retries for upstream timeouts, 5xx, truncation.")
    categories: list[str] = Field(
        default_factory=lambda: ["cs.CV", "cs.CL", "cs.LG", "cs.AI"],
        description="arXiv categories that `paperfeed ingest arxiv` and the worker follow.",
    )
    # --- index ------------------------------------------------------------------------
    embedding_model: str = Field(
        "",
        description="Local sentence-transformers directory; empty = bundled all-MiniLM-L6-v2.",
    )
    embedding_backend: Literal["onnx-int8", "torch", "hashing"] = Field(
        "onnx-int8",
        description="Embedding engine: onnx-int8 (fast), torch (reference fp32), or hashing "
        "(a tiny deterministic stand-in for unit tests only, not for real use).",
    )
    embedding_max_tokens: int = Field(
        0,
        description="Tokens of title+abstract the model reads (0 = the model's own limit, "
        "256 for all-MiniLM-L6-v2); lower is faster, changing it re-embeds every paper.",
    )
    cache_dir: str = Field(
        default_factory=lambda: user_data_dir("paperfeed", appauthor=False),
        description="Data directory: derived files (e.g. the ONNX model) and the generated "
        "per-install secret key.",
    )
    llm_url: str = Field(
        "",
        description="Base URL of an OpenAI-compatible server (Ollama, llama.cpp server, vLLM), "
        "e.g. http://127.0.0.1:11434/v1: `paperfeed index` then asks its /chat/completions "
        "for a one-sentence TL;DR of each paper (cached; pages never wait for it); "
        "empty = off.",
    )
    llm_model: str = Field(
        "", description="Model name sent to llm_url (e.g. qwen2.5:7b-instruct); required "
        "when llm_url is set; changing it recomputes the LLM TL;DRs.",
    )
    llm_api_key: SecretStr = Field(
        SecretStr(""),
        description="Sent to llm_url as Authorization: Bearer (never logged); empty = none.",
    )
    llm_timeout_seconds: float = Field(
        60.0, gt=0, description="Timeout of one request to llm_url (a timed-out paper is retried, "
        "then skipped until the next run).",
    )
    llm_max_papers: int = Field(
        200, ge=0, description="At most this many papers get an LLM TL;DR per `paperfeed index` "
        "run (newest first); the rest wait for the next run.",
    )
    llm_concurrency: int = Field(
        2, ge=1, description="Requests to llm_url in flight at once.",
    )
    # --- mail -------------------------------------------------------------------------
    smtp_url: str = Field(
        "",
        description="smtp://user:pass@host:587 (STARTTLS) or smtps://...:465; empty = console.",
    )
    mail_from: str = Field("paperfeed <noreply@localhost>", description="From: address.")
    mail_unsubscribe_mailto: str = Field(
        "",
        description="Address for mailto: List-Unsubscribe (route it to `paperfeed subscribers "
        "remove`); empty = the From: address.",
    )
    smtp_concurrency: int = Field(4, description="Parallel SMTP connections when sending.")
    smtp_timeout_seconds: float = Field(30.0, description="Timeout of one SMTP command.")
    smtp_retries: int = Field(
        3, description="Retries of a message after a 4xx reply or a dropped connection."
    )
    smtp_retry_base_seconds: float = Field(
        2.0, description="First retry delay; doubles on every retry (exponential backoff)."
    )
    mail_bounce_limit: int = Field(
        3, description="Consecutive permanent (5xx) failures that pause a subscription."
    )
    digest_default_papers: int = Field(10, description="Papers per digest unless chosen.")
    digest_unconfirmed: Literal["resend", "skip"] = Field(
        "resend",
        description="A digest whose send began but was not confirmed before a crash: resend it "
        "with the same Message-ID (at-least-once) or mark it unknown (at-most-once).",
    )
    digest_claim_timeout_minutes: int = Field(
        60, description="A claimed digest of a worker not seen alive for this long is retaken."
    )
    confirm_max_age_hours: int = Field(
        72, description="How long a subscription confirmation link stays valid."
    )
    worker_announce_delay_minutes: int = Field(
        45,
        description="Minutes after arXiv's 20:00 US/Eastern announcement that the worker "
        "ingests, indexes and sends digests.",
    )
    worker_catch_up_days: int = Field(
        5,
        description="After downtime, the worker reads the missed arXiv listing days of at "
        "most this many listing days back from the arXiv API (0 = no catch-up), and the "
        "missed Hugging Face daily papers of as many calendar days.",
    )
    log_format: Literal["text", "json"] = Field(
        "text",
        description="Log lines of `serve` and `worker`: text, or json (one JSON object a "
        "line: time, level, logger, message) for log collectors.",
    )
    # --- web --------------------------------------------------------------------------
    cache_seconds: int = Field(30, description="Max age of cached anonymous pages.")
    submission_max_age_days: int = Field(
        30, description="Papers first announced more than this many days before the site's "
        "newest day cannot be submitted to the feed.",
    )
    rate_limits: bool = Field(
        True, description="Rate-limit log-in, sign-up, votes, comments, submissions, and "
        "per client address search, similar papers and personal feeds.",
    )
    trusted_proxies: str = Field(
        "",
        description="Comma-separated addresses/CIDRs of your reverse proxies (e.g. "
        "127.0.0.1,::1). Only requests from these have X-Forwarded-For/-Proto honoured; "
        "empty = forwarded headers are ignored.",
    )
    read_requires_login: bool = Field(
        False,
        description="A private instance: every page, API route and feed needs a session or "
        "an API token (Authorization: Bearer), except log-in, sign-up, password reset, "
        "email verification, static files, /healthz, /readyz, personal feeds' secret URLs "
        "and the links in digest emails (unsubscribe, preferences).",
    )
    signup: Literal["open", "invite", "domains", "closed"] = Field(
        "open",
        description="Who may sign up on the web: open (anyone), invite (only through an "
        "invite URL from `paperfeed users invite`), domains (addresses in signup_domains, or "
        "an invite URL), closed (nobody: POST /signup answers 403; `paperfeed users add` "
        "still works).",
    )
    signup_domains: str = Field(
        "",
        description="Comma-separated email domains that may sign up when signup=domains, "
        "e.g. uni.edu (its subdomains, such as cs.uni.edu, count too).",
    )
    max_body_bytes: int = Field(
        1024 * 1024,
        description="Largest request body accepted (bytes); larger ones get 413 before "
        "they are read.",
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml_path = os.environ.get("PAPERFEED_CONFIG", DEFAULT_TOML)
        toml = TomlConfigSettingsSource(settings_cls, toml_file=toml_path)
        return (init_settings, env_settings, toml)

    @field_validator("trusted_proxies")
    @classmethod
    def _check_trusted_proxies(cls, value: str) -> str:
        import ipaddress

        for item in value.split(","):
            if item.strip():
                try:
                    ipaddress.ip_network(item.strip(), strict=False)
                except ValueError:
                    raise ValueError(
                        f"trusted_proxies: not an IP address or CIDR network: {item.strip()!r}"
                    ) from None
        return value

    @field_validator("signup_domains")
    @classmethod
    def _check_signup_domains(cls, value: str) -> str:
        domains = [d.strip().lower().lstrip("@").rstrip(".") for d in value.split(",")]
        for domain in domains:
            if domain and ("." not in domain or not all(
                    part and part.replace("-", "").isalnum() for part in domain.split("."))):
                raise ValueError(f"signup_domains: not an email domain: {domain!r}")
        return ",".join(d for d in domains if d)

    @model_validator(mode="after")
    def _refuse_unsafe_defaults(self) -> Settings:
        if self.signup == "domains" and not self.signup_domains:
            raise ValueError("signup=domains needs signup_domains (e.g. uni.edu)")
        if self.environment == "production":
            if not self.secret_key or self.secret_key == DEV_SECRET or len(self.secret_key) < 32:
                raise ValueError(
                    "PAPERFEED_SECRET_KEY must be set to a random string of >= 32 characters "
                    "in production "
                    "(e.g. `python -c 'import secrets; print(secrets.token_hex(32))'`)"
                )
            if not self.smtp_url.strip():
                # account emails (verification, password reset links) would only be logged
                raise ValueError(
                    "PAPERFEED_SMTP_URL must be set in production: without it, verification "
                    "and password-reset links would be written to the log instead of sent"
                )
        elif not self.secret_key:
            # never the public development key by default: a random key for this install
            from paperfeed.install_key import install_key

            self.secret_key = install_key(self.cache_dir)
        self.base_url = self.base_url.rstrip("/")
        self.llm_url = self.llm_url.strip().rstrip("/")
        if self.llm_url and not self.llm_model.strip():
            raise ValueError("PAPERFEED_LLM_MODEL must name a model when PAPERFEED_LLM_URL is set")
        if self.llm_url and not self.llm_url.startswith(("http://", "https://")):
            raise ValueError("PAPERFEED_LLM_URL must be an http:// or https:// URL")
        return self


def load_settings(**overrides: Any) -> Settings:
    """Build settings from defaults, TOML, env and the given overrides (CLI flags)."""
    return Settings(**{k: v for k, v in overrides.items() if v is not None})


def describe_settings() -> list[tuple[str, str, str, str]]:
    """(env var, type, default, help) for every setting, for docs and `paperfeed settings`."""
    rows = []
    for name, field in Settings.model_fields.items():
        default = "computed" if field.default_factory is not None else repr(field.default)
        if get_origin(field.annotation) is Literal:
            ann = " \\| ".join(str(a) for a in get_args(field.annotation))
        else:
            ann = getattr(field.annotation, "__name__", str(field.annotation))
        rows.append((f"PAPERFEED_{name.upper()}", ann, default, field.description or ""))
    return rows


def settings_markdown() -> str:
    """The settings table of docs/settings.md (a test keeps the two identical)."""
    lines = [
        "| environment variable | type | default | what it does |",
        "|---|---|---|---|",
    ]
    for env, ann, default, help_ in describe_settings():
        cells = [env, ann, default, help_]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
