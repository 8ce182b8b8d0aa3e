"""What the HTTP API talks to: the order and stock services and the API keys."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field

from api.aftercare import AftercareService
from api.api_keys import ApiKeyService
from api.carrier_events import CarrierEventService
from api.orders import OrderService
from api.stock import StockService
from workers.settings import load_settings


@dataclass(frozen=True)
class ApiServices:
    orders: OrderService
    api_keys: ApiKeyService
    stock: StockService
    carrier_events: CarrierEventService | None = None
    # carrier code -> the secret its webhooks are signed with
    carrier_secrets: Mapping[str, str] = field(default_factory=dict)

    @property
    def aftercare(self) -> AftercareService:
        return AftercareService(self.orders)

    @classmethod
    def of(cls, orders: OrderService, carrier_secrets: Mapping[str, str] | None = None
           ) -> ApiServices:
        """`carrier_secrets` default to FULFIL_CARRIER_WEBHOOK_SECRETS (read now, at startup)."""
        factory = orders.session_factory
        secrets = load_settings().carrier_webhook_secrets if carrier_secrets is None \
            else carrier_secrets
        return cls(orders, ApiKeyService(factory), StockService(factory, orders.client),
                   CarrierEventService(orders.client, factory), secrets)


# Opens the services when the app starts and closes them when it stops (the lifespan).
ServicesOpener = Callable[[], AbstractAsyncContextManager[ApiServices]]
