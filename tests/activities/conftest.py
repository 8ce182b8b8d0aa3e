"""Activity tests call the activity methods directly, inside an ActivityEnvironment so that
activity.info() and everything bound to it work as they do on a worker."""

from __future__ import annotations

import pytest
from temporalio.testing import ActivityEnvironment


@pytest.fixture
def activity_env() -> ActivityEnvironment:
    return ActivityEnvironment()
