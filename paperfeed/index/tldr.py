"""Extractive one-sentence TL;DR of an abstract, and the LaTeX clean-up it needs.

The TL;DR is the abstract's sentence that states the contribution. Each sentence is scored by

    score = centrality + CUE_WEIGHT * cue - BACKGROUND_WEIGHT * background

``centrality`` is the cosine between the sentence's content words and the rest of the
title + abstract (a sentence that shares the paper's vocabulary is about the paper, not
about the field); ``cue`` is 1 when the sentence announces the contribution ("we
propose", "we introduce", "this paper presents", "in this work", ...) and
``background`` is 1 when it reads as context ("recently", "has been", "remains
challenging", ...). Ties go to the earlier sentence. The chosen sentence is cleaned of
LaTeX and cut to ``MAX_WORDS`` words.
"""

from __future__ import annotations

import math
import re
from collections import Counter

from paperfeed.index.text import STOPWORDS

CUE_WEIGHT = 0.5
BACKGROUND_WEIGHT = 0.25
MAX_WORDS = 60

_CUES = re.compile(
    r"\b(?:we|this (?:paper|work|study|article|letter)|our (?:work|paper|approach|method))\s+"
    r"(?:\w+ly\s+)?(?:propose|proposes|introduce|introduces|present|presents|develop|develops|"
    r"design|designs|describe|describes|offer|offers|build|builds|establish|contribute|"
    r"formulate|release|devise|put forward)\b"
    r"|\bin this (?:paper|work|study|article|letter)\b|\bwe (?:call|dub|name|term)\b"
    r"|\bto (?:this|that) end\b|\bto address (?:this|these|that|the)\b",
    re.IGNORECASE,
)
_BACKGROUND = re.compile(
    r"^(?:recently|recent|however|although|while|despite|existing|current|traditional|"
    r"conventional|prior|previous)\b|\b(?:has|have) (?:been|become|shown|attracted|achieved)\b"
    r"|\bremains? (?:a |an )?(?:challenging|challenge|difficult|open|unclear|limited)\b",
    re.IGNORECASE,
)
_MATH = re.compile(r"\$\$(.+?)\$\$|\$(.+?)\$|\\\((.+?)\\\)|\\\[(.+?)\\\]", re.DOTALL)
_DROP_COMMANDS = re.compile(r"\\(?:cite[tp]?|ref|eqref|label|footnote|url)\*?\{[^{}]*\}")
_KEEP_ARGUMENT = re.compile(
    r"\\(?:textbf|textit|texttt|textrm|textsc|emph|mathbf|mathrm|mathit|mathcal|mathbb|"
    r"mathsf|operatorname|text|bm|boldsymbol|underline|href\{[^{}]*\})\s*\{([^{}]*)\}"
)
_SYMBOLS = {
    r"\alpha": "α", r"\beta": "β", r"\gamma": "γ", r"\delta": "δ", r"\epsilon": "ε",
    r"\varepsilon": "ε", r"\lambda": "λ", r"\mu": "μ", r"\sigma": "σ", r"\theta": "θ",
    r"\pi": "π", r"\tau": "τ", r"\phi": "φ", r"\omega": "ω", r"\ell": "ℓ",
    r"\times": "×", r"\approx": "≈", r"\sim": "~", r"\leq": "≤", r"\le": "≤", r"\geq": "≥",
    r"\ge": "≥", r"\pm": "±", r"\infty": "∞", r"\rightarrow": "→", r"\to": "→",
    r"\cdot": "·", r"\%": "%", r"\&": "&", r"\_": "_", r"\#": "#", r"\$": "$",
}
_SYMBOL = re.compile("|".join(re.escape(k) + r"(?![A-Za-z])"
                              for k in sorted(_SYMBOLS, key=len, reverse=True)))
