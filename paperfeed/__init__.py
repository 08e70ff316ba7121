"""paperfeed: a self-hostable hub for research papers."""

__version__ = "0.1.0"
