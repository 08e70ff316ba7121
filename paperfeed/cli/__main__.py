"""``python -m paperfeed.cli``: the same as the `paperfeed` console script."""

from paperfeed.cli import main

main()
