"""Reading human durations such as "30d", "2m" or "45s" from settings."""

from __future__ import annotations

from datetime import timedelta

import pytest

from domain.durations import parse_duration


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("45s", timedelta(seconds=45)),
        ("2m", timedelta(minutes=2)),
        ("6h", timedelta(hours=6)),
        ("30d", timedelta(days=30)),
        ("90d", timedelta(days=90)),
        ("0s", timedelta(0)),
        ("3600s", timedelta(hours=1)),
    ],
)
def test_a_number_with_a_unit_is_read_as_that_many_seconds_minutes_hours_or_days(
    text: str, expected: timedelta
) -> None:
    assert parse_duration(text) == expected


def test_a_bare_number_is_read_as_seconds() -> None:
    assert parse_duration("120") == timedelta(seconds=120)


@pytest.mark.parametrize(
    ("text", "expected"),
    [(" 30d ", timedelta(days=30)), ("30 d", timedelta(days=30)), ("\t2m\n", timedelta(minutes=2))],
)
def test_whitespace_around_the_number_and_unit_is_ignored(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


def test_m_means_minutes_not_months() -> None:
    assert parse_duration("2m") == timedelta(seconds=120)


@pytest.mark.parametrize(
    "text", ["", "   ", "d", "1.5h", "-5s", "+5s", "30D", "2w", "1h30m", "30dd", "thirty days"]
)
def test_anything_else_is_refused_with_examples_of_the_format(text: str) -> None:
    with pytest.raises(ValueError, match="is not a duration like 45s, 2m, 6h or 30d"):
        parse_duration(text)
