"""The client turns every non-2xx answer into the exception a storefront can act on, whether
the API answered with problem details or a proxy in between answered with anything."""

from __future__ import annotations

import httpx

from client import (
    FieldError,
    FulfilError,
    InvalidOrder,
    NotAuthorized,
    NotFound,
    OrderRefused,
    ServerError,
)
from client.errors import error_from_response


def problem(status: int, **body: object) -> httpx.Response:
    return httpx.Response(status, json=body, headers={"content-type": "application/problem+json"})


def test_a_409_is_order_refused_with_the_reason():
    error = error_from_response(problem(409, title="Action refused",
                                        detail="order 'A-1' is already SHIPPED"))
    assert isinstance(error, OrderRefused)
    assert error.reason == "order 'A-1' is already SHIPPED"


def test_a_422_is_invalid_order_with_every_field_path():
    error = error_from_response(problem(
        422, title="Invalid request", detail="…",
        errors=[{"field": "lines[0].sku", "message": "unknown SKU 'NOPE'"},
                {"field": "currency", "message": "must be 3 capitals"}]))
    assert isinstance(error, InvalidOrder)
    assert error.errors == [FieldError("lines[0].sku", "unknown SKU 'NOPE'"),
                            FieldError("currency", "must be 3 capitals")]


def test_a_422_without_field_list_still_carries_its_detail():
    error = error_from_response(problem(422, title="Business rule broken", detail="too big"))
    assert isinstance(error, InvalidOrder)
    assert error.errors == [FieldError("", "too big")]


def test_401_and_403_are_not_authorized_and_404_not_found():
    assert isinstance(error_from_response(problem(401, title="Unauthorized")), NotAuthorized)
    assert isinstance(error_from_response(problem(403, title="Forbidden")), NotAuthorized)
    assert isinstance(error_from_response(problem(404, title="Order not found")), NotFound)


def test_a_proxys_html_502_is_a_server_error_with_its_text():
    error = error_from_response(httpx.Response(502, text="<html>Bad Gateway</html>"))
    assert isinstance(error, ServerError)
    assert (error.status, error.title, error.detail) == (502, "Bad Gateway",
                                                         "<html>Bad Gateway</html>")


def test_any_other_client_error_is_a_fulfil_error():
    error = error_from_response(problem(405, title="Method not allowed", detail="GET only"))
    assert type(error) is FulfilError
    assert str(error) == "405 Method not allowed: GET only"
