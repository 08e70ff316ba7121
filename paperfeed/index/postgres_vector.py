"""pgvector for the search index (PostgreSQL only): the ``vector(n)`` column type and DDL.

Kept beside the index rather than in store/postgres.py because only the search index
uses it (index/schema.py). Migration 0002_search has its own frozen copy of the DDL;
VECTOR_INDEX_DDL here is what a bulk load recreates after dropping the index
(bench/pg_million.py).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sqlalchemy import cast
from sqlalchemy.types import UserDefinedType


class Vector(UserDefinedType[Any]):
    """pgvector's ``vector(n)``. Binds numpy arrays / float lists as the text form
    ``[x,y,...]`` (no client adapter needed) and reads either form back as a float32 array."""

    cache_ok = True

    def __init__(self, dim: int) -> None:
        self.dim = dim

    def get_col_spec(self, **_: Any) -> str:
        return f"vector({self.dim})"

    def bind_expression(self, bindvalue: Any) -> Any:
        return cast(bindvalue, self)

    def bind_processor(self, dialect: Any) -> Any:
        def process(value: Any) -> str | None:
            return None if value is None else vector_literal(value)

        return process

    def result_processor(self, dialect: Any, coltype: Any) -> Any:
        return parse_vector


def vector_literal(values: Any) -> str:
    """The text form pgvector parses: '[0.1,0.2,...]'."""
    if isinstance(values, str):
        return values
    return "[" + ",".join(f"{float(x):.7g}" for x in values) + "]"


def parse_vector(value: Any) -> Any:
    """A pgvector value (text '[...]', list, or the pgvector adapter's array) as float32."""
    if value is None:
        return None
    if isinstance(value, str):
        return np.array(value.strip("[]").split(","), dtype=np.float32)
    return np.asarray(value, dtype=np.float32)


VECTOR_INDEX_DDL = [
    # Inner product on unit vectors ranks exactly like cosine, one subtraction cheaper.
    """CREATE INDEX IF NOT EXISTS ix_paper_vectors_embedding_hnsw ON paper_vectors
        USING hnsw (embedding vector_ip_ops) WITH (m = 16, ef_construction = 64)""",
]
