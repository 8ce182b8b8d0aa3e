"""Activities of the satisfaction survey sent after delivery: open it, record the one answer,
expire it unanswered. Each is safe to retry."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import structlog
from temporalio import activity

from activities.db.engine import SessionFactory
from activities.db.survey_repository import SurveyRepository
from activities.errors import business_failure
from domain.satisfaction import RATINGS

log = structlog.get_logger(__name__)

UNKNOWN_SURVEY = "UnknownSurvey"
INVALID_RATING = "InvalidRating"


@dataclass(frozen=True)
class SurveyInput:
    order_id: str
    sent_at: datetime
    expires_at: datetime


@dataclass(frozen=True)
class RatingInput:
    order_id: str
    rating: int  # 1 (worst) to 5 (best)
    comment: str
    at: datetime


@dataclass(frozen=True)
class SurveyRef:
    order_id: str
    at: datetime


class SurveyActivities:
    def __init__(self, session_factory: SessionFactory) -> None:
        self.session_factory = session_factory

    @activity.defn(name="open_survey")
    async def open_survey(self, input: SurveyInput) -> None:
        """Records the survey as sent, once."""
        async with self.session_factory.begin() as session:
            opened = await SurveyRepository(session).open(input.order_id, input.sent_at,
                                                          input.expires_at)
        if opened:
            log.info("survey.opened", expires_at=input.expires_at.isoformat())

    @activity.defn(name="record_rating")
    async def record_rating(self, input: RatingInput) -> None:
        """Stores the customer's rating; a survey already answered or expired keeps its state."""
        # The table refuses other ratings too, but as an error a retry would repeat forever.
        if input.rating not in RATINGS:
            raise business_failure(INVALID_RATING, f"rating: {input.rating} is not 1 to 5")
        async with self.session_factory.begin() as session:
            surveys = SurveyRepository(session)
            answered = await surveys.answer(input.order_id, input.rating, input.comment,
                                            input.at)
            survey = await surveys.get(input.order_id)
        if survey is None:
            raise business_failure(UNKNOWN_SURVEY, f"no survey for order {input.order_id!r}")
        if answered:
            log.info("survey.answered", rating=input.rating, has_comment=bool(input.comment))
        else:
            log.info("survey.answer_ignored", status=survey.status)

    @activity.defn(name="expire_survey")
    async def expire_survey(self, input: SurveyRef) -> None:
        """Closes the survey unanswered; one answered (or expired) already is left as it is."""
        async with self.session_factory.begin() as session:
            surveys = SurveyRepository(session)
            expired = await surveys.expire(input.order_id)
            survey = await surveys.get(input.order_id)
        if survey is None:
            raise business_failure(UNKNOWN_SURVEY, f"no survey for order {input.order_id!r}")
        if expired:
            log.info("survey.expired", at=input.at.isoformat())
