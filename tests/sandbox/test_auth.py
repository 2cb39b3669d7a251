"""Infobip accepts `App`, `Basic` and `Bearer` credentials; TCR HTTP Basic; anything else is 401 in
the partner's own error shape, recorded in the ledger, and changes nothing."""

from __future__ import annotations

import base64

import httpx
import pytest

from sandbox.helpers import SandboxFactory
from tendlc_dev.sandbox import SandboxServer

LIST = "/number-registration/1/campaigns"


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("App sandbox-infobip-key", 200),
        ("Bearer sandbox-infobip-key", 200),
        (basic("sandbox-user", "sandbox-password"), 200),
        ("App wrong", 401),
        ("Bearer wrong", 401),
        (basic("sandbox-user", "wrong"), 401),
        ("Basic !!!not-base64", 401),
        ("Digest sandbox-infobip-key", 401),
        (None, 401),
    ],
)
async def test_infobip_schemes(sandbox: SandboxServer, header: str | None, expected: int) -> None:
    headers = {"Authorization": header} if header is not None else {}
    async with httpx.AsyncClient(base_url=sandbox.infobip_url) as client:
        answer = await client.get(LIST, headers=headers)
    assert answer.status_code == expected
    if expected == 401:
        assert answer.json() == {
            "requestError": {"serviceException": {"messageId": "UNAUTHORIZED", "text": "Unauthorized"}}
        }
    assert sandbox.ledger.entries[-1].status == expected


@pytest.mark.parametrize(
    ("auth", "expected"),
    [(("sandbox-tcr-key", "sandbox-tcr-secret"), 200), (("sandbox-tcr-key", "nope"), 401), (None, 401)],
)
async def test_tcr_basic(sandbox: SandboxServer, auth: tuple[str, str] | None, expected: int) -> None:
    async with httpx.AsyncClient(base_url=sandbox.tcr_url, auth=auth) as client:
        answer = await client.post("/campaign/COJD655/migrateCnp/OPMKT")
    assert answer.status_code == expected
    if expected == 401:
        assert answer.json() == [{"code": 401, "field": None, "description": "Unauthorized"}]
        assert sandbox.state.tcr_campaigns == {}


async def test_credentials_are_configurable(make_sandbox: SandboxFactory) -> None:
    server = await make_sandbox(infobip_api_key="custom", tcr_api_key="k", tcr_api_secret="s")
    async with httpx.AsyncClient(base_url=server.infobip_url) as client:
        assert (await client.get(LIST, headers={"Authorization": "App custom"})).status_code == 200
        assert (await client.get(LIST, headers={"Authorization": "App sandbox-infobip-key"})).status_code == 401
    async with httpx.AsyncClient(base_url=server.tcr_url, auth=("k", "s")) as client:
        assert (await client.get("/campaign/COJD655")).status_code == 200
