"""The ledger names the campaigns each request concerns — from the path, the body, Infobip's UUID or
the numbers — for refused requests too, and the attempts view counts requests received (attempts)
beside successes, per endpoint and per campaign, so a resend is visible."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import httpx

from sandbox.helpers import INFOBIP_KEY, TCR_AUTH, SandboxFactory, import_and_migrate, numbers_for
from tendlc_dev.sandbox import FaultConfig, RateLimitConfig, SandboxServer

CAMPAIGNS = "/number-registration/1/campaigns"
IMPORT = "/numbers/2/numbers/import"


async def _ledger(admin: httpx.AsyncClient, **params: Any) -> list[dict[str, Any]]:
    answer = await admin.get("/ledger", params=params)
    assert answer.status_code == 200, answer.text
    entries: list[dict[str, Any]] = answer.json()["entries"]
    return entries


async def _attempts(admin: httpx.AsyncClient, **params: Any) -> dict[str, Any]:
    answer = await admin.get("/attempts", params=params)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


async def test_every_request_names_its_campaign_from_path_body_uuid_or_numbers(
    sandbox: SandboxServer, infobip: httpx.AsyncClient, tcr: httpx.AsyncClient, admin: httpx.AsyncClient
) -> None:
    numbers = numbers_for(301, 2)
    created = await import_and_migrate(infobip, tcr, "COJD301", numbers)
    await infobip.get(f"{CAMPAIGNS}/{created['id']}")
    await infobip.get(CAMPAIGNS, params={"number": numbers[1]})
    await tcr.get("/campaign/COJD301/sharing")
    await import_and_migrate(infobip, tcr, "COJD302", numbers_for(302))  # another campaign: not in the filter

    mine = await _ledger(admin, campaign="COJD301")
    assert [e["endpoint"] for e in mine] == [
        "infobip.import_numbers",  # numbers only: resolved through the migrate that named them later
        "tcr.migrate_cnp",  # path
        "infobip.migrate",  # body
        "infobip.campaign",  # Infobip UUID
        "infobip.campaigns",  # the `number` filter of the search
        "tcr.sharing",
    ]
    assert all(e["campaigns"] == ["COJD301"] for e in mine)
    assert mine[0]["numbers"] == numbers
    assert mine[3]["infobipCampaignId"] == created["id"]
    by_number = await _ledger(admin, number=numbers[0])
    assert [e["endpoint"] for e in by_number] == ["infobip.import_numbers", "infobip.migrate"]
    only_migrate = await _ledger(admin, campaign="COJD301", endpoint="infobip.migrate")
    assert len(only_migrate) == 1
    later = await _ledger(admin, campaign="COJD301", since=mine[2]["seq"])
    assert [e["endpoint"] for e in later] == ["infobip.campaign", "infobip.campaigns", "tcr.sharing"]


async def test_numbers_are_attributed_through_a_scenario_seeded_with_them(
    infobip: httpx.AsyncClient, admin: httpx.AsyncClient
) -> None:
    numbers = numbers_for(303)
    answer = await infobip.post(IMPORT, json={"numbers": numbers})
    assert answer.status_code == 200
    assert (await _ledger(admin, campaign="COJD303")) == []
    seeded = await admin.put("/campaigns/COJD303/scenario", json={"kind": "happy", "numbers": numbers})
    assert seeded.status_code == 200, seeded.text
    entries = await _ledger(admin, campaign="COJD303")
    assert [e["endpoint"] for e in entries] == ["infobip.import_numbers"]
    bad = await admin.put("/campaigns/COJD303/scenario", json={"numbers": ["+15551234567"]})
    assert bad.status_code == 400


async def test_requests_naming_a_number_are_counted_before_any_campaign_is_known(
    infobip: httpx.AsyncClient, admin: httpx.AsyncClient
) -> None:
    numbers = numbers_for(308)
    for _ in range(3):  # a client re-sending an import it cannot parse
        await infobip.post(IMPORT, json={"numbers": numbers})
    await infobip.post(IMPORT, json={"numbers": numbers_for(309)})
    view = await _attempts(admin, number=numbers[1])
    assert view["byEndpoint"]["infobip.import_numbers"]["attempts"] == 3
    assert view["byCampaign"] == {}  # no migrate and no seed names the campaign yet


async def test_refused_faulted_and_rate_limited_requests_are_attempts_with_their_campaign(
    make_sandbox: SandboxFactory,
) -> None:
    server = await make_sandbox(frozen_rate_limits=True, rate_limits=RateLimitConfig(enabled=True))
    assert server.base_url is not None
    async with (
        httpx.AsyncClient(base_url=server.infobip_url, headers=INFOBIP_KEY) as infobip,
        httpx.AsyncClient(base_url=server.tcr_url, auth=TCR_AUTH) as tcr,
        httpx.AsyncClient(base_url=f"{server.base_url}/_admin") as admin,
    ):
        numbers = numbers_for(304)
        assert (await infobip.post(IMPORT, json={"numbers": numbers})).status_code == 200
        assert (await tcr.post("/campaign/COJD304/migrateCnp/OPMKT")).status_code == 200
        body = {"name": "migrateCampaignCOJD304", "externalCampaignId": "COJD304", "numbers": numbers}
        assert (await infobip.post(f"{CAMPAIGNS}/migrate", json=body)).status_code == 200
        assert (await infobip.post(f"{CAMPAIGNS}/migrate", json=body)).status_code == 429  # the 1/s bucket
        wrong = {"Authorization": "App wrong"}
        assert (await infobip.post(f"{CAMPAIGNS}/migrate", json=body, headers=wrong)).status_code == 401
        await admin.put("/rate-limits", json={"enabled": False})
        assert (await infobip.post(f"{CAMPAIGNS}/migrate", json=body)).status_code == 400  # D2
        await admin.put("/faults", json={"errorProbability": 1.0, "paths": ["/migrate$"]})
        assert (await infobip.post(f"{CAMPAIGNS}/migrate", json=body)).status_code in (500, 503)
        await admin.put("/faults", json={})

        view = await _attempts(admin, campaign="COJD304")
        migrate = view["byCampaign"]["COJD304"]["infobip.migrate"]
        assert migrate["attempts"] == 5
        assert migrate["successes"] == 1
        assert migrate["attemptsAfterSuccess"] == 4
        injected = next(code for code in ("500", "503") if code in migrate["byStatus"])
        assert migrate["byStatus"] == {"200": 1, "400": 1, "401": 1, "429": 1, injected: 1}
        assert view["byCampaign"]["COJD304"]["infobip.import_numbers"]["attempts"] == 1
        assert view["byEndpoint"]["tcr.migrate_cnp"] == {
            "attempts": 1, "successes": 1, "attemptsAfterSuccess": 0, "byStatus": {"200": 1}}
        faulted = await _ledger(admin, campaign="COJD304", endpoint="infobip.migrate")
        assert [e["fault"] for e in faulted][-1] == "error"
        assert faulted[1]["fault"] == "rate_limited"
        counters = (await admin.get("/counters")).json()
        assert counters["migrate"]["COJD304"]["attempts"] == 5  # the incremental counters agree


async def test_a_dropped_answer_after_effect_is_a_success_and_the_resend_an_attempt_after_it(
    make_sandbox: SandboxFactory,
) -> None:
    server = await make_sandbox(faults=FaultConfig(dropProbability=1.0, dropAfterEffectShare=1.0, paths=["/migrate$"]))
    assert server.base_url is not None
    async with (
        httpx.AsyncClient(base_url=server.infobip_url, headers=INFOBIP_KEY) as infobip,
        httpx.AsyncClient(base_url=f"{server.base_url}/_admin") as admin,
    ):
        numbers = numbers_for(305)
        await infobip.post(IMPORT, json={"numbers": numbers})
        body = {"name": "migrateCampaignCOJD305", "externalCampaignId": "COJD305", "numbers": numbers}
        for _ in range(2):
            with contextlib.suppress(httpx.TransportError):
                await infobip.post(f"{CAMPAIGNS}/migrate", json=body)
        view = await _attempts(admin, campaign="COJD305", endpoint="infobip.migrate")
        migrate = view["byCampaign"]["COJD305"]["infobip.migrate"]
        assert (migrate["attempts"], migrate["successes"], migrate["attemptsAfterSuccess"]) == (2, 1, 1)
        assert migrate["byStatus"] == {"dropped": 2}  # the resend was refused (D2), then its answer dropped too


async def test_ledger_concerns_survive_a_restart_from_the_state_file(
    make_sandbox: SandboxFactory, tmp_path: Path
) -> None:
    state_file = tmp_path / "sandbox.json"
    first = await make_sandbox(state_file=state_file)
    numbers = numbers_for(306)
    async with httpx.AsyncClient(base_url=first.infobip_url, headers=INFOBIP_KEY) as infobip:
        await infobip.post(IMPORT, json={"numbers": numbers})
        # A refused migrate (numbers not imported) still tells which campaign the numbers are for.
        refused = await infobip.post(
            f"{CAMPAIGNS}/migrate",
            json={"name": "x", "externalCampaignId": "COJD306", "numbers": [*numbers, "19999999999"]},
        )
        assert refused.status_code == 400
    await first.stop()
    second = await make_sandbox(state_file=state_file)
    assert second.base_url is not None
    async with httpx.AsyncClient(base_url=f"{second.base_url}/_admin") as admin:
        entries = await _ledger(admin, campaign="COJD306")
    assert [e["endpoint"] for e in entries] == ["infobip.import_numbers", "infobip.migrate"]
    assert entries[1]["numbers"] == [*numbers, "19999999999"]


async def test_attempts_view_rejects_bad_bounds_and_reset_forgets_attributions(
    sandbox: SandboxServer, infobip: httpx.AsyncClient, tcr: httpx.AsyncClient, admin: httpx.AsyncClient
) -> None:
    assert (await admin.get("/attempts", params={"since": "x"})).status_code == 400
    await import_and_migrate(infobip, tcr, "COJD307", numbers_for(307))
    assert (await _attempts(admin))["byEndpoint"]["infobip.migrate"]["attempts"] == 1
    await admin.post("/reset")
    assert (await _attempts(admin)) == {"byEndpoint": {}, "byCampaign": {}, "lastSeq": 0}
    assert sandbox.ledger.number_owners == {}
