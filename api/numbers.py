"""Whole numbers in request bodies, read as JSON Schema reads them: `7.0` is the integer 7,
while `"7"`, `true` and `7.5` are no integers at all."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from annotated_types import Ge, GroupedMetadata, Le
from pydantic import BeforeValidator, Strict


def _whole_float_as_int(value: Any) -> Any:
    # JSON Schema's "integer" includes 7.0; pydantic's strict int would refuse it. Anything
    # else is left for the strict check to refuse (strings, booleans, 7.5, inf, nan).
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


@dataclass(frozen=True)
class Whole(GroupedMetadata):
    """`Annotated[int, Whole(1, 1000)]`: an integer from `ge` to `le`."""

    ge: int
    le: int

    def __iter__(self) -> Iterator[Any]:
        yield Strict()
        yield Ge(self.ge)
        yield Le(self.le)
        yield BeforeValidator(_whole_float_as_int)  # wraps the above, so runs before them
