"""Ingest: one module per upstream source, each yielding normalised Paper records."""
