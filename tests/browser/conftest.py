"""Browser tests: the real app served by uvicorn inside the test process, on the API tests'
time-skipping server, worker and PostgreSQL, driven in headless Chromium by Playwright.

They use the system's Chromium (Debian's `chromium` package), never a downloaded one, and
fail, never skip, when it is missing. Screenshots go to tests/browser/artifacts/ or to the
directory named by FULFIL_TEST_ARTIFACTS."""

from __future__ import annotations

import asyncio
import os
import re
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import uvicorn
from playwright.async_api import Browser, Page, async_playwright, expect

from api.http.app import create_app
from api.http.services import ApiServices
from tests.api import conftest as api_fixtures
from tests.workflows.conftest import Stack

CHROMIUM = Path(os.environ.get("FULFIL_TEST_CHROMIUM", "/usr/bin/chromium"))

_test_server = api_fixtures._test_server
temporal_env = api_fixtures.temporal_env
stack = api_fixtures.stack
manual_orders = api_fixtures.manual_orders
keys = api_fixtures.keys


def artifacts_dir() -> Path:
    default = Path(__file__).parent / "artifacts"
    found = Path(os.environ.get("FULFIL_TEST_ARTIFACTS") or default)
    found.mkdir(parents=True, exist_ok=True)
    return found


@pytest.fixture(scope="session")
def chromium_path() -> str:
    """The system's Chromium: the tests fail here, with what to install, when it is missing."""
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} not found: the browser tests need Debian's chromium "
                    "(apt-get install chromium), or FULFIL_TEST_CHROMIUM naming another build",
                    pytrace=False)
    return str(CHROMIUM)


@pytest.fixture(scope="session")
async def chromium(chromium_path: str) -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=chromium_path, headless=True)
        yield browser
        await browser.close()


@pytest.fixture
async def console_url(stack: Stack) -> AsyncIterator[str]:
    """The app on a free localhost port, served until the test ends."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(create_app(ApiServices.of(stack.orders)), log_config=None,
                            access_log=False)
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve(sockets=[sock]))
    async with asyncio.timeout(10):
        while not server.started:
            if serving.done():
                serving.result()  # raises what stopped it
            await asyncio.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    await serving
    sock.close()


@pytest.fixture
async def page(chromium: Browser, request: pytest.FixtureRequest) -> AsyncIterator[Page]:
    """A fresh browser context (no cookies) per test; a screenshot is kept when it fails."""
    context = await chromium.new_context(viewport={"width": 1280, "height": 900})
    opened = await context.new_page()
    expect.set_options(timeout=10_000)
    yield opened
    failed = getattr(request.node, "rep_call", None)
    if failed is not None and failed.failed:
        await screenshot(opened, f"FAILED-{request.node.name}")
    await context.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):  # type: ignore[no-untyped-def]
    report = yield
    if report.when == "call":
        item.rep_call = report  # type: ignore[attr-defined]
    return report


async def screenshot(page: Page, name: str) -> Path:
    path = artifacts_dir() / f"{re.sub(r'[^A-Za-z0-9_.-]+', '-', name)}.png"
    await page.screenshot(path=str(path), full_page=True)
    return path
