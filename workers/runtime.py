"""Opens what a command needs: the database (embedded unless configured), migrations,
the Temporal client (a local dev server unless configured), and closes it all again."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import structlog
from temporalio.client import Client

from activities.carriers.simulator import simulated_carriers
from activities.db.catalogue_repository import CatalogueRepository
from activities.db.engine import SessionFactory, build_engine, build_session_factory
from activities.db.migrate import upgrade
from activities.notifications.outbox_relay import OutboxRelay
from activities.notifications.simulator import SimulatedNotifier
from activities.payments.simulator import SimulatedGateway
from api.aftercare import AftercareService
from api.catalogue import parse_seed, seed_catalogue
from api.orders import OrderService
from api.stock import StockService
from workers.local_stack import Endpoints, Role, open_local_stack
from workers.logging import temporal_runtime
from workers.settings import Settings
from workers.stack import ensure_search_attributes
from workers.stack_state import NoStackRunning, no_stack_message
from workers.worker import build_activities, build_worker

log = structlog.get_logger(__name__)

DEMO_CATALOGUE = Path(__file__).with_name("demo_catalogue.json")


@dataclass
class Services:
    settings: Settings
    database_url: str
    session_factory: SessionFactory
    temporal: Client | None
    temporal_ui: str | None
    sdk_metrics_url: str | None = None  # this process's Temporal runtime serves its metrics here

    @property
    def client(self) -> Client:
        if self.temporal is None:
            raise RuntimeError("these services were opened without Temporal")
        return self.temporal

    @property
    def stock(self) -> StockService:
        return StockService(self.session_factory)

    @property
    def orders(self) -> OrderService:
        return OrderService(self.client, self.session_factory, self.settings.task_queue,
                            self.settings.timings)

    @property
    def aftercare(self) -> AftercareService:
        return AftercareService(self.orders)

    def worker(self, **options):  # type: ignore[no-untyped-def]
        gateway = SimulatedGateway(self.session_factory,
                                   latency_ms=self.settings.payment_latency_ms)
        carriers = simulated_carriers(self.session_factory,
                                      latency_ms=self.settings.carrier_latency_ms)
        activities = build_activities(self.session_factory, gateway, carriers)  # type: ignore[arg-type]
        return build_worker(self.client, self.settings.task_queue, activities, **options)

    def outbox_relay(self) -> OutboxRelay:
        """Sends the customer messages the workers' timeline events queue in the outbox."""
        notifier = SimulatedNotifier(self.session_factory,
                                     latency_ms=self.settings.notify_latency_ms)
        return OutboxRelay(self.session_factory, notifier)


async def temporal_client(settings: Settings, endpoints: Endpoints, *,
                          metrics_address: str | None = None) -> Client:
    """Connects to the configured cluster, or to the local stack's dev server."""
    runtime = temporal_runtime(metrics_address)
    if metrics_address:
        log.info("temporal.metrics_serving", address=metrics_address)
    if endpoints.temporal_address is None:
        raise NoStackRunning(no_stack_message(settings.data_dir))
    client = await Client.connect(endpoints.temporal_address, namespace=settings.namespace,
                                  runtime=runtime)
    if endpoints.owner is not None and not settings.temporal_address:
        await ensure_search_attributes(client, settings.namespace)
    return client


@asynccontextmanager
async def open_services(settings: Settings, *, start_server: bool = False,
                        migrate: bool = False, seed_demo: bool | str = False,
                        temporal: bool | str = True, private_stack: bool = False,
                        sdk_metrics: str | None = None) -> AsyncIterator[Services]:
    """`start_server=True` owns the local stack of the data directory (workers.local_stack),
    `private_stack=True` runs a PostgreSQL of its own when no stack runs, any other command
    joins the running stack; `temporal=False` opens the database alone, for commands that
    never talk to Temporal; `temporal="if-reachable"` connects when it can and goes on
    without it otherwise; `sdk_metrics="host:port"` serves the Temporal SDK's metrics there."""
    async with AsyncExitStack() as stack:
        role = Role.OWN if start_server else Role.PRIVATE if private_stack else Role.JOIN
        endpoints = await open_local_stack(settings, stack, role=role, temporal=temporal)
        url = endpoints.database_url
        if url is None:
            raise NoStackRunning(no_stack_message(settings.data_dir))
        if migrate:
            await asyncio.to_thread(upgrade, url)
        engine = build_engine(url)
        stack.push_async_callback(engine.dispose)
        session_factory = build_session_factory(engine)
        if seed_demo:
            await seed_demo_catalogue(session_factory, always=seed_demo == "always")
        client, ui = None, None
        if temporal:
            try:
                client = await temporal_client(settings, endpoints, metrics_address=sdk_metrics)
                ui = endpoints.temporal_ui
            except RuntimeError as error:
                if temporal != "if-reachable":
                    raise
                log.warning("temporal.unreachable", error=str(error))
        if endpoints.owner is not None:
            endpoints.owner.mark_ready()
        yield Services(settings, url, session_factory, client, ui,
                       scrape_url(sdk_metrics) if client and sdk_metrics else None)


def scrape_url(metrics_address: str) -> str:
    """The URL this process reads its own runtime's metrics from, bound at `host:port`."""
    host, _, port = metrics_address.rpartition(":")
    return f"http://{'127.0.0.1' if host in ('', '0.0.0.0') else host}:{port}/metrics"


async def seed_demo_catalogue(session_factory: SessionFactory, *, always: bool) -> None:
    """Seeds the demo catalogue into an empty database; `always` (the demo) upserts it, so
    new demo products appear in an old data directory while existing stock stays as it is."""
    async with session_factory() as session:
        empty = await CatalogueRepository(session).is_empty()
    if empty or always:
        counts = await seed_catalogue(session_factory, parse_seed(DEMO_CATALOGUE.read_text()))
        log.info("catalogue.seeded", products=counts.products, stock_rows=counts.stock_rows)
