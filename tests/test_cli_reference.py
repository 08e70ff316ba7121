"""docs/cli.md is the generated `--help` of every command, word for word."""

from __future__ import annotations

from pathlib import Path

import click

from paperfeed.cli import main
from paperfeed.cli.reference import cli_reference

DOC = Path(__file__).parent.parent / "docs" / "cli.md"


def test_docs_cli_md_matches_the_commands_help() -> None:
    assert DOC.read_text(encoding="utf-8") == cli_reference(), (
        "docs/cli.md is out of date: run `python -m paperfeed.cli.reference > docs/cli.md`")


def test_the_reference_covers_every_command_and_notices_a_change() -> None:
    text = cli_reference()
    for path in ("paperfeed users add", "paperfeed ingest hf", "paperfeed eval beir",
                 "paperfeed papers ls", "paperfeed subscribers import", "paperfeed settings"):
        assert f"## `{path}`" in text

    @click.group()
    def root() -> None:
        """Root."""

    @root.command()
    @click.option("--flag", help="Before.")
    def cmd(flag: str) -> None:
        """A command."""

    before = cli_reference(root)
    cmd.params[0].help = "After."
    assert cli_reference(root) != before and "After." in cli_reference(root)


def test_every_command_takes_db_and_config() -> None:
    def leaves(command: click.Command, path: str) -> list[tuple[str, click.Command]]:
        if isinstance(command, click.Group):
            return [leaf for name, sub in command.commands.items()
                    for leaf in leaves(sub, f"{path} {name}")]
        return [(path, command)]

    for path, command in leaves(main, "paperfeed"):
        names = {name for p in command.params for name in getattr(p, "opts", [])}
        assert {"--db", "--config"} <= names, path
