"""The chaos suite, short version: about 60 orders on a real Temporal dev server, two
`fulfil worker` processes and an embedded PostgreSQL of its own, while a random worker is
SIGKILLed every few seconds, the dev server is restarted on its database file and PostgreSQL
is shut down immediately and started again. Afterwards nothing may be stuck, lost or done
twice; a failing check fails the test with the report's table.

The long run is the same code: `fulfil chaos --orders 500 ...` (see the README)."""

from __future__ import annotations

import logging
import shutil
import tempfile
from dataclasses import replace
from pathlib import Path

import pytest

from workers.chaos.report import render
from workers.chaos.runner import ChaosOptions, run_chaos
from workers.logging import configure_logging

pytestmark = [pytest.mark.chaos, pytest.mark.e2e]

CI_RUN = ChaosOptions(orders=60, workers=2, kill_every_s=6.0, server_restarts=1, db_restarts=1,
                      seed=9, place_over_s=20.0, fault_window_s=45.0, settle_s=210.0)


async def test_orders_survive_worker_kills_and_server_and_database_restarts() -> None:
    # The table is what to read; the retries the chaos causes are expected.
    configure_logging("console", logging.WARNING)
    # Not pytest's tmp_path: another pytest session resets its root to 0700, and the
    # embedded PostgreSQL runs as its own user, which must reach its data directory.
    data = Path(tempfile.mkdtemp(prefix="fulfil-chaos-"))

    # Given 60 orders of every kind, placed while the stack is killed and restarted
    report = await run_chaos(replace(CI_RUN, data_dir=data))
    print(render(report))
    text = render(report) + f"\nworker and dev-server logs kept in {data}"

    # Then the faults really happened
    assert report.faults.kills >= 5, text
    assert report.faults.server_restarts >= 1, text
    assert report.faults.db_restarts >= 1, text
    # And every check holds
    assert report.passed, text
    shutil.rmtree(data, ignore_errors=True)
