"""/metrics for Prometheus: the business figures, and, where a worker runs in this process
(`fulfil dev`, `fulfil demo`), the Temporal SDK's worker metrics beside them.

No API key: Prometheus scrapes it from the internal network, like every other metrics port."""

from __future__ import annotations

import httpx
import structlog
from fastapi import APIRouter, FastAPI, Request, Response
from prometheus_client import CONTENT_TYPE_PLAIN_0_0_4

from api.http.auth import services
from api.metrics import read_business_figures, render_business_metrics

router = APIRouter(tags=["operations"])
log = structlog.get_logger(__name__)
SDK_METRICS_TIMEOUT_S = 2.0


def serve_sdk_metrics_from(app: FastAPI, url: str | None) -> None:
    """Appends the Temporal runtime's own Prometheus endpoint (served on an internal port by
    the SDK's Rust core) to this app's /metrics."""
    app.state.sdk_metrics_url = url


async def _sdk_metrics(request: Request) -> bytes:
    url: str | None = getattr(request.app.state, "sdk_metrics_url", None)
    if url is None:
        return b""
    try:
        async with httpx.AsyncClient(timeout=SDK_METRICS_TIMEOUT_S) as client:
            response = await client.get(url)
            response.raise_for_status()
    except httpx.HTTPError as error:
        # The business figures are still worth a scrape when the SDK's exporter is not.
        log.warning("metrics.sdk_unavailable", url=url, error=str(error))
        return b""
    return response.content


@router.get("/metrics", response_class=Response, responses={
    200: {"content": {CONTENT_TYPE_PLAIN_0_0_4: {}},
          "description": "Prometheus text format; no API key (scrape it on an internal network)"}})
async def metrics(request: Request) -> Response:
    """Orders, refunds, stock alerts and time to ship, plus the SDK's metrics where a worker
    runs in this process."""
    figures = await read_business_figures(services(request).orders.session_factory)
    body = render_business_metrics(figures) + await _sdk_metrics(request)
    return Response(body, media_type=CONTENT_TYPE_PLAIN_0_0_4)
