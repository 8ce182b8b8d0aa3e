"""The text rules of domain/text_rules.py as pydantic constraints, so every request model
refuses what cannot be stored and the OpenAPI document says so, in the same words.

`Annotated[str, Text(200, required=True)]` is single-line text of 1 to 200 characters with a
visible character; the value arrives with its surrounding whitespace stripped."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Annotated, Any

from annotated_types import GroupedMetadata
from pydantic import AfterValidator, AwareDatetime, BeforeValidator, StringConstraints

from domain import text_rules as rules


def _strip(value: str) -> str:
    return value.strip()


@dataclass(frozen=True)
class Text(GroupedMetadata):
    """Free text of at most `max_length` characters, without control characters."""

    max_length: int
    required: bool = False
    multiline: bool = False

    def __iter__(self) -> Iterator[Any]:
        # A compiled pattern makes pydantic match with Python's `re`, as the JSON Schema
        # validators of clients and fuzzers do (the Rust engine differs on `$` before "\n").
        pattern = re.compile(rules.pattern_for(required=self.required, multiline=self.multiline))
        yield StringConstraints(max_length=self.max_length, pattern=pattern)
        yield AfterValidator(_strip)


@dataclass(frozen=True)
class Matching(GroupedMetadata):
    """Text matching `pattern` (a code, an id), matched as Text is, stripped likewise."""

    pattern: str
    max_length: int | None = None

    def __iter__(self) -> Iterator[Any]:
        yield StringConstraints(max_length=self.max_length, pattern=re.compile(self.pattern))
        yield AfterValidator(_strip)


_EXPLAINED = {
    rules.SINGLE_LINE: "must be one line of text without control characters (such as NUL)",
    rules.SINGLE_LINE_NOT_BLANK: "must be one line of text, not blank, without control "
                                 "characters (such as NUL)",
    rules.MULTI_LINE: "must be text without control characters other than newlines and tabs "
                      "(such as NUL)",
    rules.MULTI_LINE_NOT_BLANK: "must be text, not blank, without control characters other "
                                "than newlines and tabs (such as NUL)",
}


def error_message(error: Mapping[str, Any]) -> str:
    """pydantic's message for one error, in the text rules' words, naming a refused choice."""
    if error["type"] == "string_pattern_mismatch":
        pattern = error.get("ctx", {}).get("pattern")
        return _EXPLAINED.get(str(pattern), str(error["msg"]))
    if error["type"] == "value_error":
        return str(error["msg"]).removeprefix("Value error, ")
    if error["type"] in ("literal_error", "enum"):
        return f"{error['msg']}, not {error['input']!r}"
    return str(error["msg"])


_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")


def _rfc3339(value: Any) -> Any:
    # pydantic would also take a number (Unix seconds) or a date without a zone; the schema
    # promises an RFC 3339 date-time string, so that is all there is.
    if not (isinstance(value, str) and _RFC3339.match(value)):
        raise ValueError("must be an RFC 3339 date-time with a zone, e.g. 2025-03-01T09:30:00Z")
    return value


DateTime = Annotated[AwareDatetime, BeforeValidator(_rfc3339)]
Name = Annotated[str, Text(rules.MAX_NAME, required=True)]
OptionalName = Annotated[str, Text(rules.MAX_NAME)]
Reference = Annotated[str, Text(rules.MAX_REFERENCE)]
Reason = Annotated[str, Text(rules.MAX_REASON, required=True)]
OptionalReason = Annotated[str, Text(rules.MAX_REASON)]
Comment = Annotated[str, Text(rules.MAX_COMMENT, multiline=True)]
