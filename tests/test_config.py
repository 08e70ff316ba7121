"""Settings: precedence, TOML, production safety, and docs that list every setting."""

from __future__ import annotations

from pathlib import Path

import pytest

from paperfeed.config import DEV_SECRET, Settings, load_settings, settings_markdown

DOCS = Path(__file__).resolve().parent.parent / "docs" / "settings.md"


def test_every_setting_has_help_text() -> None:
    missing = [name for name, f in Settings.model_fields.items() if not f.description]
    assert missing == []


def test_docs_list_every_setting_as_the_code_describes_it() -> None:
    assert settings_markdown() in DOCS.read_text(), (
        "docs/settings.md is stale: regenerate its table with `paperfeed settings --markdown`"
    )


def test_precedence_is_defaults_then_toml_then_env_then_flags(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    toml = tmp_path / "paperfeed.toml"
    toml.write_text(
        'site_name = "from toml"\nbase_url = "https://toml.example/"\nhttp_retries = 7\n'
    )
    monkeypatch.setenv("PAPERFEED_CONFIG", str(toml))
    monkeypatch.setenv("PAPERFEED_BASE_URL", "https://env.example")
    monkeypatch.setenv("PAPERFEED_HTTP_RETRIES", "9")
    s = load_settings(http_retries=11)
    assert s.site_name == "from toml"  # toml over default
    assert s.base_url == "https://env.example"  # env over toml
    assert s.http_retries == 11  # flag over env
    assert load_settings().user_agent.startswith("paperfeed/")  # default


def test_database_url_comes_from_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PAPERFEED_DATABASE_URL", f"sqlite:///{tmp_path}/x.db")
    assert load_settings().database_url == f"sqlite:///{tmp_path}/x.db"


def test_production_refuses_a_missing_or_weak_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PAPERFEED_SECRET_KEY", raising=False)
    with pytest.raises(ValueError, match="SECRET_KEY"):
        load_settings(environment="production")
    with pytest.raises(ValueError, match="SECRET_KEY"):
        load_settings(environment="production", secret_key="short")
    with pytest.raises(ValueError, match="SECRET_KEY"):
        load_settings(environment="production", secret_key=DEV_SECRET)
    ok = load_settings(environment="production", secret_key="k" * 40,
                       smtp_url="smtp://mail.example.org:587")
    assert ok.secret_key == "k" * 40


def test_production_refuses_to_log_account_emails_instead_of_sending(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PAPERFEED_SMTP_URL", raising=False)
    with pytest.raises(ValueError, match="SMTP_URL"):
        load_settings(environment="production", secret_key="k" * 40)
    with pytest.raises(ValueError, match="SMTP_URL"):
        load_settings(environment="production", secret_key="k" * 40, smtp_url="  ")
    assert load_settings(environment="development", smtp_url="").smtp_url == ""


def test_development_without_a_key_gets_a_per_install_key_not_the_public_one(
        tmp_path: Path) -> None:
    key = load_settings(environment="development", secret_key="",
                        cache_dir=str(tmp_path)).secret_key
    assert key != DEV_SECRET and len(key) >= 32
    assert load_settings(environment="development", cache_dir=str(tmp_path)).secret_key == key
