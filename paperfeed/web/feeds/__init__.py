"""Atom 1.0 feeds of papers: the document builder (atom.py) and the routes (routes.py)."""