_COMMAND = re.compile(r"\\[A-Za-z]+\*?")
# A sentence ends at . ! ? followed by space and an upper-case letter, digit or quote, unless
# the dot ends a common abbreviation or an initial.
_BOUNDARY = re.compile(r"(?<=[.!?])\s+(?=[\"'(\[]?[A-Z0-9])")
_ABBREVIATION = re.compile(r"(?:\b(?:e\.g|i\.e|et al|etc|vs|cf|Fig|Eq|Sec|Ref|approx|resp|"
                           r"No|Dr|Prof|St)\.|\b[A-Z]\.)$")
_WORD = re.compile(r"[^\W_]+", re.UNICODE)


def clean_latex(text: str) -> str:
    """``text`` with LaTeX math delimiters, formatting commands, citations and escapes
    turned into plain text (``$\\mathcal{O}(n^2)$`` -> ``O(n^2)``, ``\\alpha`` -> ``α``)."""
    def math(match: re.Match[str]) -> str:
        return next(g for g in match.groups() if g is not None)

    text = _MATH.sub(math, text)
    text = _DROP_COMMANDS.sub("", text)
    for _ in range(3):  # nested \textbf{\emph{x}}
        text = _KEEP_ARGUMENT.sub(r"\1", text)
    text = _SYMBOL.sub(lambda m: _SYMBOLS[m.group(0)], text)
    text = _COMMAND.sub("", text)
    text = text.replace("~", " ").replace("{", "").replace("}", "").replace("``", '"')
    text = text.replace("''", '"')
    text = re.sub(r"\s+([,.;:!?])", r"\1", text)
    return " ".join(text.split())


def split_sentences(text: str) -> list[str]:
    """The sentences of ``text`` (abbreviations such as "e.g." and "et al." do not end one)."""
    parts = _BOUNDARY.split(" ".join(text.split()))
    sentences: list[str] = []
    for part in parts:
        if sentences and _ABBREVIATION.search(sentences[-1]):
            sentences[-1] += " " + part
        else:
            sentences.append(part)
    return [s.strip() for s in sentences if s.strip()]


def _content(text: str) -> Counter[str]:
    return Counter(w for w in _WORD.findall(text.casefold())
                   if len(w) > 1 and w not in STOPWORDS and not w.isdigit())


def _centrality(bag: Counter[str], whole: Counter[str], whole_squares: int) -> float:
    """Cosine between a sentence's words and the rest of the paper's (whole - bag), without
    building the difference: |whole - bag|^2 = |whole|^2 - 2 whole.bag + |bag|^2."""
    overlap = sum(count * whole[word] for word, count in bag.items())
    bag_squares = sum(v * v for v in bag.values())
    dot = overlap - bag_squares
    rest = whole_squares - 2 * overlap + bag_squares
    return dot / math.sqrt(rest * bag_squares) if rest > 0 and bag_squares else 0.0


def extractive_tldr(title: str, abstract: str, *, cleaned: bool = False) -> str:
    """The abstract's sentence that best states the paper's contribution (see the module
    docstring), LaTeX-free and at most ``MAX_WORDS`` words; "" for an empty abstract.
    ``cleaned``: the texts went through ``clean_latex`` already."""
    if not cleaned:
        title, abstract = clean_latex(title or ""), clean_latex(abstract or "")
    sentences = split_sentences(abstract or "")
    if not sentences:
        return ""
    bags = [_content(s) for s in sentences]
    whole = _content(title or "")
    for bag in bags:
        whole.update(bag)
    whole_squares = sum(v * v for v in whole.values())
    best, best_score = 0, -math.inf
    for number, (sentence, bag) in enumerate(zip(sentences, bags, strict=True)):
        if len(bag) < 3 and len(sentences) > 1:
            continue  # "Code is available." and the like
        score = _centrality(bag, whole, whole_squares)
        score += CUE_WEIGHT * bool(_CUES.search(sentence))
        score -= BACKGROUND_WEIGHT * bool(_BACKGROUND.search(sentence))
        if score > best_score:
            best, best_score = number, score
    return _shorten(sentences[best])


def _shorten(sentence: str) -> str:
    words = sentence.split()
    if len(words) <= MAX_WORDS:
        return sentence
    return " ".join(words[:MAX_WORDS]).rstrip(",;:") + " …"
