"""The query language parser: words, phrases, exclusions, fields, pasted ids; never fails."""

from __future__ import annotations

import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st

from paperfeed.index.postgres_backend import tsquery_expression
from paperfeed.index.sqlite_backend import fts5_expression
from paperfeed.index.text import match_stages
from paperfeed.rank.query import MAX_QUERY_CHARS, MAX_TERMS, parse_query


def test_words_phrases_exclusions_and_fields():
    q = parse_query('hubness cross-modal "image captioning" -survey -"a review" '
                    'author:"Yann LeCun" cat:cs.CV year:2025')
    assert q.terms == ["hubness", "cross", "modal"]
    assert q.phrases == [["image", "captioning"]]
    assert q.excluded == [["survey"], ["a", "review"]]
    assert q.authors == ["yann lecun"]
    assert q.categories == ["cs.CV"]
    assert (q.date_from, q.date_to) == (dt.date(2025, 1, 1), dt.date(2025, 12, 31))
    assert q.text == 'hubness cross modal "image captioning"'


def test_before_and_after_are_exclusive_and_accept_months_and_days():
    q = parse_query("x before:2026-03 after:2025-06-15")
    assert q.date_from == dt.date(2025, 6, 16)
    assert q.date_to == dt.date(2026, 2, 28)


def test_bad_field_values_become_warnings():
    q = parse_query("year:20x5 before:2025-13-01 cat:!! words")
    assert q.terms == ["words"] and q.date_from is None and q.date_to is None
    assert len(q.warnings) == 3


def test_pasted_ids_and_urls():
    for text, expected in [
        ("2503.11731", "2503.11731"), ("2503.11731v3", "2503.11731"),
        ("arXiv:2503.11731", "2503.11731"), ("https://arxiv.org/abs/2503.11731v2", "2503.11731"),
        ("https://arxiv.org/pdf/2503.11731v2.pdf", "2503.11731"),
        ("https://huggingface.co/papers/2503.11731", "2503.11731"),
        ("hep-th/9901001", "hep-th/9901001"), ("diffusion models", None),
        ("2503.11731 diffusion", None),
    ]:
        assert parse_query(text).arxiv_id == expected, text


def test_engine_operators_are_just_words():
    q = parse_query('NEAR( a OR OR b AND * "c')
    assert q.terms == ["near", "a", "or", "b", "and", "c"]
    assert q.phrases == [] and q.excluded == []
    assert parse_query('"c').terms == ["c"]


def test_long_input_is_cut():
    q = parse_query("word " * 5000)
    assert q.warnings and len(q.text) <= MAX_QUERY_CHARS
    q = parse_query(" ".join(f"w{i}" for i in range(500)))
    assert len(q.terms) <= MAX_TERMS


def test_expressions_quote_every_word():
    assert fts5_expression(["cat", "dog"], [], []) == '("cat" OR "dog")'
    assert fts5_expression(["the", "cat"], [["x", "y"]], [["z"]]) == \
        '"x y" AND ("cat" OR "x y") NOT ("z")'
    assert tsquery_expression(["cat"], [["x", "y"]], [["z"]]) == \
        "('x' <-> 'y') & (('cat') | ('x' <-> 'y')) & !(('z'))"
    assert fts5_expression([], [], [["z"]]) is None
    assert fts5_expression(["cat", "dog", "eel"], [], [], at_least=2) == \
        '(("cat" AND "dog") OR ("cat" AND "eel") OR ("dog" AND "eel"))'
    assert fts5_expression(["cat", "dog"], [], [], at_least=2) == '(("cat" AND "dog"))'
    assert match_stages(["cat", "dog", "eel"]) == [3, 1]
    assert match_stages(["the", "cat"]) == [1]
    assert fts5_expression(["the", "of"], [], []) == '("the" OR "of")'  # all stopwords: kept


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_parser_never_fails_and_output_is_clean(text):
    q = parse_query(text)
    words = q.terms + [w for p in q.phrases + q.excluded for w in p]
    assert all(w and w.isalnum() and w == w.lower() for w in words)
    assert len(q.text) <= MAX_QUERY_CHARS
    if q.date_from and q.date_to:
        assert isinstance(q.date_from, dt.date)
    for build in (fts5_expression, tsquery_expression):
        expr = build(q.terms, q.phrases, q.excluded)
        assert expr is None or isinstance(expr, str)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(['"', "-", "*", "(", ")", ":", "author:", "cat:", "year:",
                                 "before:", "after:", "NEAR", "OR", "x", "日本", "😀", " ", "'",
                                 "2503.11731", "\\"]), max_size=20).map("".join))
def test_parser_never_fails_on_operator_soup(text):
    parse_query(text)


def test_dates_at_the_ends_of_the_calendar_do_not_overflow() -> None:
    assert parse_query("after:9999-12-31 x").date_from == dt.date.max
    assert parse_query("before:0001-01-01 y").date_to == dt.date.min
    assert parse_query("year:9999").date_to == dt.date(9999, 12, 31)
