"""Fault injection: errors and dropped connections before any effect, dropped and slow answers after
the effect (the client cannot know), temporary TCR codes, path filters, and seeded reproducibility.
The ledger tells which requests took effect, so "exactly once" stays provable under faults."""

from __future__ import annotations

import time

import httpx
import pytest

from sandbox.helpers import INFOBIP_KEY, SandboxFactory, numbers_for
from tendlc_dev.sandbox import FaultConfig
from tendlc_dev.sandbox.faults import FaultInjector

MIGRATE = "/number-registration/1/campaigns/migrate"


def migrate_body(tcr_id: str, numbers: list[str]) -> dict[str, object]:
    return {"name": f"migrateCampaign{tcr_id}", "externalCampaignId": tcr_id, "numbers": numbers}


async def test_injected_5xx_changes_nothing(make_sandbox: SandboxFactory) -> None:
    server = await make_sandbox(faults=FaultConfig(seed=1, error_probability=1.0), require_imported_numbers=False)
    async with httpx.AsyncClient(base_url=server.infobip_url, headers=INFOBIP_KEY) as client:
        answers = [await client.post(MIGRATE, json=migrate_body("COJD655", numbers_for(1))) for _ in range(6)]
    assert {a.status_code for a in answers} <= {500, 503}
    assert {a.json()["requestError"]["serviceException"]["messageId"] for a in answers} <= {
        "GENERAL_ERROR",
        "SERVICE_UNAVAILABLE",
    }
    assert server.state.campaigns == {}
    counter = server.ledger.counters["migrate"]["COJD655"]
    assert (counter.attempts, counter.successes) == (6, 0)


async def test_connection_dropped_before_the_effect(make_sandbox: SandboxFactory) -> None:
    server = await make_sandbox(
        faults=FaultConfig(drop_probability=1.0, drop_after_effect_share=0.0), require_imported_numbers=False
    )
    async with httpx.AsyncClient(base_url=server.infobip_url, headers=INFOBIP_KEY) as client:
        with pytest.raises(httpx.TransportError):
            await client.post(MIGRATE, json=migrate_body("COJD655", numbers_for(1)))
    assert server.state.campaigns == {}
    entry = server.ledger.entries[-1]
    assert (entry.status, entry.fault, entry.effect) == (None, "drop_before", False)
    assert server.ledger.counters["migrate"]["COJD655"].by_status == {"dropped": 1}


async def test_connection_dropped_after_the_effect_is_counted_as_success(make_sandbox: SandboxFactory) -> None:
    server = await make_sandbox(
        faults=FaultConfig(drop_probability=1.0, drop_after_effect_share=1.0), require_imported_numbers=False
    )
    async with httpx.AsyncClient(base_url=server.infobip_url, headers=INFOBIP_KEY) as client:
        with pytest.raises(httpx.TransportError):
            await client.post(MIGRATE, json=migrate_body("COJD655", numbers_for(1)))
        with pytest.raises(httpx.TransportError):
            await client.post(MIGRATE, json=migrate_body("COJD655", numbers_for(1)))
    assert len(server.state.campaigns) == 1, "the first took effect; the blind resend hit D2"
    counter = server.ledger.counters["migrate"]["COJD655"]
    assert (counter.attempts, counter.successes) == (2, 1)


async def test_slow_answer_outlives_the_client_timeout_but_takes_effect(make_sandbox: SandboxFactory) -> None:
    server = await make_sandbox(
        faults=FaultConfig(slow_probability=1.0, slow_seconds=0.3), require_imported_numbers=False
    )
    async with httpx.AsyncClient(base_url=server.infobip_url, headers=INFOBIP_KEY, timeout=0.1) as client:
        with pytest.raises(httpx.ReadTimeout):
            await client.post(MIGRATE, json=migrate_body("COJD655", numbers_for(1)))
    assert len(server.state.campaigns) == 1
    assert server.ledger.counters["migrate"]["COJD655"].successes == 1


async def test_temporary_tcr_codes_change_nothing(make_sandbox: SandboxFactory) -> None:
    server = await make_sandbox(faults=FaultConfig(seed=3, tcr_temporary_probability=1.0))
    async with httpx.AsyncClient(base_url=server.tcr_url, auth=("sandbox-tcr-key", "sandbox-tcr-secret")) as client:
        answers = [await client.post("/campaign/COJD655/migrateCnp/OPMKT") for _ in range(5)]
    assert {a.status_code for a in answers} == {400}
    assert {a.json()[0]["code"] for a in answers} <= {591, 630}
    tcr = server.state.tcr_campaigns.get("COJD655")
    assert tcr is None or tcr.sharing is None


async def test_faults_follow_the_path_filter_and_the_admin_api(make_sandbox: SandboxFactory) -> None:
    server = await make_sandbox()
    async with httpx.AsyncClient(base_url=f"{server.base_url}/_admin") as admin:
        set_answer = await admin.put("/faults", json={"errorProbability": 1.0, "paths": ["/migrate$"]})
        assert set_answer.status_code == 200
        assert (await admin.put("/faults", json={"errorProbability": 2})).status_code == 400
    async with httpx.AsyncClient(base_url=server.infobip_url, headers=INFOBIP_KEY) as client:
        assert (await client.get("/number-registration/1/campaigns")).status_code == 200
        assert (await client.post(MIGRATE, json={})).status_code in (500, 503)
    async with httpx.AsyncClient(base_url=f"{server.base_url}/_admin") as admin:
        assert (await admin.get("/faults")).json()["injected"] == {"error": 1}


def test_the_same_seed_meets_the_same_faults() -> None:
    config = FaultConfig(
        seed=42,
        error_probability=0.1,
        drop_probability=0.1,
        slow_probability=0.1,
        tcr_temporary_probability=0.1,
        webhook_loss_probability=0.3,
    )
    runs = []
    for _ in range(2):
        injector = FaultInjector(config)
        runs.append(
            [injector.decide("tcr" if i % 2 else "infobip", "/x") for i in range(200)]
            + [injector.lose_webhook() for _ in range(50)]
        )
    assert runs[0] == runs[1]
    kinds = {d.kind for d in runs[0] if not isinstance(d, bool)}
    assert {"error", "drop_before", "drop_after", "slow", "tcr_temporary", None} <= kinds
    other = FaultInjector(config.model_copy(update={"seed": 43}))
    assert [other.decide("infobip", "/x") for _ in range(200)] != runs[0][:200]


async def test_stop_does_not_wait_for_a_held_back_answer(make_sandbox: SandboxFactory) -> None:
    server = await make_sandbox(faults=FaultConfig(slow_probability=1.0, slow_seconds=30))
    async with httpx.AsyncClient(base_url=server.infobip_url, headers=INFOBIP_KEY, timeout=0.2) as client:
        with pytest.raises(httpx.ReadTimeout):
            await client.get("/number-registration/1/campaigns")
    started = time.monotonic()
    await server.stop()
    assert time.monotonic() - started < 10
