"""`fulfil stock` commands as separate processes against the test database. They need no
Temporal: FULFIL_TEMPORAL_ADDRESS points at a port where nothing listens."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Any

import pytest

from activities.db.engine import SessionFactory
from activities.db.stock_repository import StockLevel, StockRepository
from tests.support import seed

pytestmark = pytest.mark.e2e

FULFIL = str(Path(sys.executable).with_name("fulfil"))
COMMAND_TIMEOUT_S = 30.0
NOWHERE = "127.0.0.1:9"  # the discard port: a Temporal client would fail to connect here


@pytest.fixture
async def fulfil(db: SessionFactory, database_url: str, tmp_path: Path) -> dict[str, str]:
    """The environment of a `fulfil` process on the seeded CATALOGUE: TEE-BLK-M 10 in BER and
    5 in HAM, MUG-LOGO 100 in BER, CAP-NAVY 1 in HAM."""
    await seed(db)
    env = {name: value for name, value in os.environ.items() if not name.startswith("FULFIL_")}
    return {**env, "FULFIL_DATABASE_URL": database_url, "FULFIL_TEMPORAL_ADDRESS": NOWHERE,
            "FULFIL_LOG_FORMAT": "json", "FULFIL_DATA_DIR": str(tmp_path / ".fulfil")}


async def run(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        FULFIL, "stock", *args, env=env, stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(process.communicate(), COMMAND_TIMEOUT_S)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def ok_json(env: dict[str, str], *args: str) -> Any:
    code, out, err = await run(env, *args, "--json")
    assert code == 0, f"`fulfil stock {' '.join(args)}` exited {code}: {err}"
    return json.loads(out)


async def levels(db: SessionFactory) -> list[StockLevel]:
    async with db() as session:
        return await StockRepository(session).levels()


async def test_a_receipt_shows_in_stock_show_with_every_figure(
    db: SessionFactory, fulfil: dict[str, str]
) -> None:
    receipt = await ok_json(fulfil, "receive", "--sku", "TEE-BLK-M", "--warehouse", "BER",
                            "--qty", "5", "--reference", "PO-1", "--actor", "alice")
    await ok_json(fulfil, "policy", "--sku", "TEE-BLK-M", "--warehouse", "BER", "--safety", "2")
    await ok_json(fulfil, "expect", "--sku", "TEE-BLK-M", "--warehouse", "BER", "--qty", "20",
                  "--date", "2026-12-24", "--reference", "PO-2")

    rows = await ok_json(fulfil, "show", "--sku", "TEE-BLK-M")

    assert receipt == {"sku": "TEE-BLK-M", "warehouse": "BER", "quantity": 5,
                       "on_hand_after": 15, "salable_after": 15, "fills": []}
    assert rows == [
        {"sku": "TEE-BLK-M", "warehouse": "BER", "on_hand": 15, "reserved": 0,
         "safety_stock": 2, "salable": 13, "incoming": 20},
        {"sku": "TEE-BLK-M", "warehouse": "HAM", "on_hand": 5, "reserved": 0,
         "safety_stock": 0, "salable": 5, "incoming": 0},
    ]


async def test_an_adjustment_to_the_reorder_point_is_listed_as_an_alert(
    fulfil: dict[str, str]
) -> None:
    await ok_json(fulfil, "policy", "--sku", "TEE-BLK-M", "--warehouse", "BER",
                  "--reorder-point", "4")
    adjusted = await ok_json(fulfil, "adjust", "--sku", "TEE-BLK-M", "--warehouse", "BER",
                             "--delta", "-7", "--reason", "water damage", "--actor", "bob")

    alerts = await ok_json(fulfil, "alerts")

    assert (adjusted["on_hand"], adjusted["salable"]) == (3, 3)
    assert [(a["sku"], a["warehouse"], a["salable"], a["reorder_point"], a["resolved_at"])
            for a in alerts] == [("TEE-BLK-M", "BER", 3, 4, None)]
    await ok_json(fulfil, "adjust", "--sku", "TEE-BLK-M", "--warehouse", "BER",
                  "--counted", "10", "--reason", "cycle count")
    assert await ok_json(fulfil, "alerts") == []
    assert len(await ok_json(fulfil, "alerts", "--all")) == 1


@pytest.mark.parametrize(("args", "message"), [
    (["receive", "--sku", "TEE-BLK-M", "--warehouse", "PAR", "--qty", "5"],
     "unknown warehouse 'PAR'"),
    (["receive", "--sku", "TEE-BLK-M", "--warehouse", "BER", "--qty", "0"],
     "a receipt needs a quantity above 0, got 0"),
    (["adjust", "--sku", "TEE-BLK-M", "--warehouse", "BER", "--counted", "-1", "--reason", "x"],
     "a counted quantity may not be below 0, got -1"),
    (["expect", "--sku", "TEE-BLK-M", "--warehouse", "BER", "--qty", "3", "--date", "soon"],
     "expected date: not an ISO date 'soon'"),
])
async def test_bad_input_exits_2_with_one_line_and_changes_nothing(
    db: SessionFactory, fulfil: dict[str, str], args: list[str], message: str
) -> None:
    before = await levels(db)

    code, out, err = await run(fulfil, *args)

    assert (code, out, err) == (2, "", f"fulfil: {message}\n")
    assert await levels(db) == before
