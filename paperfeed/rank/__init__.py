"""Rank: the read API (search, similar papers, feeds) that web, API, CLI and mail call."""
