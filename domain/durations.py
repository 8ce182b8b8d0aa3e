"""Reads human durations such as "30d", "2m" or "45s"."""

from __future__ import annotations

import re
from datetime import timedelta

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_PATTERN = re.compile(r"^\s*(\d+)\s*([smhd]?)\s*$")


def parse_duration(text: str) -> timedelta:
    match = _PATTERN.match(text)
    if match is None:
        raise ValueError(f"{text!r} is not a duration like 45s, 2m, 6h or 30d")
    number, unit = match.groups()
    return timedelta(seconds=int(number) * _UNITS[unit or "s"])
