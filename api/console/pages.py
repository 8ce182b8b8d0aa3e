"""The console's Jinja2 templates and the small formatting filters they use."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.templating import Jinja2Templates
from starlette.responses import HTMLResponse

from activities.db.tables import OrderRow
from domain.money import Money

HERE = Path(__file__).parent
DEFAULT_TEMPORAL_UI = "http://localhost:8233"


@dataclass(frozen=True)
class ConsoleSettings:
    temporal_ui_url: str = DEFAULT_TEMPORAL_UI

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> ConsoleSettings:
        """FULFIL_UI_URL, else the local dev server's Web UI on FULFIL_UI_PORT."""
        env = os.environ if env is None else env
        port = env.get("FULFIL_UI_PORT", "8233")
        return cls((env.get("FULFIL_UI_URL") or f"http://localhost:{port}").rstrip("/"))


def when(at: datetime | None) -> str:
    return at.strftime("%Y-%m-%d %H:%M:%S UTC") if at else "–"


def money(value: Money) -> str:
    return str(value)


def row_total(row: OrderRow) -> str:
    return str(Money(row.grand_total, row.currency))


def words(name: str) -> str:
    """`PAYMENT_CAPTURED` or `order.cancelled` as a person would say it."""
    return name.replace("_", " ").replace(".", " ").lower().capitalize()


def _templates() -> Jinja2Templates:
    templates = Jinja2Templates(directory=HERE / "templates")
    templates.env.filters.update(when=when, money=money, words=words, row_total=row_total)
    return templates


TEMPLATES = _templates()


def page(request: Request, name: str, context: dict[str, Any], status_code: int = 200,
         ) -> HTMLResponse:
    return TEMPLATES.TemplateResponse(request, name, context, status_code=status_code)
