"""Response and request bodies of the JSON API (pydantic), shaped like huggingface.co's.

Field names follow Hugging Face's papers API exactly (camelCase, ``ai_keywords`` in snake
case as upstream), so that ``huggingface_hub.HfApi`` parses them into ``PaperInfo``. Fields
that only paperfeed has are extra keys, which that client keeps as attributes. No model
here has a field for a password hash or an email address: they cannot leave by accident.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field


def _no_nul(value: str) -> str:
    # PostgreSQL text cannot hold NUL; no real name or id contains one.
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


InText = Annotated[str, AfterValidator(_no_nul)]


class ApiModel(BaseModel):
    model_config = ConfigDict(extra="forbid")


class HfUser(ApiModel):
    """A user as Hugging Face shows one (``submittedBy``): username, full name, avatar."""

    user: str = Field(description="Username.")
    name: str = Field(description="Username (Hugging Face sends it under both keys).")
    fullname: str = Field(description="Display name, or the username when none is set.")
    avatarUrl: str = Field("", description="Avatar URL; empty: paperfeed has no avatars.")
    type: Literal["user"] = "user"
    isPro: bool = False


class HfAuthor(ApiModel):
    name: str
    hidden: bool = False
    affiliation: str | None = Field(None, description="paperfeed extension, when known.")


class HfPaper(ApiModel):
    """A paper as Hugging Face's ``paper`` object (and the flat ``/api/papers/{id}``)."""

    id: str = Field(description="Versionless arXiv id, e.g. 2503.11731.")
    authors: list[HfAuthor]
    publishedAt: AwareDatetime = Field(
        description="First arXiv version (or the announcement day when unknown)."
    )
    submittedOnDailyAt: AwareDatetime | None = Field(
        None, description="When the paper joined the daily feed (announcement or submission)."
    )
    submittedOnDailyBy: HfUser | None = None
    title: str
    summary: str = Field(description="The abstract (LaTeX left as written).")
    upvotes: int
    discussionId: str = Field(description="Stable id of the paper's comment thread.")
    projectPage: str | None = None
    githubRepo: str | None = None
    githubStars: int | None = Field(
        None, description="Stars of the code repository as Hugging Face last reported them; "
        "null when unknown."
    )
    ai_summary: str | None = Field(
        None, description="One-sentence TL;DR: Hugging Face's when ingested, else one from "
        "the site's language model when configured, else the abstract's contribution "
        "sentence (see ai_summary_source)."
    )
    ai_keywords: list[str] = Field(
        default_factory=list, description="3-8 keywords: Hugging Face's when ingested, else "
        "extracted by paperfeed (see ai_keywords_source)."
    )
    numComments: int = 0
    # paperfeed extensions
    ai_summary_source: str | None = Field(
        None, description='"hf" (Hugging Face), "llm:<model>" (the site\'s language model) '
        'or the extractive method, e.g. "paperfeed-extractive-v1"; null when there is no '
        'TL;DR yet.'
    )
    ai_keywords_source: str | None = Field(
        None, description='"hf" or the extractive method; null when there are no keywords yet.'
    )
    categories: list[str] = Field(default_factory=list, description="arXiv categories.")
    primaryCategory: str | None = None
    arxivUrl: str
    pdfUrl: str
    url: str = Field(description="The paper's page on this site.")


class PaperDetail(HfPaper):
    """``GET /api/papers/{id}``: the flat paper plus what only a full record has."""

    arxivComment: str | None = Field(None, description="The authors' arXiv comment.")
    journalRef: str | None = None
    doi: str | None = None
    license: str | None = None
    latestVersion: int = 1
    updatedAt: AwareDatetime | None = None


class DailyPaper(ApiModel):
    """One item of ``/api/daily_papers`` and ``/api/papers/search`` (Hugging Face's shape)."""

    paper: HfPaper
    publishedAt: AwareDatetime = Field(description="When the paper joined the daily feed.")
    title: str
    summary: str
    numComments: int
    submittedBy: HfUser | None = None
    isAuthorParticipating: bool = False
    # Also at the top level, where huggingface_hub's PaperInfo reads them.
    githubRepo: str | None = None
    githubStars: int | None = None
    projectPage: str | None = None
    ai_summary: str | None = None
    ai_keywords: list[str] = Field(default_factory=list)
    # paperfeed extensions
    upvotes: int = Field(description="Same as paper.upvotes (also here for flat readers).")
    score: float | None = Field(
        None, description="Trending or search score when the listing is ranked by one."
    )
    snippet: str | None = Field(None, description="Search: the matching passage, plain text.")
    reasons: list[str] | None = Field(None, description="Search: why the paper matched.")


class SimilarPaper(ApiModel):
    """One item of ``/api/papers/{id}/similar``."""

    paper: HfPaper
    score: float
    reasons: list[str] = Field(default_factory=list)


class VoteState(ApiModel):
    """The caller's vote on a paper after a vote request."""

    id: str
    upvoted: bool
    upvotes: int


class SubmissionIn(ApiModel):
    """Submit a paper to today's feed by arXiv id or arXiv / Hugging Face URL."""

    id: InText = Field(min_length=1, max_length=300, examples=["2503.11731"])


class Submission(ApiModel):
    id: str = Field(description="arXiv id of the submitted paper.")
    submittedBy: HfUser
    feedDay: dt.date
    submittedAt: AwareDatetime
    paper: HfPaper | None = None


class CollectionIn(ApiModel):
    name: InText = Field(min_length=1, max_length=120)
    description: InText = Field("", max_length=5000)
    public: bool = False


class CollectionItemIn(ApiModel):
    id: InText = Field(min_length=1, max_length=300, description="arXiv id or URL.")


class CollectionSummary(ApiModel):
    id: int
    name: str
    description: str
    public: bool
    owner: HfUser
    numPapers: int
    updatedAt: AwareDatetime
    url: str


class Collection(CollectionSummary):
    papers: list[HfPaper]


class Me(ApiModel):
    """The account behind the token: public profile fields, never the email address."""

    user: str
    name: str
    fullname: str
    bio: str
    isAdmin: bool
    createdAt: AwareDatetime
    numSubmissions: int
    numUpvotes: int
    numCollections: int
    feedUrl: str | None = Field(
        None, description="Secret URL of the personal Atom feed (only for the owner)."
    )


class Page(ApiModel):
    """Paging headers are also sent: ``X-Total-Count`` and RFC 8288 ``Link`` rel=next."""

    total: int
    p: int
    limit: int
