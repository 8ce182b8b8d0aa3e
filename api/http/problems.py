"""Errors as RFC 9457 problem details (`application/problem+json`), with every offending field
named for validation errors, and nothing of the traceback for unexpected ones."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException

from api.asks import StillWorking
from api.checkout import InvalidCheckout, field_errors
from api.orders import DuplicateOrder, OrderNotFound
from api.text import error_message
from domain.errors import ActionRefused, DomainError, InvalidOrder, InvalidRequest

PROBLEM_JSON = "application/problem+json"
INVALID_REQUEST = "/problems/invalid-request"  # the request breaks the documented schema
NOT_IN_CATALOGUE = "/problems/not-in-catalogue"
BUSINESS_RULE = "/problems/business-rule"
# Refusals of requests the documented schema allows: the rule depends on the server's state
# (its catalogue, clock, issued cursors) or spans several fields, which no schema can state.
BEYOND_THE_SCHEMA = frozenset({NOT_IN_CATALOGUE, BUSINESS_RULE})
log = structlog.get_logger(__name__)


class ProblemField(BaseModel):
    field: str = Field(examples=["lines[0].quantity"])
    message: str


class Problem(BaseModel):
    """An RFC 9457 problem; `errors` lists every bad field of a 422."""

    type: str
    title: str
    status: int
    detail: str
    errors: list[ProblemField] = Field(default_factory=list)


class UnknownResource(Exception):
    """A resource a request names that does not exist (a SKU, a warehouse): 404."""

    def __init__(self, title: str, detail: str) -> None:
        super().__init__(detail)
        self.title = title


_WHY = {
    401: "No API key, or an unknown or revoked one.",
    403: "The key's role lacks the right.",
    404: "No such order.",
    409: "The order's state refuses the action, with the reason.",
    422: "Bad input: every offending field with its path in `errors`.",
    504: "The order took the request but has not answered in time; it still acts on it, and "
         "its timeline shows the outcome. Do not send it again.",
}


def problem_responses(*statuses: int, why: Mapping[int, str] | None = None
                      ) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` for these refusals, as problem+json; `why` rewords descriptions."""
    described = {**_WHY, **(why or {})}
    return {status: {
        "description": described[status],
        "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
    } for status in statuses}


class InvalidField(Exception):
    """A request field the route itself found wrong (e.g. an amount that is no sum)."""

    def __init__(self, field: str, message: str, *, kind: str = INVALID_REQUEST) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message
        self.kind = kind  # BUSINESS_RULE when the field is well formed but the state refuses it


def problem(status: int, title: str, detail: str, *, type_: str = "about:blank",
            headers: Mapping[str, str] | None = None, **extra: Any) -> JSONResponse:
    body = {"type": type_, "title": title, "status": status, "detail": detail, **extra}
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def invalid(errors: list[dict[str, str]]) -> JSONResponse:
    detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
    return problem(422, "Invalid request", detail, type_=INVALID_REQUEST, errors=errors)


def field_path(location: tuple[int | str, ...] | list[int | str]) -> str:
    """`("body", "lines", 0, "sku")` → `lines[0].sku`; query and header fields keep their
    location (`query.limit`), body fields read as in the checkout's own errors."""
    parts = list(location)
    if parts[:1] == ["body"]:
        parts = parts[1:]
    # A union's branch (a model's name, or a tag such as OTHER) is no field of the request.
    parts = [part for part in parts if not (isinstance(part, str) and part[:1].isupper())]
    path = ""
    for part in parts:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path or "body"


async def _invalid_order(request: Request, error: Exception) -> JSONResponse:
    if isinstance(error, InvalidCheckout | InvalidRequest):
        return invalid([{"field": e.field, "message": e.message} for e in field_errors(error)])
    if isinstance(error, InvalidOrder):
        # Well formed, but the catalogue refuses it (an unknown SKU, another currency): the
        # schema cannot list the catalogue, so this is not an invalid request.
        errors = [{"field": e.field, "message": e.message} for e in field_errors(error)]
        return problem(422, "Refused by the catalogue", str(error),
                       type_=NOT_IN_CATALOGUE, errors=errors)
    assert isinstance(error, InvalidField)
    if error.kind != INVALID_REQUEST:
        return problem(422, "Business rule broken", str(error), type_=error.kind,
                       errors=[{"field": error.field, "message": error.message}])
    return invalid([{"field": error.field, "message": error.message}])


