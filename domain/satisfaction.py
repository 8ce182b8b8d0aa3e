"""The satisfaction survey: one rating from 1 to 5 per order, while the survey is open."""

from __future__ import annotations

RATINGS = range(1, 6)
COMMENT_MAX = 2000


def rating_refusal(rating: int, comment: str, *, survey: str) -> str | None:
    """Why this rating is refused, or None. `survey` is not_sent | open | answered | expired."""
    if rating not in RATINGS:
        return f"rating must be between 1 and 5, not {rating}"
    if len(comment) > COMMENT_MAX:
        return f"comment is longer than {COMMENT_MAX} characters"
    if survey == "answered":
        return "this order has already been rated"
    if survey == "expired":
        return "the survey has expired"
    if survey != "open":
        return "no survey has been sent for this order yet"
    return None
