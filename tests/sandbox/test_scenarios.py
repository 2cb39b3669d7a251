"""Scenario progression on the sandbox clock: happy, own NNID, rejected, TCR declined, expired,
stuck, temporary TCR errors, import not enabled — each chosen by the ID rule or the admin API."""

from __future__ import annotations

import httpx

from sandbox.helpers import import_and_migrate, numbers_for
from tendlc_dev.sandbox import SandboxServer

CAMPAIGNS = "/number-registration/1/campaigns"


async def stage_of(infobip: httpx.AsyncClient, campaign_id: str) -> str:
    stage: str = (await infobip.get(f"{CAMPAIGNS}/{campaign_id}")).json()["stage"]
    return stage


async def test_happy_path_moves_through_osr_update_to_registered_on_schedule(
    sandbox: SandboxServer, infobip: httpx.AsyncClient, tcr: httpx.AsyncClient, admin: httpx.AsyncClient
) -> None:
    schedule = sandbox.config.schedule
    created = await import_and_migrate(infobip, tcr, "COJD655", numbers_for(10))
    sharing = (await tcr.get("/campaign/COJD655/sharing")).json()["sharedByMe"]
    assert sharing["sharingStatus"] == "PENDING"
    assert sharing["cnpMigration"] is True

    sandbox.advance(schedule.sharing_decision_after)
    assert (await tcr.get("/campaign/COJD655/sharing")).json()["sharedByMe"]["sharingStatus"] == "ACCEPTED"
    assert await stage_of(infobip, created["id"]) == "IN_MIGRATION"

    sandbox.advance(schedule.osr_update_after)
    view = (await admin.get("/campaigns/COJD655")).json()["infobipCampaigns"][0]
    assert view["stage"] == "IN_MIGRATION"
    assert view["downtimeStartedAt"] is not None, "OSR update (downtime start) is recorded"
    assert view["registeredDate"] is None

    sandbox.advance(schedule.registration_after_osr - 1)
    assert await stage_of(infobip, created["id"]) == "IN_MIGRATION"
    sandbox.advance(1)
    assert await stage_of(infobip, created["id"]) == "REGISTERED"
    view = (await admin.get("/campaigns/COJD655")).json()["infobipCampaigns"][0]
    assert view["downtimeEndedAt"] == view["registeredDate"]


async def test_one_long_advance_records_the_same_history_as_small_steps(
    sandbox: SandboxServer, infobip: httpx.AsyncClient, tcr: httpx.AsyncClient
) -> None:
    await import_and_migrate(infobip, tcr, "COJD656", numbers_for(11))
    start = sandbox.clock.now()
    sandbox.advance(10 * 86400)
    campaign = sandbox.state.latest_campaign("COJD656")
    assert campaign is not None
    schedule = sandbox.config.schedule
    expected_osr = start + schedule.sharing_decision_after + schedule.osr_update_after
    assert campaign.osr_updated_at is not None
    assert abs(campaign.osr_updated_at - expected_osr) < 1e-6
    assert campaign.registered_at is not None
    assert abs(campaign.registered_at - (expected_osr + schedule.registration_after_osr)) < 1e-6


async def test_migration_waits_for_tcr_acceptance(
    sandbox: SandboxServer, infobip: httpx.AsyncClient, tcr: httpx.AsyncClient
) -> None:
    created = await import_and_migrate(infobip, None, "COJD658", numbers_for(12))
    sandbox.advance(10 * 86400)
    assert await stage_of(infobip, created["id"]) == "IN_MIGRATION", "Infobip never received the campaign"
    assert (await tcr.post("/campaign/COJD658/migrateCnp/OPMKT")).status_code == 200
    sandbox.advance(10 * 86400)
    assert await stage_of(infobip, created["id"]) == "REGISTERED"


async def test_own_nnid_waits_for_the_customers_osr_confirmation(
    sandbox: SandboxServer, infobip: httpx.AsyncClient, tcr: httpx.AsyncClient, admin: httpx.AsyncClient
) -> None:
    created = await import_and_migrate(infobip, tcr, "COWN001", numbers_for(13), own_nnid=True)
    sandbox.advance(30 * 86400)
    assert await stage_of(infobip, created["id"]) == "IN_MIGRATION"
    view = (await admin.get("/campaigns/COWN001")).json()["infobipCampaigns"][0]
    assert view["waitsForCustomerOsr"] is True
    assert view["downtimeStartedAt"] is None

    confirmed = await admin.post("/campaigns/COWN001/osr-updated")
    assert confirmed.status_code == 200
    assert confirmed.json()["downtimeStartedAt"] is not None
    sandbox.advance(sandbox.config.schedule.registration_after_osr)
    assert await stage_of(infobip, created["id"]) == "REGISTERED"


