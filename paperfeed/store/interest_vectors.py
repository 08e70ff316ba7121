"""The embedded saved searches of digest subscriptions (``interest_vectors``): computed
when a subscription's follows change (or by ``embed_missing_interests``), so that building
100k digests never runs the model. Stored with their texts: a reader compares them with
the current saved searches and re-embeds when they differ. Never commits.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sqlalchemy import Connection, delete, select

from .database import dialect
from .mail_schema import interest_vectors


def store_interest_vectors(
    conn: Connection, sub_id: int, texts: Sequence[str], vectors: np.ndarray, model_id: str
) -> None:
    """Replace the embedded interests of a subscription (one float32 row per text)."""
    conn.execute(delete(interest_vectors).where(interest_vectors.c.subscription_id == sub_id))
    rows = [
        {
            "subscription_id": sub_id,
            "position": i,
            "text": text,
            "model_id": model_id,
            "vector": np.asarray(vec, dtype=np.float32).tobytes(),
        }
        for i, (text, vec) in enumerate(zip(texts, vectors, strict=True))
    ]
    if rows:
        # Two workers may embed the same new subscription at once: same model, same vectors.
        conn.execute(dialect(conn).insert(interest_vectors).on_conflict_do_nothing(), rows)


def load_interest_vectors(
    conn: Connection, sub_ids: Sequence[int], model_id: str
) -> dict[int, list[tuple[str, np.ndarray]]]:
    """{subscription id: [(interest text, vector), ...]} for vectors made by ``model_id``."""
    found: dict[int, list[tuple[str, np.ndarray]]] = {}
    for start in range(0, len(sub_ids), 900):
        chunk = list(sub_ids[start : start + 900])
        rows = conn.execute(
            select(
                interest_vectors.c.subscription_id, interest_vectors.c.text,
                interest_vectors.c.vector,
            )
            .where(
                interest_vectors.c.subscription_id.in_(chunk),
                interest_vectors.c.model_id == model_id,
            )
            .order_by(interest_vectors.c.subscription_id, interest_vectors.c.position)
        )
        for sub_id, text, blob in rows:
            found.setdefault(sub_id, []).append((text, np.frombuffer(blob, dtype=np.float32)))
    return found