def _validation_error(error: Mapping[str, Any]) -> dict[str, str]:
    if error["type"] == "json_invalid":  # located at a character offset, not a field
        return {"field": "body", "message": f"malformed JSON: {error['ctx']['error']}"}
    location = list(error["loc"])
    if error["type"] in ("union_tag_invalid", "union_tag_not_found", "invalid_decision"):
        location.append(str(error["ctx"]["discriminator"]).strip("'"))
    return {"field": field_path(location), "message": error_message(error)}


async def _request_validation(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)
    return invalid([_validation_error(e) for e in error.errors()])


async def _duplicate(request: Request, error: Exception) -> JSONResponse:
    return problem(409, "Duplicate order", str(error), type_="/problems/duplicate-order")


async def _refused(request: Request, error: Exception) -> JSONResponse:
    return problem(409, "Action refused", str(error), type_="/problems/action-refused")


async def _not_found(request: Request, error: Exception) -> JSONResponse:
    return problem(404, "Order not found", str(error), type_="/problems/order-not-found")


async def _unknown(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, UnknownResource)
    return problem(404, error.title, str(error), type_="/problems/not-found")


async def _business_rule(request: Request, error: Exception) -> JSONResponse:
    return problem(422, "Business rule broken", str(error), type_=BUSINESS_RULE)


async def _http(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, HTTPException)
    if error.status_code == 400:
        # FastAPI's answer to a JSON body it cannot decode (not UTF-8): named like the
        # checkout's malformed JSON, so clients handle one kind of bad input.
        return invalid([{"field": "body", "message": f"malformed JSON: {error.detail}"}])
    title = {401: "Unauthorized", 403: "Forbidden", 404: "Not found",
             405: "Method not allowed"}.get(error.status_code, "HTTP error")
    headers = error.headers
    if error.status_code == 405:
        headers = {**(headers or {}), "Allow": _allowed_methods(request)}
    return problem(error.status_code, title, str(error.detail), headers=headers)


def _allowed_methods(request: Request) -> str:
    """Every method some route serves on this path (Starlette names only the first route's)."""
    path = request.url.path
    methods = {method for route in request.app.routes if isinstance(route, APIRoute)
               and route.path_regex.match(path) for method in route.methods or ()}
    return ", ".join(sorted(methods))


async def _still_working(request: Request, error: Exception) -> JSONResponse:
    return problem(504, "Order still working", str(error), type_="/problems/still-working")


async def _unexpected(request: Request, error: Exception) -> JSONResponse:
    log.error("http.unexpected_error", method=request.method, path=request.url.path,
              error_type=type(error).__name__)
    return problem(500, "Internal server error", "the server could not handle the request",
                   type_="/problems/internal")


def install_problem_handlers(app: FastAPI) -> None:
    app.add_exception_handler(InvalidOrder, _invalid_order)
    app.add_exception_handler(InvalidField, _invalid_order)
    app.add_exception_handler(RequestValidationError, _request_validation)
    app.add_exception_handler(DuplicateOrder, _duplicate)  # the most specific class wins
    app.add_exception_handler(ActionRefused, _refused)
    app.add_exception_handler(OrderNotFound, _not_found)
    app.add_exception_handler(UnknownResource, _unknown)
    app.add_exception_handler(DomainError, _business_rule)  # any other business refusal
    app.add_exception_handler(HTTPException, _http)
    app.add_exception_handler(StillWorking, _still_working)
    # Starlette answers with this handler, then re-raises so the server logs the error too.
    app.add_exception_handler(Exception, _unexpected)
