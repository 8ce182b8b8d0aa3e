"""Builds the Temporal worker that runs fulfil's workflows and activities."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from temporalio.client import Client
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from activities.attention import AttentionActivities
from activities.backorders import BackorderActivities
from activities.campaigns import CampaignActivities
from activities.carriers.activities import ShippingActivities
from activities.carriers.carrier import Carrier
from activities.db.engine import SessionFactory
from activities.payments.activities import PaymentActivities
from activities.payments.gateway import PaymentGateway
from activities.records import RecordActivities
from activities.repairs.activities import RepairActivities
from activities.returns import ReturnActivities
from activities.stock import StockActivities
from activities.surveys import SurveyActivities
from workers.heartbeats import HeartbeatInterceptor
from workers.interceptors import LoggingInterceptor
from workers.permanent_failures import PermanentFailureInterceptor
from workflows.baseline import BaselineWorkflow, noop
from workflows.campaign_workflow import CampaignWorkflow
from workflows.order_workflow import OrderWorkflow
from workflows.repair_workflow import RepairWorkflow

WORKFLOWS: Sequence[type] = (OrderWorkflow, BaselineWorkflow, CampaignWorkflow, RepairWorkflow)

# The domain package is pure and deterministic: passing it through the sandbox keeps one
# copy of its classes, so payload type hints resolve inside workflow code.
WORKFLOW_RUNNER = SandboxedWorkflowRunner(
    restrictions=SandboxRestrictions.default.with_passthrough_modules("domain"))


def build_activities(session_factory: SessionFactory, gateway: PaymentGateway,
                     carriers: dict[str, Carrier]) -> list[Callable[..., Any]]:
    records = RecordActivities(session_factory)
    attention = AttentionActivities(session_factory)
    stock = StockActivities(session_factory)
    payments = PaymentActivities(gateway, session_factory)
    shipping = ShippingActivities(carriers, session_factory)
    campaigns = CampaignActivities(session_factory)
    backorders = BackorderActivities(session_factory)
    returns = ReturnActivities(session_factory)
    surveys = SurveyActivities(session_factory)
    repairs = RepairActivities(session_factory, WORKFLOWS, WORKFLOW_RUNNER)
    return [
        records.record_order, records.record_event, records.record_events, records.record_shipment_status,
        records.record_sla_breach, attention.flag_attention, attention.resolve_attention,
        stock.reserve_stock, stock.release_stock, stock.ship_stock, stock.restock_parcel,
        payments.authorize_payment, payments.capture_payment, payments.void_payment,
        payments.refund_payment,
        shipping.create_shipment, shipping.cancel_shipment, shipping.poll_tracking,
        shipping.create_return_label, shipping.track_return, shipping.file_claim,
        campaigns.end_campaign,
        backorders.register_backorder, backorders.backorder_state, backorders.give_up_backorder,
        returns.open_return, returns.attach_return_label, returns.mark_return_reception,
        returns.receive_return, returns.settle_return,
        surveys.open_survey, surveys.record_rating, surveys.expire_survey,
        repairs.repair_wedged_workflows,
        noop,
    ]


def build_worker(client: Client, task_queue: str,
                 activities: list[Callable[..., Any]], **options: Any) -> Worker:
    return Worker(
        client, task_queue=task_queue, workflows=list(WORKFLOWS), activities=activities,
        interceptors=[LoggingInterceptor(), HeartbeatInterceptor(),
                      PermanentFailureInterceptor()],
        workflow_runner=WORKFLOW_RUNNER, **options,
    )
