"""Tracking events pushed by carriers: `POST /v1/webhooks/carriers/{carrier}` signed with the
carrier's secret, and `POST /v1/carrier-events` for warehouse staff entering a scan by hand.

A webhook carries `X-Fulfil-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw
body>">`. The timestamp is signed too, so a captured request cannot be replayed after
SIGNATURE_TOLERANCE; several `v1=` entries are allowed while a carrier rotates its secret."""

from __future__ import annotations

import hashlib
import hmac
import time
from datetime import datetime
from typing import Annotated, Any

import structlog
from fastapi import APIRouter, Depends, Header, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from api.api_keys import ApiKey
from api.carrier_events import (
    MAX_TRACKING_NUMBER,
    DeliveredEvent,
    InvalidCarrierEvent,
    ScanFromTheFuture,
)
from api.http.auth import authenticated, services
from api.http.problems import InvalidField, problem_responses
from api.http.services import ApiServices
from api.text import DateTime, OptionalName, OptionalReason, Text
from domain.access import Role
from domain.tracking import TrackingCode

router = APIRouter(tags=["carriers"])
log = structlog.get_logger(__name__)
Services = Annotated[ApiServices, Depends(services)]

SIGNATURE_HEADER = "X-Fulfil-Signature"
SIGNATURE_TOLERANCE_S = 5 * 60
# Who may enter a scan by hand: the warehouse that handed the parcel over, and admins.
MANUAL_EVENT_ROLES = frozenset({Role.WAREHOUSE, Role.ADMIN})


class CarrierEventIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    tracking_number: Annotated[str, Text(MAX_TRACKING_NUMBER, required=True)]
    code: TrackingCode
    at: DateTime = Field(description="When the carrier scanned the parcel; not in the "
                                          "future (5 minutes of clock skew are allowed).")
    location: OptionalName = ""
    description: OptionalReason = ""


class CarrierEventOut(BaseModel):
    order_id: str
    tracking_number: str
    code: str
    at: datetime


class SignatureRejected(Exception):
    """A webhook whose signature does not prove it came from the carrier, just now."""


def sign(secret: str, body: bytes, timestamp: int) -> str:
    """The signature header value a carrier sends with `body` at `timestamp`."""
    return f"t={timestamp},v1={_digest(secret, body, timestamp)}"


def verify_signature(secret: str, header: str | None, body: bytes, now: float) -> None:
    """Raises SignatureRejected with the reason unless `header` signs `body` recently."""
    if not header:
        raise SignatureRejected("missing signature")
    fields = [part.strip().partition("=") for part in header.split(",")]
    stamps = [value for key, _, value in fields if key == "t"]
    signatures = [value for key, _, value in fields if key == "v1"]
    if len(stamps) != 1 or not (stamps[0].isascii() and stamps[0].isdigit()) or not signatures:
        raise SignatureRejected("malformed signature")
    timestamp = int(stamps[0])
    if abs(now - timestamp) > SIGNATURE_TOLERANCE_S:
        raise SignatureRejected("stale timestamp")
    expected = _digest(secret, body, timestamp)
    if not any(hmac.compare_digest(expected, given) for given in signatures):
        raise SignatureRejected("signature mismatch")


def _digest(secret: str, body: bytes, timestamp: int) -> str:
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def _body_schema() -> dict[str, Any]:
    return {"requestBody": {"required": True, "content": {
        "application/json": {"schema": CarrierEventIn.model_json_schema()}}}}


@router.post("/v1/webhooks/carriers/{carrier}", status_code=202, response_model=CarrierEventOut,
             openapi_extra=_body_schema(), responses=problem_responses(
                 401, 404, 409, 422, why={
                     401: "Unknown carrier, or a signature missing, malformed, stale or wrong.",
                     404: "No parcel of this carrier has the tracking number.",
                     409: "The parcel's order has ended: nobody follows the parcel any more."}))
async def carrier_webhook(
        carrier: str, request: Request, svc: Services,
        x_fulfil_signature: Annotated[str | None, Header()] = None) -> CarrierEventOut:
    """A carrier's tracking scan, signed with its webhook secret; 401 unless the signature holds."""
    raw = await request.body()
    secret = svc.carrier_secrets.get(carrier)
    try:
        if secret is None:
            raise SignatureRejected("unknown carrier")
        verify_signature(secret, x_fulfil_signature, raw, time.time())
    except SignatureRejected as rejected:
        log.warning("carrier.webhook_rejected", carrier=carrier, reason=str(rejected))
        raise HTTPException(401, f"webhook rejected: {rejected}") from None
    try:
        body = CarrierEventIn.model_validate_json(raw)
    except ValidationError as error:
        raise RequestValidationError(error.errors()) from None
    return _out(await _deliver(svc, body, carrier))


@router.post("/v1/carrier-events", status_code=202, response_model=CarrierEventOut,
             responses=problem_responses(401, 403, 404, 409, 422, why={
                 403: "Only the warehouse and admins enter scans by hand.",
                 404: "No parcel has the tracking number.",
                 409: "The parcel's order has ended: nobody follows the parcel any more."}))
async def enter_carrier_event(body: CarrierEventIn, svc: Services,
                              caller: Annotated[ApiKey, Depends(authenticated)]) -> CarrierEventOut:
    """A tracking scan entered by the warehouse (e.g. from the carrier's portal)."""
    if caller.role not in MANUAL_EVENT_ROLES:
        raise HTTPException(403, f"the {caller.role} role may not enter carrier events")
    return _out(await _deliver(svc, body, carrier=""))


async def _deliver(svc: ApiServices, body: CarrierEventIn, carrier: str) -> DeliveredEvent:
    if svc.carrier_events is None:
        raise RuntimeError("the API was started without the carrier event service")
    try:
        return await svc.carrier_events.deliver(body.tracking_number, body.code, body.at,
                                                body.location, body.description, carrier)
    except ScanFromTheFuture:
        raise  # well formed, refused by the server's clock: a business rule
    except InvalidCarrierEvent as error:
        raise InvalidField(error.field, error.message) from None


def _out(delivered: DeliveredEvent) -> CarrierEventOut:
    event = delivered.event
    return CarrierEventOut(order_id=delivered.order_id, tracking_number=event.tracking_number,
                           code=event.code, at=event.at)
