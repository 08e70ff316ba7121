"""Citations: BibTeX / RIS / CSL-JSON exports parse in real parsers (bibtexparser, rispy)
and give back title, authors in order and year, for every demo paper and hostile ones."""

from __future__ import annotations

import datetime as dt
import gzip
import json
from importlib import resources

import bibtexparser
import pytest
import rispy

from paperfeed.citations import (
    bibtex_document,
    citation_key,
    csl_json,
    escape_bibtex,
    read_bibtex,
    read_csl_json,
    ris_document,
    split_name,
    to_bibtex,
    to_csl,
    to_ris,
    unescape_bibtex,
)
from paperfeed.ingest.records import paper_from_json
from paperfeed.models import Author, Paper

HOSTILE = Paper(
    arxiv_id="2503.99999",
    title="Braces {x} } { & 100% $x<y$ <script>alert(1)</script> \u00e9t\u00e9 $\\alpha_{1}$"
          " a_b \\ # ~ ^ $ lone",
    abstract="We show $a & b$ and 50% more.\nSecond line.",
    authors=[Author("Zo\u00eb O'Brien & Co"), Author("Johannes D. van der Waals"),
             Author("Martin Luther King Jr."), Author("Plato"), Author("\u674e \u5a1c")],
    categories=["cs.CL", "cs.LG"],
    primary_category="cs.CL",
    journal_ref="Proc. A&B 2025, 1-10",
    doi="10.1000/x_y",
    submitted_at=dt.datetime(2025, 3, 21, 17, 0, tzinfo=dt.UTC),
)


def demo_papers() -> list[Paper]:
    data = resources.files("paperfeed") / "data" / "demo-listings.jsonl.gz"
    with gzip.open(str(data), "rt", encoding="utf-8") as f:
        return [paper_from_json(json.loads(line)) for line in f]


def ris_display(name: str) -> str:
    parts = [p.strip() for p in name.split(",")]
    if len(parts) == 2:
        return f"{parts[1]} {parts[0]}"
    if len(parts) == 3:
        return f"{parts[1]} {parts[0]} {parts[2]}"
    return name


def names(paper: Paper) -> list[str]:
    return [" ".join(a.name.split()) for a in paper.authors]


@pytest.mark.parametrize("text", [
    "plain", "{", "}", "}{", "a & b % c # d _ e ~ f ^ g \\ h", "$x<y$", "$\\frac{a}{b}$",
    "$unbalanced{$", "$\\{x\\}$", "$", "$$", "\\textbackslash{}", "\\&",
])
def test_escaping_is_reversible_and_balanced(text: str) -> None:
    escaped = escape_bibtex(text)
    assert unescape_bibtex(escaped) == text
    library = bibtexparser.parse_string(f"@misc{{k, title = {{{escaped}}}}}")
    assert not library.failed_blocks
    assert unescape_bibtex(library.entries[0]["title"]) == text


def test_hostile_paper_round_trips_through_bibtexparser() -> None:
    library = bibtexparser.parse_string(to_bibtex(HOSTILE))
    assert not library.failed_blocks
    entry = library.entries[0]
    assert entry.entry_type == "article"
    assert entry["eprint"] == "2503.99999"
    assert entry["archivePrefix"] == "arXiv"
    assert entry["primaryClass"] == "cs.CL"
    assert unescape_bibtex(entry["doi"]) == "10.1000/x_y"
    assert unescape_bibtex(entry["journal"]) == HOSTILE.journal_ref
    refs, problems = read_bibtex(to_bibtex(HOSTILE))
    assert problems == []
    assert refs[0].title == HOSTILE.title
    assert refs[0].authors == names(HOSTILE)
    assert refs[0].year == 2025
    assert refs[0].arxiv_id == "2503.99999"


def test_hostile_paper_round_trips_through_rispy() -> None:
    entry = rispy.loads(to_ris(HOSTILE))[0]
    assert entry["title"] == HOSTILE.title
    assert [ris_display(a) for a in entry["authors"]] == names(HOSTILE)
    assert entry["year"] == "2025"
    assert entry["type_of_reference"] == "JOUR"
    assert entry["doi"] == "10.1000/x_y"
    assert "\n" not in entry["abstract"]


def test_hostile_paper_round_trips_through_csl_json() -> None:
    item = to_csl(HOSTILE)
    assert item["author"][0] == {"literal": "Zo\u00eb O'Brien & Co"}
    assert item["author"][1] == {"family": "van der Waals", "given": "Johannes D."}
    assert item["issued"] == {"date-parts": [[2025, 3, 21]]}
    refs, problems = read_csl_json(csl_json([HOSTILE]))
    assert problems == []
    assert (refs[0].title, refs[0].authors, refs[0].year, refs[0].arxiv_id) == (
        HOSTILE.title, names(HOSTILE), 2025, "2503.99999")


def test_every_demo_paper_round_trips_in_bibtexparser_and_rispy() -> None:
    papers = demo_papers()
    assert len(papers) > 4000
    library = bibtexparser.parse_string(bibtex_document(papers))
    assert not library.failed_blocks
    assert len(library.entries) == len(papers)
    assert len({e.key for e in library.entries}) == len(papers)  # unique keys
    refs, problems = read_bibtex(bibtex_document(papers))
    assert problems == []
    ris = rispy.loads(ris_document(papers))
    assert len(ris) == len(papers)
    for paper, ref, entry in zip(papers, refs, ris, strict=True):
        title = " ".join(paper.title.split())
        assert (" ".join(ref.title.split()), ref.authors, ref.arxiv_id) == (
            title, names(paper), paper.arxiv_id)
        assert ref.year == paper.announced_on.year if paper.announced_on else True
        assert entry["title"] == title
        assert [ris_display(a) for a in entry["authors"]] == names(paper)
        assert entry["year"] == str(ref.year)


def test_names_split_as_bibliographies_expect() -> None:
    assert split_name("Ada Lovelace").family == "Lovelace"
    assert split_name("Ludwig van Beethoven").family == "van Beethoven"
    assert split_name("Martin Luther King Jr.").suffix == "Jr."
    assert split_name("DeepSeek-AI").family == "DeepSeek-AI"
    assert split_name("OpenAI & friends").literal == "OpenAI & friends"
    assert split_name("Anderson and Sons").literal  # " and " would split in BibTeX


def test_keys_are_ascii_and_unique_within_a_document() -> None:
    twin = Paper(**{**{f: getattr(HOSTILE, f) for f in HOSTILE.__slots__},
                    "arxiv_id": "2503.99998"})
    assert citation_key(HOSTILE).isascii()
    library = bibtexparser.parse_string(bibtex_document([HOSTILE, twin]))
    keys = [e.key for e in library.entries]
    assert len(set(keys)) == 2


def test_reading_bibtex_reports_broken_blocks_and_keeps_the_rest() -> None:
    text = to_bibtex(HOSTILE) + "\n@misc{broken, title = {unclosed\n\n" + \
        "@misc{ok, title={Other}, eprint={2401.00001}, year={2024}}\n"
    refs, problems = read_bibtex(text)
    assert [r.arxiv_id for r in refs] == ["2503.99999", "2401.00001"]
    assert len(problems) == 1 and problems[0].startswith("could not read block at line")
