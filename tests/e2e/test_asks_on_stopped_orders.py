"""An order whose workflow an operator stopped after support's check: support's request is
refused with the workflow's state, not answered with a bare RPC error. On the real dev server,
with no worker: the order never moves, so only the stop decides the answer."""

from __future__ import annotations

import pytest
from temporalio.client import Client

from api.asks import ask
from domain.errors import ActionRefused
from workers.stack import DevServer
from workflows.order_contract import CANCEL, CancelRequest

pytestmark = pytest.mark.e2e


async def test_a_request_to_an_order_stopped_under_it_is_refused_with_its_state(
        dev_server: DevServer):
    # Given an order's workflow that an operator terminated after support's check
    client = await Client.connect(dev_server.address, namespace=dev_server.namespace)
    handle = await client.start_workflow("OrderWorkflow", id="order-STOPPED-1",
                                         task_queue="no-worker-polls-this")
    await handle.terminate("operator stopped it")

    # When support's cancel reaches it
    with pytest.raises(ActionRefused) as refused:
        await ask(handle, CANCEL, CancelRequest("customer asked", "agent-1"))

    # Then support is told the order ended, how, and that nothing changed
    assert str(refused.value) == ("order ended TERMINATED before it took the request_cancel "
                                  "request: nothing was changed")
