"""The API's problem+json answers as exceptions a storefront can catch by what went wrong."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx


@dataclass(frozen=True)
class FieldError:
    field: str  # a path into the request, e.g. `lines[0].sku` or `header.Idempotency-Key`
    message: str


class FulfilError(Exception):
    """Any refusal or failure of the fulfil API, with its RFC 9457 problem details."""

    def __init__(self, status: int, title: str, detail: str, problem: dict[str, Any]) -> None:
        super().__init__(f"{status} {title}: {detail}" if detail else f"{status} {title}")
        self.status = status
        self.title = title
        self.detail = detail
        self.problem = problem


class NotAuthorized(FulfilError):
    """401: no key, or an unknown or revoked one; 403: the key's role may not do this."""


class NotFound(FulfilError):
    """404: no such order (or path)."""


class OrderRefused(FulfilError):
    """409: the order refused the action; `reason` says why (shipped already, over-refund,
    the order id was placed before with another body)."""

    @property
    def reason(self) -> str:
        return self.detail


class InvalidOrder(FulfilError):
    """422: the request broke a rule; `errors` names each offending field."""

    @property
    def errors(self) -> list[FieldError]:
        found = self.problem.get("errors")
        if not isinstance(found, list):
            return [FieldError("", self.detail)]
        return [FieldError(str(e.get("field", "")), str(e.get("message", "")))
                for e in found if isinstance(e, dict)]


class ServerError(FulfilError):
    """5xx: the server failed (retried first where the call is safe to repeat)."""


class Unreachable(FulfilError):
    """No answer at all: the connection failed or timed out (retried first where safe)."""

    def __init__(self, error: httpx.TransportError) -> None:
        super().__init__(0, "Unreachable", f"{type(error).__name__}: {error}", {})


_BY_STATUS: dict[int, type[FulfilError]] = {
    401: NotAuthorized, 403: NotAuthorized, 404: NotFound, 409: OrderRefused, 422: InvalidOrder,
}


def error_from_response(response: httpx.Response) -> FulfilError:
    """The exception for a non-2xx answer, from its problem details when it has them (a proxy
    in between may answer with anything)."""
    problem = _problem(response)
    kind = _BY_STATUS.get(response.status_code,
                          ServerError if response.status_code >= 500 else FulfilError)
    title = str(problem.get("title") or response.reason_phrase or "HTTP error")
    detail = str(problem.get("detail") or ("" if problem else response.text[:500]))
    return kind(response.status_code, title, detail, problem)


def _problem(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}
