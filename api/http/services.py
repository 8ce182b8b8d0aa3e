"""What the HTTP API talks to: the order service and the API keys."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass

from api.api_keys import ApiKeyService
from api.orders import OrderService


@dataclass(frozen=True)
class ApiServices:
    orders: OrderService
    api_keys: ApiKeyService

    @classmethod
    def of(cls, orders: OrderService) -> ApiServices:
        return cls(orders, ApiKeyService(orders.session_factory))


# Opens the services when the app starts and closes them when it stops (the lifespan).
ServicesOpener = Callable[[], AbstractAsyncContextManager[ApiServices]]
