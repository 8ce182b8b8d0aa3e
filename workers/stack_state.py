"""The record of the local stack a data directory runs, and the lock of its one owner.

`fulfil dev` (or `demo`, `bench`) holds `stack.lock` under the data directory for as long
as it runs and writes what it started into `stack.json`: the database URL, the dev server's
address, their process ids. Every other command reads that file and joins. The kernel drops
a flock when its holder dies, however it dies, so the lock is the test of a live owner; the
file outlives a killed owner and tells the next one what was left running.
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

STATE_FILE = "stack.json"
LOCK_FILE = "stack.lock"
# A joiner holds the lock shared for a moment to see whether an owner holds it.
OWNER_LOCK_RETRY_S = 2.0
# How long a command waits for a starting owner (initdb and migrations on a slow machine).
JOIN_WAIT_S = 120.0
# How long a `fulfil migrate`/`seed` waits for another private instance to finish.
PRIVATE_WAIT_S = 120.0
_POLL_S = 0.2


class StackError(RuntimeError):
    """A local service could not be started or joined; the message says why."""


class NoStackRunning(StackError):
    """No owner runs the embedded stack of a data directory."""


class StackBusy(StackError):
    """Another process owns the data directory."""


@dataclass(frozen=True)
class StackState:
    """What an owner runs for its data directory; `ready` once others may join."""

    owner_pid: int
    command: str
    ready: bool = False
    private: bool = False  # a `migrate`/`seed` instance nobody else may join
    database_url: str | None = None
    postgres_pid: int | None = None
    temporal_address: str | None = None
    temporal_ui: str | None = None
    namespace: str | None = None
    dev_server_pid: int | None = None

    def but(self, **changes: Any) -> StackState:
        return replace(self, **changes)


def read_state(data_dir: Path) -> StackState | None:
    try:
        raw = json.loads((data_dir / STATE_FILE).read_text())
    except (FileNotFoundError, ValueError):
        return None
    known = StackState.__dataclass_fields__
    return StackState(**{k: v for k, v in raw.items() if k in known})


def write_state(data_dir: Path, state: StackState) -> None:
    """Replaces the file in one step, so a reader never sees half of it."""
    partial = data_dir / f".{STATE_FILE}.{os.getpid()}"
    partial.write_text(json.dumps(asdict(state), indent=2))
    os.replace(partial, data_dir / STATE_FILE)


def clear_state(data_dir: Path) -> None:
    (data_dir / STATE_FILE).unlink(missing_ok=True)


def pid_alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class OwnerLock:
    """The exclusive flock on `stack.lock` that makes a process the data directory's owner."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self._fd: int | None = None

    def try_acquire(self, within_s: float = OWNER_LOCK_RETRY_S) -> bool:
        """True once held; False if another process kept it for `within_s` seconds."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        # os.open makes the descriptor non-inheritable, so no child keeps the lock alive.
        fd = os.open(self.data_dir / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
        deadline = time.monotonic() + within_s
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    os.close(fd)
                    return False
                time.sleep(0.05)
                continue
            self._fd = fd
            return True

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the last descriptor drops the flock
            self._fd = None


def owner_running(data_dir: Path) -> bool:
    """Whether some process holds the owner lock of data_dir right now."""
    try:
        fd = os.open(data_dir / LOCK_FILE, os.O_RDONLY)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


def no_stack_message(data_dir: Path) -> str:
    return f"no fulfil stack is running for {data_dir.resolve()}: start `fulfil dev`"


def busy_message(data_dir: Path, state: StackState | None) -> str:
    holder = f" (`fulfil {state.command}`, pid {state.owner_pid})" if state else ""
    return f"a fulfil stack is already running for {data_dir.resolve()}{holder}"


def joinable_state(data_dir: Path) -> StackState | None:
    """The state of a live, ready, shared stack; None while there is none (yet)."""
    state = read_state(data_dir)
    # A file left by a killed owner may still be there while a new owner starts.
    if state is None or not state.ready or state.private or not pid_alive(state.owner_pid):
        return None
    return state if owner_running(data_dir) else None


def wait_for_stack(data_dir: Path, wait_s: float = JOIN_WAIT_S) -> StackState:
    """The running stack's state, waiting while its owner starts; NoStackRunning if none."""
    deadline = time.monotonic() + wait_s
    while True:
        if not owner_running(data_dir):
            raise NoStackRunning(no_stack_message(data_dir))
        state = joinable_state(data_dir)
        if state is not None:
            return state
        if time.monotonic() > deadline:
            raise StackError(f"the fulfil stack for {data_dir.resolve()} did not become ready "
                             f"within {wait_s:.0f}s")
        time.sleep(_POLL_S)
