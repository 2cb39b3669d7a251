"""What a read-only preflight can find out, seeded through the admin API: TCR's campaign record
(expired, pooled), a campaign suspended at an MNO, an election already open towards another CNP,
and numbers already held by another Infobip campaign in the account (found by the documented
`number` filter). Each is checked through the documented GET endpoints only, and the refusals a
write would meet are the ones the decisions name."""

from __future__ import annotations

from typing import Any

import httpx
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from sandbox.helpers import SpecValidator, numbers_for
from tendlc_dev.sandbox import SandboxServer
from tendlc_dev.sandbox.openapi import openapi_document

CAMPAIGNS = "/number-registration/1/campaigns"
TCR_FIELDS = {
    "campaignId", "cspId", "resellerId", "status", "createDate", "autoRenewal", "billedDate", "brandId", "vertical",
    "usecase", "subUsecases", "description", "embeddedLink", "embeddedPhone", "termsAndConditions", "numberPool",
    "ageGated", "directLending", "subscriberOptin", "subscriberOptout", "subscriberHelp", "sample1", "sample2",
    "sample3", "sample4", "sample5", "messageFlow", "helpMessage", "optinKeywords", "optoutKeywords", "helpKeywords",
    "optinMessage", "optoutMessage", "referenceId", "mock", "expirationDate", "nextRenewalOrExpirationDate",
}  # fmt: skip


def _own_schema(name: str, instance: Any) -> None:
    """Validate against a component of the sandbox's own OpenAPI document (TCR publishes none)."""
    document = openapi_document()
    registry: Registry[Any] = Registry().with_resource(
        "urn:sandbox", Resource.from_contents(document, default_specification=DRAFT202012)
    )
    schema = {"$ref": f"urn:sandbox#/components/schemas/{name}"}
    Draft202012Validator(schema, registry=registry, format_checker=Draft202012Validator.FORMAT_CHECKER).validate(
        instance
    )


async def test_tcr_campaign_record_of_an_active_and_an_expired_campaign(tcr: httpx.AsyncClient) -> None:
    active = (await tcr.get("/campaign/COJD701")).json()
    _own_schema("TcrCampaign", active)
    assert set(active) == TCR_FIELDS
    assert (active["status"], active["autoRenewal"], active["expirationDate"], active["mock"]) == (
        "ACTIVE", True, None, False)
    assert active["nextRenewalOrExpirationDate"] > active["createDate"]
    expired = (await tcr.get("/campaign/CEX0701")).json()
    _own_schema("TcrCampaign", expired)
    assert (expired["status"], expired["autoRenewal"]) == ("EXPIRED", False)
    assert expired["createDate"] < expired["expirationDate"] == expired["nextRenewalOrExpirationDate"]
    refused = await tcr.post("/campaign/CEX0701/migrateCnp/OPMKT")
    assert (refused.status_code, refused.json()[0]["code"]) == (400, 518)
    assert (await tcr.get("/campaign/CEX0701/operationStatus")).json() == {}


async def test_seeded_expired_and_pooled_campaign(tcr: httpx.AsyncClient, admin: httpx.AsyncClient) -> None:
    await tcr.get("/campaign/COJD702")  # already seen: the seed changes the existing record
    seeded = await admin.put("/campaigns/COJD702/scenario", json={"kind": "tcr_expired", "numberPool": True})
    assert seeded.status_code == 200, seeded.text
    record = (await tcr.get("/campaign/COJD702")).json()
    assert (record["status"], record["numberPool"]) == ("EXPIRED", True)


async def test_a_suspended_campaign_is_active_with_a_suspended_mno(
    tcr: httpx.AsyncClient, admin: httpx.AsyncClient
) -> None:
    await admin.put("/campaigns/COJD703/scenario", json={"suspendedMnos": ["10035"]})
    record = (await tcr.get("/campaign/COJD703")).json()
    assert record["status"] == "ACTIVE"  # TCR's status knows only ACTIVE and EXPIRED (D32)
    status = await tcr.get("/campaign/COJD703/operationStatus")
    assert status.status_code == 200
    _own_schema("TcrOperationStatus", status.json())
    assert status.json() == {"10017": "APPROVED", "10035": "SUSPENDED", "10037": "APPROVED"}
    refused = await tcr.post("/campaign/COJD703/migrateCnp/OPMKT")
    assert refused.status_code == 400
    assert refused.json() == [
        {"code": 526, "field": "campaignId", "description": "Campaign COJD703 is suspended at T-Mobile (10035)"}
    ]
    assert (await tcr.get("/campaign/COJD703/sharing")).json()["sharedByMe"] is None
    assert (await tcr.get("/campaign/nope/operationStatus")).status_code == 404


