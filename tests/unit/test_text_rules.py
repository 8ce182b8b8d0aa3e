"""The text rules: no control characters (newlines and tabs only in multi-line text), a length
limit, not blank where required; and the request types that publish them agree with them."""

from __future__ import annotations

import re
from typing import get_args

import pytest
from pydantic import BaseModel, ValidationError

from api.checkout import PaymentMethod
from api.http.routes_aftercare import ListedReason
from api.text import Comment, Name, OptionalName
from domain.catalogue import PAYMENT_METHODS
from domain.errors import InvalidRequest
from domain.order import RequestedLine, merged_lines
from domain.returns import ReturnReason
from domain.text_rules import checked_text, pattern_for, text_problem


@pytest.mark.parametrize("value", ["a\x00b", "a\x07", "\x1b[2J", "a\x7f", "a\x85", "a\nb", "a\tb"])
def test_single_line_text_refuses_control_characters(value: str):
    assert "control characters" in str(text_problem(value, max_length=50))


@pytest.mark.parametrize("value", ["line one\nline two", "a\tb", "crlf\r\nline"])
def test_multi_line_text_keeps_newlines_and_tabs(value: str):
    assert text_problem(value, max_length=50, multiline=True) is None


def test_multi_line_text_still_refuses_nul():
    assert text_problem("a\n\x00", max_length=50, multiline=True) is not None


def test_text_longer_than_its_limit_is_refused_saying_how_long():
    assert text_problem("x" * 11, max_length=10) == "must be at most 10 characters, not 11"


def test_required_text_must_not_be_blank():
    with pytest.raises(InvalidRequest) as blank:
        checked_text("reason", " \t ", max_length=10, required=True, multiline=True)
    assert (blank.value.field, blank.value.message) == ("reason", "must not be blank")


def test_a_lone_surrogate_is_refused():
    assert text_problem("a\ud800", max_length=10) is not None


def test_checked_text_strips_surrounding_whitespace():
    assert checked_text("name", "  Ada Lovelace ", max_length=50) == "Ada Lovelace"


class Sample(BaseModel):
    name: Name
    line2: OptionalName = ""
    comment: Comment = ""


@pytest.mark.parametrize("value", ["Ada", " Ada ", "Zoë Ñ 漢字", "Ada\n"])
def test_the_pydantic_types_accept_what_the_rules_accept(value: str):
    assert Sample(name=value).name == value.strip()
    assert text_problem(value, max_length=200, required=True) is None


@pytest.mark.parametrize("value", ["", " ", "A\x00da", "Ada\x1b", "x" * 201, "\n"])
def test_the_pydantic_types_refuse_what_the_rules_refuse(value: str):
    with pytest.raises(ValidationError):
        Sample(name=value)
    assert text_problem(value, max_length=200, required=True) is not None


def test_the_published_patterns_are_the_rules_patterns():
    schema = Sample.model_json_schema()["properties"]
    assert schema["name"]["pattern"] == pattern_for(required=True, multiline=False)
    assert schema["line2"]["pattern"] == pattern_for(required=False, multiline=False)
    assert schema["comment"]["pattern"] == pattern_for(required=False, multiline=True)
    for pattern in (schema["name"]["pattern"], schema["comment"]["pattern"]):
        re.compile(pattern)


def test_the_payment_methods_of_the_schema_are_the_catalogues():
    assert set(get_args(PaymentMethod)) == PAYMENT_METHODS


def test_the_listed_return_reasons_are_every_reason_but_other():
    assert set(get_args(ListedReason)) == {r.value for r in ReturnReason} - {"OTHER"}


def test_lines_naming_the_same_sku_are_merged_in_first_appearance_order():
    lines = (RequestedLine("TEE", 1), RequestedLine("MUG", 2), RequestedLine("TEE", 3))
    assert merged_lines(lines) == (RequestedLine("TEE", 4), RequestedLine("MUG", 2))
