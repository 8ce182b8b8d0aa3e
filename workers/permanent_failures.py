"""The one place that tells a permanent activity failure from a transient one: every activity,
local ones included, runs through this interceptor, so a database error no retry can fix ends
the activity's retries with a typed, non-retryable ApplicationError instead of looping for
ever, while lost connections, serialization failures, deadlocks and timeouts still retry."""

from __future__ import annotations

from typing import Any

import psycopg
import structlog
from sqlalchemy import exc as sa_exc
from temporalio import activity
from temporalio.exceptions import ApplicationError
from temporalio.worker import ActivityInboundInterceptor, ExecuteActivityInput, Interceptor

from activities.errors import (
    CONSTRAINT_VIOLATION,
    DATABASE_PROGRAMMING_ERROR,
    PERMANENT_DATA_ERROR,
)

log = structlog.get_logger(__name__)

# A unique violation is usually a race with a concurrent writer that the next attempt reads
# as an idempotent duplicate; one still there after this many attempts is not a race.
DUPLICATE_RACE_ATTEMPTS = 3
MESSAGE_LIMIT = 500


def permanent_failure(error: BaseException, attempt: int = 1) -> ApplicationError | None:
    """The non-retryable error `error` amounts to, or None when retrying may still help."""
    cause = error.orig if isinstance(error, sa_exc.DBAPIError) else error
    error_type = _permanent_type(error, cause, attempt)
    if error_type is None:
        return None
    message = str(cause).splitlines()[0] if str(cause) else type(cause).__name__
    return ApplicationError(message[:MESSAGE_LIMIT], type(cause).__name__, type=error_type,
                            non_retryable=True)


def _permanent_type(error: BaseException, cause: BaseException | None,
                    attempt: int) -> str | None:
    if isinstance(cause, psycopg.OperationalError | psycopg.InterfaceError):
        return None  # connection lost, serialization failure, deadlock, statement timeout
    if isinstance(cause, psycopg.errors.UniqueViolation):
        return CONSTRAINT_VIOLATION if attempt >= DUPLICATE_RACE_ATTEMPTS else None
    if isinstance(cause, psycopg.DataError) or isinstance(error, sa_exc.DataError):
        return PERMANENT_DATA_ERROR
    if isinstance(cause, psycopg.IntegrityError) or isinstance(error, sa_exc.IntegrityError):
        return CONSTRAINT_VIOLATION
    if isinstance(cause, psycopg.ProgrammingError) or isinstance(error,
                                                                  sa_exc.ProgrammingError):
        return DATABASE_PROGRAMMING_ERROR
    if isinstance(error, sa_exc.StatementError) and not isinstance(error, sa_exc.DBAPIError):
        return PERMANENT_DATA_ERROR  # a parameter SQLAlchemy itself could not bind
    return None


class _StopRetryingPermanentFailures(ActivityInboundInterceptor):
    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        try:
            return await super().execute_activity(input)
        except ApplicationError:
            raise  # already classified by the activity
        except Exception as error:
            info = activity.info()
            permanent = permanent_failure(error, info.attempt)
            if permanent is None:
                raise
            log.error("activity.permanent_failure", error_type=permanent.type,
                      error=permanent.message, activity=info.activity_type,
                      attempt=info.attempt)
            raise permanent from error


class PermanentFailureInterceptor(Interceptor):
    """Turns an activity's permanent database failure into a non-retryable error."""

    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _StopRetryingPermanentFailures(next)
