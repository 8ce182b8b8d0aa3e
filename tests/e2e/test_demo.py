"""The README's first command: `fulfil demo` on the zero-setup default (embedded PostgreSQL,
a Temporal dev server it starts itself) places the scripted orders and exits 0."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from workers.demo import SCENARIOS
from workers.stack import find_free_port

DEMO_TIMEOUT_S = 240


@pytest.mark.e2e
def test_demo_runs_every_scenario_to_its_expected_end_on_the_embedded_stack(tmp_path: Path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("FULFIL_")}
    api_port = find_free_port()
    env.update(FULFIL_DATA_DIR=str(tmp_path / "data"), FULFIL_LOG_FORMAT="json",
               FULFIL_DEV_SERVER_PORT=str(find_free_port()), FULFIL_UI_PORT=str(find_free_port()),
               FULFIL_API_PORT=str(api_port))
    fulfil = Path(sys.executable).parent / "fulfil"

    result = subprocess.run([str(fulfil), "demo"], env=env, capture_output=True, text=True,
                            timeout=DEMO_TIMEOUT_S)

    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert f"fulfil demo: {len(SCENARIOS)} orders" in result.stdout
    assert " NO " not in result.stdout
    assert f"HTTP API: http://127.0.0.1:{api_port}" in result.stdout
    assert (tmp_path / "data" / "postgres" / "PG_VERSION").exists()
    assert (tmp_path / "data" / "temporal.db").exists()
