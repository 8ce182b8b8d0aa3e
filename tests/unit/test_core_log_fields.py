"""A line forwarded from the Temporal SDK's core carries its fields (run_id, failure) as JSON
fields of its own, not as the repr of the object that holds them."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from types import SimpleNamespace

import pytest

from workers.logging import configure_logging


@pytest.fixture
def json_lines() -> Iterator[io.StringIO]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    configure_logging("json")
    out = io.StringIO()
    root.handlers[0].setStream(out)  # type: ignore[attr-defined]
    yield out
    root.handlers[:] = handlers
    root.setLevel(level)


def test_core_fields_become_log_fields(json_lines: io.StringIO) -> None:
    core = logging.getLogger("temporalio.core")
    entry = SimpleNamespace(fields={"run_id": "r-1", "failure": {"message": "boom"}, "attempt": 3})
    core.handle(core.makeRecord("temporalio.core", logging.WARNING, "(sdk-core)", 0,
                                "Failing workflow task", (), None, extra={"temporal_log": entry}))

    line = json.loads(json_lines.getvalue())
    assert (line["event"], line["run_id"], line["attempt"]) == ("Failing workflow task", "r-1", 3)
    assert line["failure"] == "{'message': 'boom'}"
    assert "temporal_log" not in line