async def test_an_election_already_open_towards_another_cnp(
    sandbox: SandboxServer, tcr: httpx.AsyncClient, admin: httpx.AsyncClient
) -> None:
    election = {"upstreamCnpId": "OTHERCNP", "sharingStatus": "PENDING"}
    assert (await admin.put("/campaigns/COJD704/scenario", json={"election": election})).status_code == 200
    sandbox.advance(100_000)  # a seeded election is held: the schedule never decides it
    shared = (await tcr.get("/campaign/COJD704/sharing")).json()["sharedByMe"]
    assert (shared["upstreamCnpId"], shared["sharingStatus"]) == ("OTHERCNP", "PENDING")
    refused = await tcr.post("/campaign/COJD704/migrateCnp/OPMKT")
    assert refused.status_code == 400
    assert refused.json()[0]["code"] == 525
    assert "OTHERCNP" in refused.json()[0]["description"]
    unknown_status = {"election": {"upstreamCnpId": "X", "sharingStatus": "?"}}
    bad = await admin.put("/campaigns/COJD704/scenario", json=unknown_status)
    assert bad.status_code == 400


async def test_numbers_already_held_by_another_campaign_are_found_by_the_number_filter(
    infobip: httpx.AsyncClient, admin: httpx.AsyncClient, numbers_spec: SpecValidator
) -> None:
    numbers = numbers_for(705, 3)
    seeded = await admin.post("/infobip-campaigns", json={"externalCampaignId": "COTHER1", "numbers": numbers[:2]})
    assert seeded.status_code == 201, seeded.text
    assert seeded.json()["stage"] == "REGISTERED"
    found = (await infobip.get(CAMPAIGNS, params={"number": numbers[1]})).json()
    numbers_spec.validate("PageResponseCampaign", found)
    assert [(c["id"], c["externalCampaignId"], c["stage"]) for c in found["results"]] == [
        (seeded.json()["id"], "COTHER1", "REGISTERED")]
    owned = (await infobip.get("/numbers/1/numbers")).json()
    assert [n["number"] for n in owned["numbers"]] == numbers[:2]  # the account owns them
    assert (await infobip.get(CAMPAIGNS, params={"number": numbers[2]})).json()["results"] == []
    networks = (await infobip.get(f"{CAMPAIGNS}/{seeded.json()['id']}/network-statuses")).json()
    assert {n["network"] for n in networks} == {"ATT", "T_MOBILE", "VERIZON"}
    ledger = (await admin.get("/ledger", params={"number": numbers[1]})).json()["entries"]
    assert [e["campaigns"] for e in ledger] == [["COTHER1"]]  # only the search; the seed is the test's hand
    for bad in ({"externalCampaignId": "nope", "numbers": numbers}, {"externalCampaignId": "COTHER2", "numbers": []},
                {"externalCampaignId": "COTHER2", "numbers": ["+1555"]}):  # fmt: skip
        assert (await admin.post("/infobip-campaigns", json=bad)).status_code == 400


async def test_preflight_reads_make_no_write(
    infobip: httpx.AsyncClient, tcr: httpx.AsyncClient, admin: httpx.AsyncClient
) -> None:
    """The reads a preflight uses are all in the ledger as GETs, attributed to the campaign."""
    numbers = numbers_for(706)
    await admin.put("/campaigns/COJD706/scenario", json={"numbers": numbers})
    await tcr.get("/campaign/COJD706")
    await tcr.get("/campaign/COJD706/sharing")
    await tcr.get("/campaign/COJD706/operationStatus")
    await infobip.get("/numbers/1/numbers", params={"number": numbers[0]})
    await infobip.get(CAMPAIGNS, params={"number": numbers[0], "type": "EXTERNAL_TEN_DIGIT_LONG_CODE"})
    entries = (await admin.get("/ledger", params={"campaign": "COJD706"})).json()["entries"]
    assert [e["endpoint"] for e in entries] == [
        "tcr.campaign", "tcr.sharing", "tcr.operation_status", "infobip.owned_numbers", "infobip.campaigns"]
    assert {e["method"] for e in entries} == {"GET"}
    view = (await admin.get("/attempts", params={"campaign": "COJD706"})).json()["byCampaign"]["COJD706"]
    assert sum(t["successes"] for t in view.values()) == 0
