"""Fixtures for the sandbox tests: a sandbox on a free loopback port with a frozen clock, HTTP
clients for each partner and the admin API, a webhook receiver, and the published specs."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from aiohttp import web

from sandbox.helpers import INFOBIP_KEY, SPECS, TCR_AUTH, Receiver, SandboxFactory, SpecValidator, sandbox_config
from tendlc_dev.sandbox import SandboxServer


@pytest.fixture(scope="session")
def numbers_spec() -> SpecValidator:
    return SpecValidator(SPECS / "numbers-openapi.json")


@pytest.fixture(scope="session")
def subscriptions_spec() -> SpecValidator:
    return SpecValidator(SPECS / "subscriptions-openapi.json")


@pytest.fixture
async def make_sandbox() -> AsyncIterator[SandboxFactory]:
    started: list[SandboxServer] = []

    async def make(*, frozen_rate_limits: bool = False, **overrides: Any) -> SandboxServer:
        """`frozen_rate_limits`: buckets never refill, so limit tests do not depend on speed."""
        if frozen_rate_limits:
            server = SandboxServer(sandbox_config(**overrides), rate_limit_clock=lambda: 1000.0)
        else:
            server = SandboxServer(sandbox_config(**overrides))
        await server.start(host="127.0.0.1", port=0)
        started.append(server)
        return server

    yield make
    for server in started:
        await server.stop()


@pytest.fixture
async def sandbox(make_sandbox: SandboxFactory) -> SandboxServer:
    return await make_sandbox()


@pytest.fixture
async def infobip(sandbox: SandboxServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=sandbox.infobip_url, headers=INFOBIP_KEY) as client:
        yield client


@pytest.fixture
async def tcr(sandbox: SandboxServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=sandbox.tcr_url, auth=TCR_AUTH) as client:
        yield client


@pytest.fixture
async def admin(sandbox: SandboxServer) -> AsyncIterator[httpx.AsyncClient]:
    assert sandbox.base_url is not None
    async with httpx.AsyncClient(base_url=f"{sandbox.base_url}/_admin") as client:
        yield client


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    found = Receiver()
    app = web.Application()
    app.router.add_post("/hook", found.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    found.url = f"http://127.0.0.1:{port}/hook"
    yield found
    await runner.cleanup()
