"""Citations of papers: BibTeX, RIS and CSL-JSON, and reading BibTeX / CSL-JSON back.

Pure functions over ``models.Paper`` (no database, no web), so the paper page, the JSON
API, collection and search exports and the CLI all format a citation the same way.

BibTeX escaping is LaTeX-safe and reversible: outside ``$...$`` math the characters
``\\ { } & % # _ ~ ^`` are escaped; math segments are kept as LaTeX (arXiv titles carry
real LaTeX math) unless their braces do not balance, in which case they are escaped like
text. Non-ASCII is written as UTF-8 (biber and bibtex8 read it). ``unescape_bibtex``
inverts ``escape_bibtex`` exactly, which is how imports get titles back.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from paperfeed.models import Paper

ARXIV_ABS = "https://arxiv.org/abs/"

_TEXT_ESCAPES = {
    "\\": r"\textbackslash{}",
    "{": r"\{",
    "}": r"\}",
    "&": r"\&",
    "%": r"\%",
    "#": r"\#",
    "_": r"\_",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
}
_TEXT_SPECIAL = re.compile(r"[\\{}&%#_~^]")
_UNESCAPE = re.compile(
    r"\\textbackslash\{\}|\\textasciitilde\{\}|\\textasciicircum\{\}|\\[{}&%#_]"
)
_UNESCAPES = {v: k for k, v in _TEXT_ESCAPES.items()}
# $...$ with no unescaped $ inside; a lone $ is text.
_MATH = re.compile(r"(?<!\\)\$(?:[^$\\]|\\.)+?\$", re.DOTALL)
_PARTICLES = {"van", "von", "der", "den", "de", "del", "della", "di", "da", "du", "la", "le",
              "dos", "das", "ter", "ten", "bin", "al", "el", "y"}
_SUFFIXES = {"jr", "jr.", "sr", "sr.", "ii", "iii", "iv"}
# A plain personal name: letters (any script), marks, spaces, apostrophes, hyphens, dots.
_PLAIN_NAME = re.compile(r"^[^\W\d_][\w .'\u2019-]*$")


def _balanced(text: str) -> bool:
    depth = 0
    escaped = False
    for ch in text:
        if escaped:
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth < 0:
                return False
    return depth == 0


def _escape_text(text: str) -> str:
    return _TEXT_SPECIAL.sub(lambda m: _TEXT_ESCAPES[m.group()], text)


def escape_bibtex(text: str) -> str:
    """``text`` as the value of a braced BibTeX field (see the module docstring)."""
    parts: list[str] = []
    last = 0
    for match in _MATH.finditer(text):
        parts.append(_escape_text(text[last : match.start()]))
        math = match.group()
        # Kept verbatim only when BibTeX's brace counting and our inverse both survive it.
        verbatim = _balanced(math) and _UNESCAPE.search(math) is None
        parts.append(math if verbatim else _escape_text(math))
        last = match.end()
    parts.append(_escape_text(text[last:]))
    return "".join(parts)


def unescape_bibtex(value: str) -> str:
    """The inverse of ``escape_bibtex``."""
    return _UNESCAPE.sub(lambda m: _UNESCAPES[m.group()], value)


@dataclass(frozen=True, slots=True)
class PersonName:
    """A name split the way BibTeX and CSL want it; ``literal`` for names that cannot be
    split safely (organisations, names with symbols)."""

    given: str = ""
    family: str = ""
    suffix: str = ""
    literal: str = ""

    @property
    def display(self) -> str:
        if self.literal:
            return self.literal
        name = " ".join(p for p in (self.given, self.family) if p)
        return f"{name} {self.suffix}".strip() if self.suffix else name


def split_name(name: str) -> PersonName:
    """``"Johannes D. van der Waals"`` -> given ``Johannes D.``, family ``van der Waals``."""
    name = " ".join(name.split())
    if not name:
        return PersonName(literal="")
    if "," in name or not _PLAIN_NAME.match(name) or " and " in f" {name.lower()} ":
        return PersonName(literal=name)
    words = name.split(" ")
    suffix = ""
    if len(words) > 2 and words[-1].lower() in _SUFFIXES:
        suffix = words.pop()
    if len(words) == 1:
        return PersonName(family=words[0], suffix=suffix)
    start = len(words) - 1
    while start > 1 and words[start - 1].lower() in _PARTICLES:
        start -= 1
    return PersonName(given=" ".join(words[:start]), family=" ".join(words[start:]),
                      suffix=suffix)


def _bibtex_name(name: str) -> str:
    person = split_name(name)
    if person.literal:
        return "{" + escape_bibtex(person.literal) + "}"
    family = escape_bibtex(person.family)
    if " " in person.family:  # keep "van der Waals" one family name
        family = "{" + family + "}"
    parts = [family]
    if person.suffix:
        parts.append(escape_bibtex(person.suffix))
    if person.given:
        parts.append(escape_bibtex(person.given))
    return ", ".join(parts)


def paper_date(paper: Paper) -> dt.date | None:
    """When the paper appeared: v1 submission, else its announcement day, else the month
    its new-style arXiv id names (``2503.xxxxx`` -> March 2025)."""
    if paper.submitted_at is not None:
        return paper.submitted_at.date()
    if paper.announced_on is not None:
        return paper.announced_on
    match = re.match(r"^(\d{2})(\d{2})\.\d{4,5}$", paper.arxiv_id)
    if match and 1 <= int(match.group(2)) <= 12:
        return dt.date(2000 + int(match.group(1)), int(match.group(2)), 1)
    return None


def citation_key(paper: Paper) -> str:
    """``vaswani2017attention``-style key: first author's family name, year, first title
    word, ASCII only; the arXiv id when there is no author."""
    year = paper_date(paper)
    first = split_name(paper.authors[0].name) if paper.authors else None
    family = (first.family or first.literal) if first else ""
    words = [w for w in re.findall(r"[A-Za-z]+", _ascii(paper.title)) if len(w) > 3]
    key = _ascii(family).lower() + (str(year.year) if year else "") + \
        (words[0].lower() if words else "")
    key = re.sub(r"[^a-z0-9]", "", key)
    return key if family and key else "arxiv" + re.sub(r"[^0-9A-Za-z]", "", paper.arxiv_id)


def _ascii(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()


def to_bibtex(paper: Paper, *, key: str | None = None, note: str = "") -> str:
    """One BibTeX entry: ``@article`` when a journal reference is known, else ``@misc``
    with ``eprint`` / ``archivePrefix`` / ``primaryClass`` (arXiv's own convention); a
    reader's ``note`` goes in ``annote``."""
    fields: list[tuple[str, str]] = [("title", escape_bibtex(paper.title))]
    if paper.authors:
        fields.append(("author", " and ".join(_bibtex_name(a.name) for a in paper.authors)))
    date = paper_date(paper)
    if date is not None:
        fields += [("year", str(date.year)), ("month", str(date.month))]
    fields += [("eprint", paper.arxiv_id), ("archivePrefix", "arXiv")]
    primary = paper.primary_category or (paper.categories[0] if paper.categories else None)
    if primary:
        fields.append(("primaryClass", escape_bibtex(primary)))
    if paper.doi:
        fields.append(("doi", escape_bibtex(paper.doi)))
    if paper.journal_ref:
        fields.append(("journal", escape_bibtex(paper.journal_ref)))
    fields.append(("url", ARXIV_ABS + paper.arxiv_id))
    if note:
        fields.append(("annote", escape_bibtex(note)))
    kind = "article" if paper.journal_ref else "misc"
    body = ",\n".join(f"  {name} = {{{value}}}" for name, value in fields)
    return f"@{kind}{{{key or citation_key(paper)},\n{body}\n}}\n"


def bibtex_document(papers: Iterable[Paper], notes: Mapping[str, str] | None = None) -> str:
    """Several entries, with keys made unique (``…a``, ``…b`` suffixes) in order; ``notes``
    by arXiv id."""
    seen: dict[str, int] = {}
    entries = []
    for paper in papers:
        key = citation_key(paper)
        n = seen.get(key, 0)
        seen[key] = n + 1
        if n:
            key = f"{key}{chr(ord('a') + n - 1) if n <= 26 else n}"
        entries.append(to_bibtex(paper, key=key, note=(notes or {}).get(paper.arxiv_id, "")))
    return "\n".join(entries)


def _ris_name(name: str) -> str:
    person = split_name(name)
    if person.literal:
        return person.literal
    return ", ".join(p for p in (person.family, person.given, person.suffix) if p)


def _ris_clean(text: str) -> str:
    # RIS is line-based: a field value is one line.
    return " ".join(text.split())


def to_ris(paper: Paper, note: str = "") -> str:
    """One RIS record (``TY - JOUR`` with a journal reference, else ``UNPB``); ``note``
    in ``N1``."""
    lines = [("TY", "JOUR" if paper.journal_ref else "UNPB"), ("TI", _ris_clean(paper.title))]
    lines += [("AU", _ris_clean(_ris_name(a.name))) for a in paper.authors]
    date = paper_date(paper)
    if date is not None:
        lines += [("PY", str(date.year)), ("DA", date.strftime("%Y/%m/%d"))]
    if paper.abstract:
        lines.append(("AB", _ris_clean(paper.abstract)))
    if paper.journal_ref:
        lines.append(("JO", _ris_clean(paper.journal_ref)))
    if paper.doi:
        lines.append(("DO", _ris_clean(paper.doi)))
    lines += [("AN", f"arXiv:{paper.arxiv_id}"), ("PB", "arXiv")]
    lines += [("KW", c) for c in paper.categories]
    if note:
        lines.append(("N1", _ris_clean(note)))
    lines += [("UR", ARXIV_ABS + paper.arxiv_id), ("ER", "")]
    return "".join(f"{tag}  - {value}".rstrip() + "\n" for tag, value in lines)


def ris_document(papers: Iterable[Paper], notes: Mapping[str, str] | None = None) -> str:
    return "\n".join(to_ris(p, (notes or {}).get(p.arxiv_id, "")) for p in papers)


def to_csl(paper: Paper) -> dict[str, Any]:
    """One CSL-JSON item (CSL 1.0.2: ``type: article`` is a preprint)."""
    item: dict[str, Any] = {
        "id": f"arXiv:{paper.arxiv_id}",
        "type": "article-journal" if paper.journal_ref else "article",
        "title": paper.title,
        "author": [_csl_name(a.name) for a in paper.authors],
        "abstract": paper.abstract,
        "publisher": "arXiv",
        "number": paper.arxiv_id,
        "URL": ARXIV_ABS + paper.arxiv_id,
    }
    date = paper_date(paper)
    if date is not None:
        item["issued"] = {"date-parts": [[date.year, date.month, date.day]]}
    if paper.doi:
        item["DOI"] = paper.doi
    if paper.journal_ref:
        item["container-title"] = paper.journal_ref
    if paper.categories:
        item["keyword"] = ", ".join(paper.categories)
    return item


def _csl_name(name: str) -> dict[str, str]:
    person = split_name(name)
    if person.literal:
        return {"literal": person.literal}
    out = {"family": person.family, "given": person.given}
    if person.suffix:
        out["suffix"] = person.suffix
    return {k: v for k, v in out.items() if v}


def csl_json(papers: Sequence[Paper], notes: Mapping[str, str] | None = None) -> str:
    items = [to_csl(p) for p in papers]
    for item, paper in zip(items, papers, strict=True):
        if (notes or {}).get(paper.arxiv_id):
            item["note"] = (notes or {})[paper.arxiv_id]
    return json.dumps(items, ensure_ascii=False, indent=2)


@dataclass(slots=True)
class ImportedReference:
    """A reference read from an uploaded BibTeX or CSL-JSON file."""

    arxiv_id: str | None
    title: str
    authors: list[str] = field(default_factory=list)
    year: int | None = None
    note: str = ""


_ARXIV_IN_TEXT = re.compile(
    r"(?:arxiv[:/ ]|abs/|pdf/)\s*([0-9]{4}\.[0-9]{4,5}|[a-z-]+(?:\.[A-Z]{2})?/[0-9]{7})",
    re.IGNORECASE,
)
_BARE_ID = re.compile(r"^([0-9]{4}\.[0-9]{4,5}|[a-z-]+(?:\.[A-Z]{2})?/[0-9]{7})(v\d+)?$")


def _find_arxiv_id(*values: str) -> str | None:
    for value in values:
        value = value.strip()
        bare = _BARE_ID.match(value)
        if bare:
            return bare.group(1)
        found = _ARXIV_IN_TEXT.search(value)
        if found:
            return found.group(1)
    return None


def read_bibtex(text: str) -> tuple[list[ImportedReference], list[str]]:
    """References in a BibTeX file, and a message per block that could not be read.

    The arXiv id comes from ``eprint`` (with ``archivePrefix = arXiv``), ``url``, ``doi``
    (10.48550/arXiv.NNNN) or ``journal``/``note`` text mentioning ``arXiv:NNNN``."""
    import bibtexparser

    library = bibtexparser.parse_string(text)
    problems = [f"could not read block at line {(b.start_line or 0) + 1}"
                for b in library.failed_blocks]
    refs: list[ImportedReference] = []
    for entry in library.entries:
        values = {f.key.lower(): str(f.value) for f in entry.fields}
        arxiv_id = _find_arxiv_id(
            values.get("eprint", ""), values.get("url", ""),
            values.get("doi", "").replace("10.48550/arXiv.", "arXiv:"),
            values.get("journal", ""), values.get("note", ""), values.get("howpublished", ""),
        )
        authors = [_bibtex_display(a) for a in _split_authors(values.get("author", ""))]
        year = values.get("year", "")
        refs.append(ImportedReference(
            arxiv_id=arxiv_id,
            title=unescape_bibtex(values.get("title", "")).strip(),
            authors=authors,
            year=int(year) if year.isdigit() else None,
            note=unescape_bibtex(values.get("annote", values.get("note", ""))).strip(),
        ))
    return refs, problems


def _split_top_level(text: str, separator: str) -> list[str]:
    """``text`` split at ``separator`` (matched case-insensitively) outside braces, skipping
    backslash escapes: BibTeX's ``and`` between names, the commas inside one name."""
    parts, depth, start, i = [], 0, 0, 0
    width = len(separator)
    while i < len(text):
        ch = text[i]
        if ch == "\\":
            i += 2
            continue
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
        elif depth == 0 and text[i:i + width].lower() == separator:  # per slice: İ grows
            parts.append(text[start:i].strip())
            start = i = i + width
            continue
        i += 1
    parts.append(text[start:].strip())
    return parts


def _split_authors(field_value: str) -> list[str]:
    """BibTeX's ``and`` split, at brace depth 0 only."""
    return [n for n in _split_top_level(field_value, " and ") if n]


def _strip_group(text: str) -> str:
    text = text.strip()
    if text.startswith("{") and text.endswith("}") and _balanced(text[1:-1]):
        return text[1:-1]
    return text


def _bibtex_display(name: str) -> str:
    """A BibTeX name (``Family, Given`` / ``Family, Jr, Given`` / ``{Literal}``) as the
    display name ``Given Family Jr``."""
    name = name.strip()
    if name.startswith("{") and name.endswith("}") and _balanced(name[1:-1]):
        return unescape_bibtex(name[1:-1])
    parts = [unescape_bibtex(_strip_group(p)) for p in _split_top_level(name, ",")]
    if len(parts) == 1:
        return parts[0]
    if len(parts) == 2:
        return f"{parts[1]} {parts[0]}".strip()
    return f"{parts[2]} {parts[0]} {parts[1]}".strip()


def read_csl_json(text: str) -> tuple[list[ImportedReference], list[str]]:
    """References in a CSL-JSON array (what ``csl_json`` writes, Zotero's export too)."""
    try:
        items = json.loads(text)
    except json.JSONDecodeError as exc:
        return [], [f"not JSON: {exc.msg} at line {exc.lineno}"]
    if isinstance(items, dict):
        items = [items]
    if not isinstance(items, list):
        return [], ["expected a JSON array of CSL items"]
    refs, problems = [], []
    for n, item in enumerate(items, 1):
        if not isinstance(item, dict):
            problems.append(f"item {n}: not an object")
            continue
        authors = []
        for a in item.get("author") or []:
            if isinstance(a, dict):
                authors.append(str(a.get("literal") or
                                   " ".join(str(a[k]) for k in ("given", "family", "suffix")
                                            if a.get(k))))
        parts = ((item.get("issued") or {}).get("date-parts") or [[None]])[0]
        year = parts[0] if parts and isinstance(parts[0], int) else None
        refs.append(ImportedReference(
            arxiv_id=_find_arxiv_id(str(item.get("number", "")), str(item.get("id", "")),
                                    str(item.get("URL", "")),
                                    str(item.get("DOI", "")).replace("10.48550/arXiv.",
                                                                      "arXiv:")),
            title=str(item.get("title", "")),
            authors=authors,
            year=year,
            note=str(item.get("note", "")),
        ))
    return refs, problems
