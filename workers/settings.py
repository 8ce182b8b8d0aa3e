"""Settings from the environment, read once by each entry point (never at import)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from domain.durations import parse_duration
from workflows.order_contract import OrderTimings

# Production waits for people and real carriers; dev and demo compress time so an order
# reaches DELIVERED within a minute and completes a few minutes later.
PROFILES: dict[str, dict[str, str]] = {
    "production": {"return_window": "30d", "warehouse_autoconfirm": "manual", "tracking_poll": "1h",
                   "backorder_deadline": "14d", "survey_after": "3d", "survey_open": "14d",
                   "return_grace": "14d"},
    "dev": {"return_window": "2m", "warehouse_autoconfirm": "2s", "tracking_poll": "3s",
            "backorder_deadline": "5m", "survey_after": "30s", "survey_open": "1m",
            "return_grace": "1m"},
}
ALLOCATION_STRATEGIES = ("single-warehouse-first", "priority", "nearest")
# The simulated carriers' webhook secrets in dev; production names its own (no default there).
DEV_CARRIER_WEBHOOK_SECRETS = "sim-standard=whsec_dev_sim_standard,sim-express=whsec_dev_sim_express"


@dataclass(frozen=True)
class Settings:
    database_url: str | None
    temporal_address: str | None
    namespace: str = "default"
    task_queue: str = "orders"
    log_format: str = "console"
    data_dir: Path = field(default_factory=lambda: Path(".fulfil"))
    profile: str = "dev"
    timings: OrderTimings = field(default_factory=lambda: timings_for("dev", {}))
    dev_server_port: int = 7233
    ui_port: int = 8233
    payment_latency_ms: int = 40
    carrier_latency_ms: int = 60
    # carrier code -> the secret its tracking webhooks are signed with
    carrier_webhook_secrets: dict[str, str] = field(
        default_factory=lambda: parse_secrets(DEV_CARRIER_WEBHOOK_SECRETS))
    api_port: int = 8000  # where `fulfil dev` and `fulfil demo` serve the HTTP API
    metrics_port: int | None = None  # where a worker serves the Temporal SDK's metrics
    notify_latency_ms: int = 30
    # How often the repairer looks for workflows wedged on non-determinism; 0: never.
    repair_every_s: int = 30


def timings_for(profile: str, env: Mapping[str, str]) -> OrderTimings:
    base = PROFILES[profile]

    def seconds(name: str) -> int | None:
        raw = env.get(f"FULFIL_{name.upper()}", base[name])
        return None if raw == "manual" else int(parse_duration(raw).total_seconds())

    fixed = {name: seconds(name) for name in ("return_window", "tracking_poll",
                                              "backorder_deadline", "survey_after",
                                              "survey_open", "return_grace")}
    if None in fixed.values():
        raise ValueError("only FULFIL_WAREHOUSE_AUTOCONFIRM may be 'manual'")
    waits: dict[str, int] = {name: value for name, value in fixed.items() if value is not None}
    strategy = env.get("FULFIL_ALLOCATION_STRATEGY", ALLOCATION_STRATEGIES[0])
    if strategy not in ALLOCATION_STRATEGIES:
        raise ValueError(f"FULFIL_ALLOCATION_STRATEGY must be one of "
                         f"{', '.join(ALLOCATION_STRATEGIES)}, got {strategy!r}")
    return OrderTimings(waits["return_window"], seconds("warehouse_autoconfirm"),
                        waits["tracking_poll"], waits["backorder_deadline"], strategy,
                        survey_after_s=waits["survey_after"], survey_open_s=waits["survey_open"],
                        return_grace_s=waits["return_grace"])


def parse_secrets(raw: str) -> dict[str, str]:
    """`carrier=secret,carrier=secret` as a mapping; an empty text is no carriers."""
    secrets: dict[str, str] = {}
    for pair in filter(None, (part.strip() for part in raw.split(","))):
        carrier, _, secret = pair.partition("=")
        if not carrier.strip() or not secret.strip():
            raise ValueError(f"FULFIL_CARRIER_WEBHOOK_SECRETS: expected carrier=secret, "
                             f"got {pair.split('=')[0]!r}=…")
        secrets[carrier.strip()] = secret.strip()
    return secrets


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    env = os.environ if env is None else env
    temporal_address = env.get("FULFIL_TEMPORAL_ADDRESS") or None
    profile = env.get("FULFIL_PROFILE") or ("production" if temporal_address else "dev")
    if profile not in PROFILES:
        raise ValueError(f"FULFIL_PROFILE must be one of {', '.join(PROFILES)}, got {profile!r}")
    log_format = env.get("FULFIL_LOG_FORMAT", "console")
    if log_format not in ("console", "json"):
        raise ValueError(f"FULFIL_LOG_FORMAT must be console or json, got {log_format!r}")
    return Settings(
        database_url=env.get("FULFIL_DATABASE_URL") or None,
        temporal_address=temporal_address,
        namespace=env.get("FULFIL_NAMESPACE", "default"),
        task_queue=env.get("FULFIL_TASK_QUEUE", "orders"),
        log_format=log_format,
        data_dir=Path(env.get("FULFIL_DATA_DIR", ".fulfil")),
        profile=profile,
        timings=timings_for(profile, env),
        dev_server_port=int(env.get("FULFIL_DEV_SERVER_PORT", "7233")),
        ui_port=int(env.get("FULFIL_UI_PORT", "8233")),
        payment_latency_ms=int(env.get("FULFIL_PAYMENT_LATENCY_MS", "40")),
        carrier_latency_ms=int(env.get("FULFIL_CARRIER_LATENCY_MS", "60")),
        carrier_webhook_secrets=parse_secrets(env.get(
            "FULFIL_CARRIER_WEBHOOK_SECRETS",
            DEV_CARRIER_WEBHOOK_SECRETS if profile == "dev" else "")),
        api_port=int(env.get("FULFIL_API_PORT", "8000")),
        metrics_port=int(env["FULFIL_METRICS_PORT"]) if env.get("FULFIL_METRICS_PORT") else None,
        notify_latency_ms=int(env.get("FULFIL_NOTIFY_LATENCY_MS", "30")),
        repair_every_s=int(parse_duration(env.get("FULFIL_REPAIR_EVERY", "30s"))
                           .total_seconds()),
    )
