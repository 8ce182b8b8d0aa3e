"""What free text may hold before it is stored or sent to a workflow: no control characters
(PostgreSQL cannot store NUL; the rest break logs, labels and terminals), newlines and tabs
only in multi-line text, and a length limit per kind of field."""

from __future__ import annotations

import re

from domain.errors import InvalidRequest

# C0 and C1 control characters and DEL. Patterns are written for both Python's `re` and
# ECMA-262, since they are published in the OpenAPI document as JSON Schema `pattern`s.
_CONTROL = r"\x00-\x1f\x7f-\x9f"
_CONTROL_BUT_LINE_BREAKS = r"\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f"
SINGLE_LINE = rf"^[^{_CONTROL}]*$"
MULTI_LINE = rf"^[^{_CONTROL_BUT_LINE_BREAKS}]*$"
# Not blank: spaces, then one visible character, then anything single-line.
SINGLE_LINE_NOT_BLANK = rf"^[^\S{_CONTROL}]*[^\s{_CONTROL}][^{_CONTROL}]*$"
MULTI_LINE_NOT_BLANK = (rf"^[^\S{_CONTROL_BUT_LINE_BREAKS}]*[^\s{_CONTROL}]"
                        rf"[^{_CONTROL_BUT_LINE_BREAKS}]*$")

# Length limits, in characters, by kind of field.
MAX_NAME = 200  # a person's or an address's name, an address line, a city
MAX_CODE = 64  # a SKU, warehouse, tracking number, order id
MAX_REFERENCE = 100  # a purchase order, a payment token
MAX_ACTOR = 100  # who did it: an API key's or agent's name
MAX_REASON = 500  # why support cancelled, refunded or rejected; a carrier's description
MAX_COMMENT = 2000  # a customer's or agent's multi-line comment


def pattern_for(*, required: bool, multiline: bool) -> str:
    """The regular expression a text field of this kind must match."""
    if multiline:
        return MULTI_LINE_NOT_BLANK if required else MULTI_LINE
    return SINGLE_LINE_NOT_BLANK if required else SINGLE_LINE


def text_problem(value: str, *, max_length: int, required: bool = False,
                 multiline: bool = False) -> str | None:
    """Why `value` cannot be stored as this kind of text, or None when it can."""
    if len(value) > max_length:
        return f"must be at most {max_length} characters, not {len(value)}"
    if not re.search(pattern_for(required=False, multiline=multiline), value):
        allowed = "other than newlines and tabs " if multiline else ""
        return f"must not contain control characters {allowed}(such as NUL)"
    if any("\ud800" <= char <= "\udfff" for char in value):
        return "must be valid Unicode text (it holds a lone surrogate)"
    if required and not value.strip():
        return "must not be blank"
    return None


def checked_text(field: str, value: str, *, max_length: int, required: bool = False,
                 multiline: bool = False) -> str:
    """`value` without surrounding whitespace; InvalidRequest naming `field` when it cannot
    be stored."""
    problem = text_problem(value, max_length=max_length, required=required, multiline=multiline)
    if problem is not None:
        raise InvalidRequest(field, problem)
    return value.strip()
