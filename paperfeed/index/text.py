"""What gets embedded for a paper, and the hash that tells when it changed."""

from __future__ import annotations

import hashlib


def embedding_text(title: str, abstract: str) -> str:
    """The text a paper's vector is made from: title, then abstract (whitespace-trimmed).

    The title goes first because the model truncates long inputs at the end.
    """
    title = (title or "").strip()
    abstract = (abstract or "").strip()
    if title and abstract:
        return f"{title}. {abstract}"
    return title or abstract


def text_hash(text: str) -> str:
    """A 32-hex-digit digest of ``text``; a vector whose hash differs is stale."""
    return hashlib.blake2b(text.encode("utf-8"), digest_size=16).hexdigest()


# Words too common to select papers by: dropped from the optional (OR) terms of a keyword
# query, which keeps "the"/"of" from matching, and scoring, nearly every paper. Phrases keep
# them ("state of the art" must match as written).
STOPWORDS = frozenset(
    [
        "a", "about", "above", "after", "again", "against", "all", "am", "an", "and", "any", "are",
        "as", "at", "be", "because", "been", "before", "being", "below", "between", "both", "but",
        "by", "can", "could", "did", "do", "does", "doing", "down", "during", "each", "few", "for",
        "from", "further", "had", "has", "have", "having", "he", "her", "here", "hers", "herself",
        "him", "himself", "his", "how", "i", "if", "in", "into", "is", "it", "its", "itself",
        "just", "me", "more", "most", "my", "myself", "no", "nor", "not", "of", "off", "on",
        "once", "only", "or", "other", "our", "ours", "ourselves", "out", "over", "own", "same",
        "she", "should", "so", "some", "such", "than", "that", "the", "their", "theirs", "them",
        "themselves", "then", "there", "these", "they", "this", "those", "through", "to", "too",
        "under", "until", "up", "very", "was", "we", "were", "what", "when", "where", "which",
        "while", "who", "whom", "why", "will", "with", "would", "you", "your", "yours", "yourself",
        "yourselves", "via", "using", "based",
    ]
)


def keyword_terms(terms: list[str]) -> list[str]:
    """The optional query words worth matching: stopwords dropped unless nothing is left."""
    kept = [t for t in terms if t not in STOPWORDS]
    return kept or list(terms)


def match_groups(words: list[str], at_least: int, joiner: str) -> list[str]:
    """Alternatives meaning "at least ``at_least`` of ``words``" (1, 2, or all)."""
    if at_least <= 1 or len(words) < 2:
        return words
    if at_least >= len(words):
        return ["(" + joiner.join(words) + ")"]
    return ["(" + a + joiner + b + ")" for i, a in enumerate(words) for b in words[i + 1:]]


def match_stages(terms: list[str]) -> list[int]:
    """How many words must match, strictest first: all of them (when there are several),
    then any one. The all-words stage is used when it yields enough papers."""
    n = len(keyword_terms(terms))
    return [n, 1] if n > 1 else [1]
