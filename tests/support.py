"""Helpers the workflow, e2e and replay tests share: a seeded catalogue and checkouts."""

from __future__ import annotations

import copy
import uuid
from typing import Any

from activities.db.engine import SessionFactory
from api.catalogue import parse_seed, seed_catalogue

CATALOGUE: dict[str, Any] = {
    "warehouses": [
        {"code": "BER", "name": "Berlin", "country": "DE", "priority": 1},
        {"code": "HAM", "name": "Hamburg", "country": "DE", "priority": 2},
    ],
    "products": [
        {"sku": "TEE-BLK-M", "name": "T-shirt black M", "price": "19.99", "currency": "EUR"},
        {"sku": "TEE-BLK-L", "name": "T-shirt black L", "price": "19.99", "currency": "EUR"},
        {"sku": "MUG-LOGO", "name": "Mug with logo", "price": "9.50", "currency": "EUR"},
        {"sku": "CAP-NAVY", "name": "Cap navy", "price": "14.90", "currency": "EUR"},
    ],
    "stock": [
        {"sku": "TEE-BLK-M", "warehouse": "BER", "on_hand": 10},
        {"sku": "TEE-BLK-M", "warehouse": "HAM", "on_hand": 5},
        {"sku": "TEE-BLK-L", "warehouse": "BER", "on_hand": 3},
        {"sku": "MUG-LOGO", "warehouse": "BER", "on_hand": 100},
        {"sku": "CAP-NAVY", "warehouse": "HAM", "on_hand": 1},
    ],
}

CHECKOUT: dict[str, Any] = {
    "customer": {"id": "cus_42", "email": "ada@example.com", "name": "Ada Lovelace"},
    "currency": "EUR",
    "lines": [{"sku": "TEE-BLK-M", "quantity": 2}],
    "shipping": {"method": "standard",
                 "address": {"name": "Ada Lovelace", "line1": "Unter den Linden 1",
                             "city": "Berlin", "postal_code": "10117", "country": "DE"}},
    "payment": {"method": "card", "token": "tok_visa"},
}


async def seed(session_factory: SessionFactory) -> None:
    await seed_catalogue(session_factory, parse_seed(CATALOGUE))


def checkout(**changes: Any) -> dict[str, Any]:
    """The standard checkout with a fresh order id; keyword args replace top-level parts.
    `token=`, `postal_code=` and `lines=` are shortcuts for the nested fields."""
    body = copy.deepcopy(CHECKOUT)
    body["order_id"] = f"T-{uuid.uuid4().hex[:10]}"
    if "token" in changes:
        body["payment"]["token"] = changes.pop("token")
    if "method" in changes:
        body["payment"]["method"] = changes.pop("method")
    if "postal_code" in changes:
        body["shipping"]["address"]["postal_code"] = changes.pop("postal_code")
    body.update(changes)
    return body