async def test_osr_confirmation_is_refused_for_infobip_managed_nnid(
    infobip: httpx.AsyncClient, tcr: httpx.AsyncClient, admin: httpx.AsyncClient
) -> None:
    await import_and_migrate(infobip, tcr, "COJD659", numbers_for(14))
    assert (await admin.post("/campaigns/COJD659/osr-updated")).status_code == 409
    assert (await admin.post("/campaigns/CNONE01/osr-updated")).status_code == 404


async def test_crj_prefix_is_rejected_with_infobip_reasons(
    sandbox: SandboxServer, infobip: httpx.AsyncClient, tcr: httpx.AsyncClient
) -> None:
    created = await import_and_migrate(infobip, tcr, "CRJ1234", numbers_for(15))
    sandbox.advance(sandbox.config.schedule.rejection_after - 1)
    assert await stage_of(infobip, created["id"]) == "IN_MIGRATION"
    sandbox.advance(1)
    body = (await infobip.get(f"{CAMPAIGNS}/{created['id']}")).json()
    assert body["stage"] == "REJECTED"
    assert body["campaignFeedback"]["rejectionReasons"]


async def test_cdc_prefix_is_declined_at_tcr_with_an_explanation(
    sandbox: SandboxServer, infobip: httpx.AsyncClient, tcr: httpx.AsyncClient
) -> None:
    created = await import_and_migrate(infobip, tcr, "CDC1234", numbers_for(16))
    sandbox.advance(sandbox.config.schedule.sharing_decision_after)
    shared = (await tcr.get("/campaign/CDC1234/sharing")).json()["sharedByMe"]
    assert shared["sharingStatus"] == "DECLINED"
    assert shared["explanation"]
    sandbox.advance(30 * 86400)
    assert await stage_of(infobip, created["id"]) == "IN_MIGRATION", "Infobip never receives a declined campaign"
    again = await tcr.post("/campaign/CDC1234/migrateCnp/OPMKT")
    assert again.status_code == 200, "a declined election may be requested again"


async def test_cex_prefix_is_expired_at_tcr(tcr: httpx.AsyncClient) -> None:
    campaign = (await tcr.get("/campaign/CEX1234")).json()
    assert campaign["status"] == "EXPIRED"
    answer = await tcr.post("/campaign/CEX1234/migrateCnp/OPMKT")
    assert answer.status_code == 400
    assert answer.json() == [{"code": 518, "field": "campaignId", "description": "Campaign CEX1234 is expired"}]
    assert (await tcr.get("/campaign/CEX1234/sharing")).json()["sharedByMe"] is None


async def test_cst_prefix_stays_in_migration_forever(
    sandbox: SandboxServer, infobip: httpx.AsyncClient, tcr: httpx.AsyncClient
) -> None:
    created = await import_and_migrate(infobip, tcr, "CST1234", numbers_for(17))
    sandbox.advance(365 * 86400)
    assert await stage_of(infobip, created["id"]) == "IN_MIGRATION"


async def test_ctf_prefix_answers_temporary_tcr_errors_before_success(tcr: httpx.AsyncClient) -> None:
    first = await tcr.post("/campaign/CTF1234/migrateCnp/OPMKT")
    second = await tcr.post("/campaign/CTF1234/migrateCnp/OPMKT")
    third = await tcr.post("/campaign/CTF1234/migrateCnp/OPMKT")
    assert (first.status_code, first.json()[0]["code"]) == (400, 591)
    assert (second.status_code, second.json()[0]["code"]) == (400, 630)
    assert third.status_code == 200
    assert third.json()["sharingStatus"] == "PENDING"


async def test_second_election_for_the_same_cnp_is_525_and_unknown_cnp_is_refused(tcr: httpx.AsyncClient) -> None:
    assert (await tcr.post("/campaign/COJD660/migrateCnp/OPMKT")).status_code == 200
    second = await tcr.post("/campaign/COJD660/migrateCnp/OPMKT")
    assert second.status_code == 400
    assert second.json()[0]["code"] == 525
    assert second.json()[0]["field"] == "upstreamCnpId"
    unknown = await tcr.post("/campaign/COJD661/migrateCnp/NOPE")
    assert unknown.status_code == 400
    assert unknown.json()[0]["field"] == "upstreamCnpId"
    missing = await tcr.get("/campaign/not-an-id")
    assert missing.status_code == 404
    assert missing.json()[0]["code"] == 404


