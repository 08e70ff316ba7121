"""The `paperfeed` command: thin calls into ingest, store, index, rank, web and mail.

One module per command group; each defines plain click commands and groups:

- ``common.py``  what every command shares: ``@common_options`` (``--db URL`` and ``--config
  FILE``, which EVERY command takes), ``settings_from``, ``engine_for``, progress bars
- ``papers.py``  init, import, stats, papers ls|info
- ``ingest.py``  ingest arxiv|arxiv-api|oai|hf
- ``search.py``  index, search, similar, eval beir
- ``users.py``   users add|list|promote|demote|disable|enable|delete|invite
- ``mail.py``    digest send, subscribers add|list|remove|import
- ``channels.py`` channels add|list|remove|resume|send (Slack, Discord, ... webhooks)
- ``ops.py``     serve, demo (its steps: ``ops.DEMO_STEPS``), settings, backup, restore
- ``worker.py``  worker (its jobs: ``worker.WORKER_JOBS``), status
- ``reference.py`` docs/cli.md, generated from every command's ``--help``

To add a command: write it in the module of its group (or a new module for a new group),
decorate it with ``@common_options``, keep the body a thin call into the layers below (the
domain function lives there, not here), and list it in ``COMMANDS`` below. Then regenerate
the reference: ``python -m paperfeed.cli.reference > docs/cli.md``.
"""

from __future__ import annotations

import click

from . import channels, mail, ops, papers, search, users, worker
from . import ingest as ingest_commands

COMMANDS: list[click.Command] = [
    papers.init, papers.import_, papers.stats, papers.papers,
    ingest_commands.ingest,
    search.index_cmd, search.search_cmd, search.similar_cmd, search.eval_group,
    users.users,
    mail.digest, mail.subscribers, channels.channels,
    ops.serve, ops.demo, worker.worker, worker.status, ops.settings_cmd, ops.backup,
    ops.restore,
]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="paperfeed")
def main() -> None:
    """paperfeed: today's important papers, searchable, with a community and email digests."""


for _command in COMMANDS:
    main.add_command(_command)
