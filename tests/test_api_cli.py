"""`paperfeed papers ls` / `papers info`: the terminal mirror of the JSON API."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from paperfeed.cli import main

from .factories import TRICKY_ID, set_upvotes

pytestmark = pytest.mark.corpus("api")


def run(db_url: str, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, [*args[:2], "--db", db_url, *args[2:]])
    return result.exit_code, result.output


def test_ls_week_table_ranked_by_votes(corpus, db_url):
    set_upvotes(corpus, {"2503.11979": 9})
    code, output = run(db_url, "papers", "ls", "--week", "2025-W12", "--limit", "3")
    assert code == 0, output
    assert "21 papers" in output and "2503.11979" in output
    assert output.index("2503.11979") < output.index("DynaGSLAM") + 1


def test_ls_json_is_the_api_json(corpus, db_url, client):
    code, output = run(db_url, "papers", "ls", "--date", "2025-03-18", "--json", "--limit", "50")
    assert code == 0
    api = client.get("/api/daily_papers", params={"date": "2025-03-18"}).json()
    for item in api:  # the site's base URL differs between the CLI's settings and the tests'
        item["paper"].pop("url")
    cli = json.loads(output)
    for item in cli:
        assert item["paper"].pop("url").endswith("/papers/" + item["paper"]["id"])
    assert cli == api


def test_ls_sort_month_page_and_errors(corpus, db_url):
    code, output = run(db_url, "papers", "ls", "--month", "2025-03", "--sort", "publishedAt",
                       "--limit", "2", "--page", "1", "--json")
    assert code == 0 and len(json.loads(output)) == 2
    code, output = run(db_url, "papers", "ls", "--week", "2025-W60")
    assert code == 2 and "no such ISO week" in output
    code, _ = run(db_url, "papers", "ls", "--limit", "100000")
    assert code == 2


def test_info_text_json_markdown(corpus, db_url):
    code, output = run(db_url, "papers", "info", TRICKY_ID)
    assert code == 0
    assert "Escaping <script>alert(1)</script> & $\\alpha < \\beta$ in R&D" in output
    assert "https://github.com/example/tricky" in output
    code, output = run(db_url, "papers", "info", TRICKY_ID, "--json")
    assert json.loads(output)["id"] == TRICKY_ID
    code, output = run(db_url, "papers", "info", TRICKY_ID, "--markdown")
    assert output.startswith("# Escaping")
    code, output = run(db_url, "papers", "info", "2501.00000")
    assert code == 1 and "not found" in output
