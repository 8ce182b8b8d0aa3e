"""Fixtures the end-to-end tests share."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from workers.stack import DevServer, find_free_port, start_temporal_dev_server


@pytest.fixture
async def dev_server(tmp_path: Path) -> AsyncIterator[DevServer]:
    """A Temporal dev server of the test's own, on free ports."""
    server = await start_temporal_dev_server(tmp_path / "temporal", port=find_free_port(),
                                             ui_port=find_free_port())
    yield server
    await asyncio.to_thread(server.stop)
