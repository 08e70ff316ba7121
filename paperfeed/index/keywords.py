"""Keywords of a paper, KeyBERT-style: candidate phrases scored by the embedding model
against the paper's own stored vector, diversified by maximal marginal relevance (MMR).

1. **Candidates** (``candidate_phrases``): runs of content words of the LaTeX-free title
   and abstract, cut at stopwords, punctuation and academic filler ("propose", "novel",
   "results", adverbs in -ly: no part-of-speech tagger needed, the runs are noun-phrase
   like), and their 1-3 word endings (English noun phrases end in their head: "large
   language models", "language models", "models"). Variants with the same stems are one
   candidate, shown in their most frequent spelling.
2. **Prior** (cheap, limits what is embedded): occurrences (a title occurrence counts
   ``TITLE_WEIGHT``) x mean IDF of the words in the corpus (the BM25 postings) x a bonus per
   extra word. The best ``MAX_CANDIDATES`` are embedded.
3. **Relevance**: cosine of each candidate's vector (the same model, a per-process cache
   shared by all papers, so "large language models" is embedded once per run) and the
   paper's vector.
4. **MMR** (lambda ``MMR_LAMBDA``): pick the most relevant, then repeatedly the one
   maximising lambda x relevance - (1 - lambda) x its highest cosine to those picked,
   skipping phrases whose words are inside a picked one (or the reverse); stop at
   ``MAX_KEYWORDS``, or after ``MIN_KEYWORDS`` once relevance falls below
   ``KEEP_RATIO`` x the best.
"""

from __future__ import annotations

import re
from collections import Counter, OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from paperfeed.index.text import STOPWORDS
from paperfeed.index.tldr import clean_latex

MIN_KEYWORDS = 3
MAX_KEYWORDS = 8
MAX_CANDIDATES = 8
MAX_WORDS = 3
TITLE_WEIGHT = 3.0
LENGTH_BONUS = 0.5  # prior x (1 + LENGTH_BONUS x (words - 1))
MMR_LAMBDA = 0.7
KEEP_RATIO = 0.6

