"""A chaos run stopped with SIGTERM (a person's Ctrl-C, a CI job cancelled) stops what it
started, its workers, dev server and PostgreSQL, and exits 130; nothing keeps running.
(Seen: an interrupted long run left both workers and its PostgreSQL behind.)"""

from __future__ import annotations

import asyncio
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path

import psutil
import pytest

pytestmark = [pytest.mark.chaos, pytest.mark.e2e]

FULFIL = str(Path(sys.executable).with_name("fulfil"))
STARTED_TIMEOUT_S = 120.0
STOP_TIMEOUT_S = 30.0


async def test_an_interrupted_chaos_run_leaves_nothing_running() -> None:
    # Given a chaos run whose workers are up (not pytest's tmp_path: the embedded PostgreSQL
    # runs as its own user, which must reach its data directory)
    data = Path(tempfile.mkdtemp(prefix="fulfil-chaos-stop-"))
    run = await asyncio.create_subprocess_exec(
        FULFIL, "chaos", "--orders", "20", "--place-over", "60", "--settle", "60",
        "--data-dir", str(data), stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL)
    deadline = time.monotonic() + STARTED_TIMEOUT_S
    while not (data / "worker-2.log").exists() or not _started(data / "worker-2.log"):
        assert run.returncode is None and time.monotonic() < deadline, "no worker started"
        await asyncio.sleep(0.5)
    started = psutil.Process(run.pid).children(recursive=True)
    assert len(started) >= 3  # two workers, a dev server, PostgreSQL

    # When it is sent SIGTERM
    run.send_signal(signal.SIGTERM)
    output, _ = await asyncio.wait_for(run.communicate(), STOP_TIMEOUT_S)

    # Then it says so, exits 130, and everything it started has stopped
    assert run.returncode == 130
    assert b"chaos run interrupted" in output
    _, alive = psutil.wait_procs(started, timeout=STOP_TIMEOUT_S)
    assert [_command(p) for p in alive if _running(p)] == []
    shutil.rmtree(data, ignore_errors=True)


def _running(process: psutil.Process) -> bool:
    """Still running: a zombie has stopped, it only waits for init to reap it."""
    try:
        return process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _command(process: psutil.Process) -> str:
    try:
        return " ".join(process.cmdline())
    except psutil.NoSuchProcess:
        return f"pid {process.pid}"


def _started(log: Path) -> bool:
    return '"worker.started"' in log.read_text(errors="replace")
