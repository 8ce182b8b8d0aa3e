"""Errors as RFC 9457 problem details (`application/problem+json`), with the offending field
named for validation errors, and nothing of the traceback for unexpected ones."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from api.orders import DuplicateOrder, OrderNotFound
from domain.errors import ActionRefused, DomainError, InvalidOrder

PROBLEM_JSON = "application/problem+json"
log = structlog.get_logger(__name__)


class InvalidField(Exception):
    """A request field the route itself found wrong (e.g. an amount that is no sum)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def problem(status: int, title: str, detail: str, *, type_: str = "about:blank",
            headers: Mapping[str, str] | None = None, **extra: Any) -> JSONResponse:
    body = {"type": type_, "title": title, "status": status, "detail": detail, **extra}
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def invalid(errors: list[dict[str, str]]) -> JSONResponse:
    detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
    return problem(422, "Invalid request", detail, type_="/problems/invalid-request",
                   errors=errors)


def field_path(location: tuple[int | str, ...] | list[int | str]) -> str:
    """`("body", "lines", 0, "sku")` → `lines[0].sku`; query and header fields keep their
    location (`query.limit`), body fields read as in the checkout's own errors."""
    parts = list(location)
    if parts[:1] == ["body"]:
        parts = parts[1:]
    path = ""
    for part in parts:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path or "body"


async def _invalid_order(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, InvalidOrder | InvalidField)
    return invalid([{"field": error.field, "message": error.message}])


async def _request_validation(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)
    return invalid([{"field": field_path(e["loc"]), "message": e["msg"]}
                    for e in error.errors()])


async def _duplicate(request: Request, error: Exception) -> JSONResponse:
    return problem(409, "Duplicate order", str(error), type_="/problems/duplicate-order")


async def _refused(request: Request, error: Exception) -> JSONResponse:
    return problem(409, "Action refused", str(error), type_="/problems/action-refused")


async def _not_found(request: Request, error: Exception) -> JSONResponse:
    return problem(404, "Order not found", str(error), type_="/problems/order-not-found")


async def _business_rule(request: Request, error: Exception) -> JSONResponse:
    return problem(422, "Business rule broken", str(error), type_="/problems/business-rule")


async def _http(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, HTTPException)
    title = {401: "Unauthorized", 403: "Forbidden", 404: "Not found",
             405: "Method not allowed"}.get(error.status_code, "HTTP error")
    return problem(error.status_code, title, str(error.detail), headers=error.headers)


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
    app.add_exception_handler(DomainError, _business_rule)  # any other business refusal
    app.add_exception_handler(HTTPException, _http)
    # Starlette answers with this handler, then re-raises so the server logs the error too.
    app.add_exception_handler(Exception, _unexpected)
