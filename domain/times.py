"""Points in time as people type them: ISO dates and date-times, always ending up in UTC."""

from __future__ import annotations

from datetime import UTC, datetime


def parse_utc(text: str) -> datetime:
    """An ISO date or date-time in UTC: one without a zone is UTC, one with is converted.
    Raises ValueError for anything else."""
    when = datetime.fromisoformat(text.strip())
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)
