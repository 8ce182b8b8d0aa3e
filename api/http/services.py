"""What the HTTP API talks to: the order and stock services and the API keys."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass

from api.api_keys import ApiKeyService
from api.orders import OrderService
from api.stock import StockService


@dataclass(frozen=True)
class ApiServices:
    orders: OrderService
    api_keys: ApiKeyService
    stock: StockService

    @classmethod
    def of(cls, orders: OrderService) -> ApiServices:
        factory = orders.session_factory
        return cls(orders, ApiKeyService(factory), StockService(factory, orders.client))


# Opens the services when the app starts and closes them when it stops (the lifespan).
ServicesOpener = Callable[[], AbstractAsyncContextManager[ApiServices]]
