"""The ``{arxiv_id:arxiv}`` path parameter of every paper route (pages and API).

A route's ``arxiv_id`` matches an arXiv id and nothing else (``2503.11731``, ``2503.11731v2``,
``hep-th/9901001``, ``math.GT/0309136v1``; identifiers.ARXIV_ID_PATTERN). So no other path
can reach a paper route, whatever order the routers are included in: ``/api/papers/search``
is never "the paper called search", and a path that is no id is the router's 404. The same
grammar is the parameter's ``pattern`` in the OpenAPI document.

Importing this module registers the convertor with Starlette; every module whose routes use
``{arxiv_id:arxiv}`` imports ``ArxivIdPath`` from here, so the registration always comes
first (an unknown convertor fails at import, loudly).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Path
from starlette.convertors import Convertor, register_url_convertor

from paperfeed.identifiers import ARXIV_ID_PATTERN


class ArxivIdConvertor(Convertor[str]):
    """Matches one arXiv id, slash of an old-style id included; the value stays a string."""

    regex = ARXIV_ID_PATTERN

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("arxiv", ArxivIdConvertor())

ArxivIdPath = Annotated[
    str,
    Path(
        pattern=f"^{ARXIV_ID_PATTERN}$",
        description="arXiv id: 2503.11731, 2503.11731v2, hep-th/9901001, math.GT/0309136.",
    ),
]