# Words that break a candidate run besides the stopwords: verbs and adjectives of
# academic prose that are never a paper's topic.
_FILLER_WORDS = """
 propose proposes proposed present presents presented introduce introduces introduced
 show shows shown showed demonstrate demonstrates demonstrated achieve achieves achieved
 achieving outperform outperforms outperforming improve improves improved improving
 use uses used leverage leverages leveraging enable enables enabling allow allows
 novel new simple effective efficient existing various different several many
 significant significantly extensive experiments experiment results result paper work
 approach approaches method methods framework frameworks task tasks performance
 problem problems study studies state art sota also well however furthermore moreover
 first second third one two three four five can may might must often across within
 without toward towards including include includes provide provides provided make makes
 made yield yields obtain obtains even still yet thus hence therefore due able
 consistently substantially available publicly https http www github com
 respectively e g i etc al et furthermore given called named termed dub dubbed
 recent recently current way ways agree agrees differ differs correlate correlates
 reveal reveals remain remains require requires exhibit exhibits suggest suggests indicate
 indicates lead leads fail fails tend tends rely relies struggle struggles capture captures
 perform performs offer offers explore explores investigate investigates evaluate
 evaluates address addresses focus focuses exist exists become becomes help helps
 contain contains produce produces remains need needs lack lacks beyond now emerge
 emerges raise raises exceed exceeds translate translates therein thereby
"""
FILLER = frozenset(_FILLER_WORDS.split())
_TOKEN = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:[-'][A-Za-z0-9]+)*|[^\sA-Za-z]")


@dataclass(frozen=True, slots=True)
class Candidate:
    """A candidate keyword: its shown form, its stem key and its prior score."""

    phrase: str
    key: tuple[str, ...]
    prior: float


def _shown(word: str) -> str:
    """Lower-case a word capitalised only at its first letter(s) (title case, sentence
    start: "Context-Aware"); keep acronyms and mixed case (LLM, ImageNet, GPT-4)."""
    parts = [p for p in word.split("-") if p]
    title_case = all(p[:1].isupper() and (p[1:].islower() or not p[1:]) for p in parts)
    return word.lower() if parts and title_case else word


_BREAK = STOPWORDS | FILLER


def _runs(text: str) -> list[list[str]]:
    runs: list[list[str]] = []
    current: list[str] = []
    for token in _TOKEN.findall(text):
        folded = token.casefold()
        if (len(token) < 2 or not token[0].isalpha() or folded in _BREAK
                or folded.endswith("ly") or "'" in token):
            if current:
                runs.append(current)
            current = []
        else:
            current.append(token)
    if current:
        runs.append(current)
    return runs


def candidate_phrases(title: str, abstract: str, stem: Callable[[str], str],
                      idf: Callable[[str], float], limit: int = MAX_CANDIDATES, *,
                      cleaned: bool = False) -> list[Candidate]:
    """The ``limit`` best candidate phrases of a paper by prior (see the module docstring).

    ``stem(word)`` gives a word's stem (folded), ``idf(stem)`` its inverse document
    frequency in the corpus; ``cleaned``: the texts went through ``clean_latex`` already.
    """
    if not cleaned:
        title, abstract = clean_latex(title or ""), clean_latex(abstract or "")
    counts: dict[tuple[str, ...], float] = {}
    forms: dict[tuple[str, ...], Counter[str]] = {}
    for text, weight in ((title or "", TITLE_WEIGHT), (abstract or "", 1.0)):
        for run in _runs(text):
            tail = run[-MAX_WORDS:]
            tail_stems = [stem(w.casefold()) for w in tail]
            tail_shown = [_shown(w) for w in tail]
            for size in range(1, len(tail) + 1):  # the run's 1-3 word endings
                key = tuple(tail_stems[-size:])
                counts[key] = counts.get(key, 0.0) + weight
                shown = " ".join(tail_shown[-size:])
                forms.setdefault(key, Counter())[shown] += 1
    weights = {s: idf(s) for key in counts for s in key}
    scored: list[Candidate] = []
    for key, count in counts.items():
        mean_idf = sum(map(weights.__getitem__, key)) / len(key)
        prior = count * mean_idf * (1.0 + LENGTH_BONUS * (len(key) - 1))
        scored.append(Candidate(forms[key].most_common(1)[0][0], key, prior))
    scored.sort(key=lambda c: (-c.prior, c.phrase))
    return scored[:limit]


def select_keywords(candidates: Sequence[Candidate], vectors: np.ndarray,
                    paper_vector: np.ndarray) -> list[str]:
    """MMR over ``candidates`` (rows of ``vectors``, unit length) against the paper's
    vector: 3-8 phrases, most relevant first (fewer only when there are fewer candidates)."""
    if not candidates:
        return []
    relevance = vectors @ paper_vector
    similarity = vectors @ vectors.T
    picked: list[int] = []
    best = float(relevance.max())
    left = set(range(len(candidates)))
    while left and len(picked) < MAX_KEYWORDS:
        def gain(i: int) -> float:
            redundancy = max((float(similarity[i, j]) for j in picked), default=0.0)
            return MMR_LAMBDA * float(relevance[i]) - (1 - MMR_LAMBDA) * redundancy

        choice = max(sorted(left), key=gain)
        left.discard(choice)
        words = set(candidates[choice].key)
        if any(words <= set(candidates[j].key) or set(candidates[j].key) <= words
               for j in picked):
            continue
        if len(picked) >= MIN_KEYWORDS and float(relevance[choice]) < KEEP_RATIO * best:
            break
        picked.append(choice)
    return [candidates[i].phrase for i in picked]


class PhraseVectors:
    """Phrase -> unit vector, least recently used dropped past ``capacity`` entries."""

    def __init__(self, embed: Callable[[list[str]], np.ndarray], capacity: int = 100_000):
        self._embed = embed
        self._capacity = capacity
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self.embedded = 0  # phrases embedded (cache misses), for benchmarks

    def prepare(self, phrases: Sequence[str]) -> None:
        """Embed, in one batch, the phrases not cached yet."""
        keys = [p.casefold() for p in phrases]  # the model is uncased
        missing = list(dict.fromkeys(k for k in keys if k not in self._cache))
        if missing:
            for key, vector in zip(missing, self._embed(missing), strict=True):
                self._cache[key] = vector
            self.embedded += len(missing)
        for key in keys:
            self._cache.move_to_end(key)
        while len(self._cache) > self._capacity:
            self._cache.popitem(last=False)

    def matrix(self, phrases: Sequence[str]) -> np.ndarray:
        """The vectors of ``phrases`` (call ``prepare`` with them first) as rows."""
        return np.stack([self._cache[p.casefold()] for p in phrases]).astype(np.float32)
