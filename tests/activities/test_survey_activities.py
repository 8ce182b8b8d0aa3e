"""Survey activities against real PostgreSQL: a survey is sent once, answered once with a
rating from 1 to 5, or expires unanswered; every activity is safe to repeat."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.exc import IntegrityError
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.db.engine import SessionFactory
from activities.db.survey_repository import Survey, SurveyRepository
from activities.surveys import RatingInput, SurveyActivities, SurveyInput, SurveyRef

SENT = datetime(2030, 5, 4, 10, 0, tzinfo=UTC)
EXPIRES = SENT + timedelta(days=14)
ANSWERED = SENT + timedelta(days=2)


@pytest.fixture
async def surveys(db: SessionFactory, activity_env: ActivityEnvironment) -> SurveyActivities:
    """An activity set with the survey of ORD-1 sent."""
    activities = SurveyActivities(db)
    await activity_env.run(activities.open_survey, SurveyInput("ORD-1", SENT, EXPIRES))
    return activities


async def stored(db: SessionFactory, order_id: str = "ORD-1") -> Survey | None:
    async with db() as session:
        return await SurveyRepository(session).get(order_id)


async def test_opening_a_survey_twice_keeps_the_first(
    db: SessionFactory, surveys: SurveyActivities, activity_env: ActivityEnvironment
) -> None:
    await activity_env.run(surveys.open_survey, SurveyInput("ORD-1", SENT + timedelta(hours=1),
                                                            EXPIRES + timedelta(hours=1)))

    assert await stored(db) == Survey("ORD-1", "sent", SENT, EXPIRES)


async def test_an_answer_is_recorded_with_its_rating_and_comment(
    db: SessionFactory, surveys: SurveyActivities, activity_env: ActivityEnvironment
) -> None:
    await activity_env.run(surveys.record_rating, RatingInput("ORD-1", 4, "quick", ANSWERED))

    assert await stored(db) == Survey("ORD-1", "answered", SENT, EXPIRES, 4, "quick", ANSWERED)


async def test_a_second_answer_changes_nothing(
    db: SessionFactory, surveys: SurveyActivities, activity_env: ActivityEnvironment
) -> None:
    await activity_env.run(surveys.record_rating, RatingInput("ORD-1", 5, "great", ANSWERED))

    await activity_env.run(surveys.record_rating,
                           RatingInput("ORD-1", 1, "changed my mind", ANSWERED + timedelta(days=1)))

    assert await stored(db) == Survey("ORD-1", "answered", SENT, EXPIRES, 5, "great", ANSWERED)


async def test_an_unanswered_survey_expires_once(
    db: SessionFactory, surveys: SurveyActivities, activity_env: ActivityEnvironment
) -> None:
    await activity_env.run(surveys.expire_survey, SurveyRef("ORD-1", EXPIRES))
    await activity_env.run(surveys.expire_survey, SurveyRef("ORD-1", EXPIRES))

    assert await stored(db) == Survey("ORD-1", "expired", SENT, EXPIRES)


async def test_an_answer_after_expiry_is_ignored(
    db: SessionFactory, surveys: SurveyActivities, activity_env: ActivityEnvironment
) -> None:
    await activity_env.run(surveys.expire_survey, SurveyRef("ORD-1", EXPIRES))

    await activity_env.run(surveys.record_rating,
                           RatingInput("ORD-1", 3, "late", EXPIRES + timedelta(hours=1)))

    assert await stored(db) == Survey("ORD-1", "expired", SENT, EXPIRES)


async def test_expiring_an_answered_survey_keeps_the_answer(
    db: SessionFactory, surveys: SurveyActivities, activity_env: ActivityEnvironment
) -> None:
    await activity_env.run(surveys.record_rating, RatingInput("ORD-1", 2, "", ANSWERED))

    await activity_env.run(surveys.expire_survey, SurveyRef("ORD-1", EXPIRES))

    assert await stored(db) == Survey("ORD-1", "answered", SENT, EXPIRES, 2, "", ANSWERED)


@pytest.mark.parametrize("rating", [0, 6, -1])
async def test_a_rating_outside_one_to_five_is_refused_and_the_survey_stays_open(
    db: SessionFactory, surveys: SurveyActivities, activity_env: ActivityEnvironment,
    rating: int,
) -> None:
    with pytest.raises(ApplicationError) as failure:
        await activity_env.run(surveys.record_rating, RatingInput("ORD-1", rating, "", ANSWERED))

    assert (failure.value.type, failure.value.non_retryable) == ("InvalidRating", True)
    assert await stored(db) == Survey("ORD-1", "sent", SENT, EXPIRES)


async def test_the_database_itself_refuses_a_rating_outside_one_to_five(
    db: SessionFactory, surveys: SurveyActivities
) -> None:
    with pytest.raises(IntegrityError, match="rating_in_range"):
        async with db.begin() as session:
            await SurveyRepository(session).answer("ORD-1", 7, "", ANSWERED)

    assert await stored(db) == Survey("ORD-1", "sent", SENT, EXPIRES)


@pytest.mark.parametrize("call", ["rate", "expire"])
async def test_a_survey_never_sent_is_refused(
    db: SessionFactory, surveys: SurveyActivities, activity_env: ActivityEnvironment, call: str
) -> None:
    with pytest.raises(ApplicationError) as failure:
        if call == "rate":
            await activity_env.run(surveys.record_rating, RatingInput("ORD-9", 5, "", ANSWERED))
        else:
            await activity_env.run(surveys.expire_survey, SurveyRef("ORD-9", EXPIRES))

    assert (failure.value.type, failure.value.non_retryable) == ("UnknownSurvey", True)
    assert await stored(db, "ORD-9") is None
