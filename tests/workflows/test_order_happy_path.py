from tests.support import checkout
from tests.workflows.conftest import Stack
from workflows.order_workflow import OrderWorkflow


async def test_paid_order_is_delivered_and_completes_after_the_return_window(stack: Stack):
    placed = await stack.orders.place(checkout())
    handle = placed.handle
    result = await handle.result()
    assert result.status == "COMPLETED"
    view = await handle.query(OrderWorkflow.view)
    print([ (e.kind, e.status) for e in view.timeline])