async def test_admin_scenario_overrides_the_id_rule(
    sandbox: SandboxServer, infobip: httpx.AsyncClient, tcr: httpx.AsyncClient, admin: httpx.AsyncClient
) -> None:
    chosen = await admin.put(
        "/campaigns/COJD662/scenario",
        json={"kind": "rejected", "rejectionDetails": [{"errorCode": "2002", "description": "No opt-in proof"}]},
    )
    assert chosen.status_code == 200
    created = await import_and_migrate(infobip, tcr, "COJD662", numbers_for(18))
    sandbox.advance(sandbox.config.schedule.rejection_after)
    body = (await infobip.get(f"{CAMPAIGNS}/{created['id']}")).json()
    assert body["campaignFeedback"]["rejectionReasons"] == ["No opt-in proof"]

    assert (await admin.put("/campaigns/CRJ9999/scenario", json={"kind": "happy"})).status_code == 200
    assert (await admin.get("/campaigns/CRJ9999")).json()["scenario"]["kind"] == "happy"
    assert (await admin.delete("/campaigns/CRJ9999/scenario")).json()["scenario"]["kind"] == "rejected"
    assert (await admin.put("/campaigns/CRJ9999/scenario", json={"kind": "dancing"})).status_code == 400
    assert (await admin.put("/campaigns/CRJ9999/scenario", json={"kind": "tcr_expired"})).status_code == 200
    assert (await tcr.get("/campaign/CRJ9999")).json()["status"] == "EXPIRED"


async def test_import_not_enabled_by_number_rule_and_by_admin_switch(
    sandbox: SandboxServer, infobip: httpx.AsyncClient, admin: httpx.AsyncClient
) -> None:
    body = {"numbers": ["15554030000"], "country": "US", "type": "VIRTUAL_LONG_NUMBER", "capabilities": ["SMS"]}
    forbidden = await infobip.post("/numbers/2/numbers/import", json=body)
    assert forbidden.status_code == 403
    assert forbidden.json()["requestError"]["serviceException"]["messageId"] == "FORBIDDEN"
    assert sandbox.state.numbers == {}

    assert (await admin.put("/account", json={"importEnabled": False})).json() == {"importEnabled": False}
    body["numbers"] = ["12025550100"]
    assert (await infobip.post("/numbers/2/numbers/import", json=body)).status_code == 403
    await admin.put("/account", json={"importEnabled": True})
    assert (await infobip.post("/numbers/2/numbers/import", json=body)).status_code == 200


async def test_import_is_idempotent(infobip: httpx.AsyncClient) -> None:
    body = {"numbers": ["12025550100"], "country": "US", "type": "VIRTUAL_LONG_NUMBER", "capabilities": ["SMS"]}
    first = await infobip.post("/numbers/2/numbers/import", json=body)
    body["numbers"] = ["12025550100", "12025550101"]
    second = await infobip.post("/numbers/2/numbers/import", json=body)
    assert first.json() == {"results": [{"number": "12025550100", "status": "IMPORTED"}]}
    assert second.json() == {
        "results": [
            {"number": "12025550100", "status": "ALREADY_IMPORTED"},
            {"number": "12025550101", "status": "IMPORTED"},
        ]
    }


async def test_admin_can_force_any_stage_including_unknown_ones(
    sandbox: SandboxServer, infobip: httpx.AsyncClient, tcr: httpx.AsyncClient, admin: httpx.AsyncClient
) -> None:
    created = await import_and_migrate(infobip, tcr, "COJD663", numbers_for(19))
    forced = await admin.post("/campaigns/COJD663/stage", json={"stage": "SOMETHING_NEW"})
    assert forced.status_code == 200
    assert await stage_of(infobip, created["id"]) == "SOMETHING_NEW"
    await admin.post("/campaigns/COJD663/stage", json={"stage": "DEREGISTERED"})
    assert await stage_of(infobip, created["id"]) == "DEREGISTERED"
    again = await infobip.post(
        f"{CAMPAIGNS}/migrate",
        json={"name": "again", "externalCampaignId": "COJD663", "numbers": numbers_for(19)},
    )
    assert again.status_code == 200, "after a final stage a new migration is accepted"
