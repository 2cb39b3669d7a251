"""The published Numbers API list of owned numbers (`GET /numbers/1/numbers`) and the published
`add-numbers` of the Number Registration API, against the contract: parameters, answers validated
against the published schemas, limits (49 / 35,000 / 5,000 per call), the REGISTERED-only rule,
the asynchronous 202, rate limits, and their place in the ledger."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from sandbox.helpers import INFOBIP_KEY, SandboxFactory, SpecValidator, import_and_migrate, numbers_for
from tendlc_dev.sandbox import RateLimitConfig, SandboxServer
from tendlc_dev.sandbox.model import number_key

CAMPAIGNS = "/number-registration/1/campaigns"
IMPORT = "/numbers/2/numbers/import"
OWNED = "/numbers/1/numbers"
ALL_STEPS = 100_000


async def _import(infobip: httpx.AsyncClient, numbers: list[str]) -> None:
    for start in range(0, len(numbers), 100):
        answer = await infobip.post(IMPORT, json={"numbers": numbers[start : start + 100]})
        assert answer.status_code == 200, answer.text


async def _registered(
    sandbox: SandboxServer, infobip: httpx.AsyncClient, tcr: httpx.AsyncClient, tcr_id: str, numbers: list[str],
    pool: str | None = None,
) -> dict[str, Any]:  # fmt: skip
    await _import(infobip, numbers)
    assert (await tcr.post(f"/campaign/{tcr_id}/migrateCnp/OPMKT")).status_code == 200
    body = {"name": f"migrateCampaign{tcr_id}", "externalCampaignId": tcr_id, "numberPoolID": pool, "numbers": numbers}
    created = await infobip.post(f"{CAMPAIGNS}/migrate", json=body)
    assert created.status_code == 200, created.text
    sandbox.advance(ALL_STEPS)
    campaign: dict[str, Any] = (await infobip.get(f"{CAMPAIGNS}/{created.json()['id']}")).json()
    assert campaign["stage"] == "REGISTERED"
    return campaign


async def test_owned_numbers_list_in_the_published_shape_with_search_and_paging(
    infobip: httpx.AsyncClient, numbers_spec: SpecValidator
) -> None:
    numbers = numbers_for(601, 5)
    await _import(infobip, numbers)
    everything = await infobip.get(OWNED)
    assert everything.status_code == 200
    numbers_spec.validate("NumbersResponse", everything.json())
    assert everything.json()["numberCount"] == 5
    first = everything.json()["numbers"][0]
    assert (first["number"], first["numberKey"], first["country"], first["type"]) == (
        numbers[0], number_key(numbers[0]), "US", "VIRTUAL_LONG_NUMBER")
    page = (await infobip.get(OWNED, params={"limit": 2, "page": 2})).json()
    assert ([n["number"] for n in page["numbers"]], page["numberCount"]) == ([numbers[4]], 5)
    searched = (await infobip.get(OWNED, params={"number": numbers[3]})).json()
    assert [n["number"] for n in searched["numbers"]] == [numbers[3]]
    assert (await infobip.get(OWNED, params={"number": "19999999999"})).json() == {"numbers": [], "numberCount": 0}
    for bad in ({"limit": 0}, {"limit": "x"}, {"page": -1}, {"limit": 1001}):
        refused = await infobip.get(OWNED, params=bad)
        assert refused.status_code == 400
        numbers_spec.validate("ApiException", refused.json())


async def test_owned_numbers_list_is_a_token_bucket_of_one_per_second_burst_two(make_sandbox: SandboxFactory) -> None:
    server = await make_sandbox(frozen_rate_limits=True, rate_limits=RateLimitConfig(enabled=True))
    async with httpx.AsyncClient(base_url=server.infobip_url, headers=INFOBIP_KEY) as infobip:
        statuses = [(await infobip.get(OWNED)).status_code for _ in range(3)]
        other = await infobip.get(CAMPAIGNS)  # a different bucket
    assert statuses == [200, 200, 429]
    assert other.status_code == 200
    assert server.context.rate_limiter.limit_for("numbers-owned") == (2.0, 1.0)


async def test_add_numbers_to_a_registered_pooled_campaign_is_asynchronous(
    sandbox: SandboxServer, infobip: httpx.AsyncClient, tcr: httpx.AsyncClient, admin: httpx.AsyncClient,
    numbers_spec: SpecValidator,
) -> None:  # fmt: skip
    numbers = numbers_for(602, 260)
    campaign = await _registered(sandbox, infobip, tcr, "COJD602", numbers[:200], pool="POOL602")
    await _import(infobip, numbers[200:])
    request = {"numbers": numbers[200:230]}
    numbers_spec.validate("UpdateCampaignRegistrationRequest", request)
    path = f"{CAMPAIGNS}/{campaign['id']}/add-numbers"
    added = await infobip.post(path, json=request)
    assert (added.status_code, added.content) == (202, b"")
    by_key = await infobip.post(path, json={"numberKeys": [number_key(n) for n in numbers[230:]], "numbers": ["x"]})
    assert by_key.status_code == 202, by_key.text  # numberKeys take precedence over numbers
    listed = (await infobip.get(f"{CAMPAIGNS}/{campaign['id']}/numbers")).json()
    assert len(listed["numberPreviews"]) == 200  # not yet
    sandbox.advance(sandbox.config.schedule.numbers_added_after)
    listed = (await infobip.get(f"{CAMPAIGNS}/{campaign['id']}/numbers")).json()
    numbers_spec.validate("NumberPreviews", listed)
    assert [p["number"] for p in listed["numberPreviews"]] == numbers
    found = (await infobip.get(CAMPAIGNS, params={"number": numbers[-1]})).json()
    assert [c["id"] for c in found["results"]] == [campaign["id"]]
    entries = (await admin.get("/ledger", params={"campaign": "COJD602", "endpoint": "infobip.add_numbers"})).json()
    assert [e["status"] for e in entries["entries"]] == [202, 202]
    assert entries["entries"][1]["numbers"] == numbers[230:]  # resolved from the numberKeys
    counters = (await admin.get("/counters")).json()["addNumbers"]["COJD602"]
    assert (counters["attempts"], counters["successes"]) == (2, 2)


async def _refusal(answer: httpx.Response, numbers_spec: SpecValidator) -> dict[str, list[str]]:
    assert answer.status_code == 400, answer.text
    numbers_spec.validate("ApiException", answer.json())
    errors: dict[str, list[str]] = answer.json()["requestError"]["serviceException"].get("validationErrors", {})
    return errors


async def test_add_numbers_refusals(
    sandbox: SandboxServer, infobip: httpx.AsyncClient, tcr: httpx.AsyncClient, numbers_spec: SpecValidator
) -> None:
    numbers = numbers_for(603, 52)
    in_migration = await import_and_migrate(infobip, tcr, "COJD604", numbers_for(604))
    early = await infobip.post(f"{CAMPAIGNS}/{in_migration['id']}/add-numbers", json={"numbers": numbers_for(604)})
    assert "campaignId" in await _refusal(early, numbers_spec)  # not REGISTERED yet
    campaign = await _registered(sandbox, infobip, tcr, "COJD603", numbers[:40])
    path = f"{CAMPAIGNS}/{campaign['id']}/add-numbers"
    assert "numbers[0]" in await _refusal(await infobip.post(path, json={"numbers": numbers[40:42]}), numbers_spec)
    await _import(infobip, numbers[40:])
    assert "numbers[1]" in await _refusal(
        await infobip.post(path, json={"numbers": [numbers[45], numbers[0]]}), numbers_spec)  # already there
    assert "numbers" in await _refusal(await infobip.post(path, json={"numbers": numbers[40:]}), numbers_spec)  # > 49
    assert "numbers" in await _refusal(await infobip.post(path, json={}), numbers_spec)
    assert "numberKeys[0]" in await _refusal(await infobip.post(path, json={"numberKeys": ["0" * 32]}), numbers_spec)
    assert "numbers[1]" in await _refusal(
        await infobip.post(path, json={"numbers": [numbers[41], numbers[41]]}), numbers_spec)
    assert (await infobip.post(path, content=b"{nope")).status_code == 400
    assert (await infobip.post(f"{CAMPAIGNS}/not-a-uuid/add-numbers", json={"numbers": numbers})).status_code == 400
    assert (await infobip.post(path, json={"numbers": numbers[40:49]})).status_code == 202  # 49 in all: allowed
    assert sandbox.state.campaigns[campaign["id"]].numbers == numbers[:40], "nothing changed before the delay"


async def test_a_pooled_campaign_holds_up_to_35000_numbers_in_batches_of_5000(
    sandbox: SandboxServer, infobip: httpx.AsyncClient, tcr: httpx.AsyncClient, numbers_spec: SpecValidator
) -> None:
    numbers = [f"1{600_000_000 + i:010d}" for i in range(35_001)]
    sandbox.state.import_numbers(numbers)  # 350 imports through HTTP would only slow the test down
    campaign = await _registered(sandbox, infobip, tcr, "COJD605", numbers[:200], pool="POOL605")
    path = f"{CAMPAIGNS}/{campaign['id']}/add-numbers"
    too_big = await infobip.post(path, json={"numbers": numbers[200:5201]})
    assert "numbers" in await _refusal(too_big, numbers_spec)
    for start in range(200, 35_000, 5000):
        answer = await infobip.post(path, json={"numbers": numbers[start : min(start + 5000, 35_000)]})
        assert answer.status_code == 202, answer.text
    last = await infobip.post(path, json={"numbers": [numbers[35_000]]})
    assert "numbers" in await _refusal(last, numbers_spec)  # the 35,001st
    sandbox.advance(sandbox.config.schedule.numbers_added_after)
    assert len(sandbox.state.campaigns[campaign["id"]].numbers) == 35_000


@pytest.mark.parametrize("accept_duplicates", [False, True])
async def test_a_resent_batch_is_an_attempt_refused_or_accepted(
    sandbox: SandboxServer, infobip: httpx.AsyncClient, tcr: httpx.AsyncClient, admin: httpx.AsyncClient,
    accept_duplicates: bool,
) -> None:  # fmt: skip
    numbers = numbers_for(606, 30)
    campaign = await _registered(sandbox, infobip, tcr, "COJD606", numbers[:10], pool="POOL606")
    await _import(infobip, numbers[10:])
    await admin.patch("/behaviour", json={"acceptDuplicates": accept_duplicates})
    path = f"{CAMPAIGNS}/{campaign['id']}/add-numbers"
    batch = {"numbers": numbers[10:]}
    statuses = [(await infobip.post(path, json=batch)).status_code for _ in range(2)]
    assert statuses == ([202, 202] if accept_duplicates else [202, 400])
    view = (await admin.get("/attempts", params={"campaign": "COJD606", "endpoint": "infobip.add_numbers"})).json()
    tally = view["byCampaign"]["COJD606"]["infobip.add_numbers"]
    assert (tally["attempts"], tally["attemptsAfterSuccess"]) == (2, 1)
    assert tally["successes"] == (2 if accept_duplicates else 1)
    sandbox.advance(sandbox.config.schedule.numbers_added_after)
    assert sandbox.state.campaigns[campaign["id"]].numbers == numbers  # a set: no number twice


async def test_add_numbers_is_rate_limited_at_one_per_second(make_sandbox: SandboxFactory) -> None:
    server = await make_sandbox(frozen_rate_limits=True, rate_limits=RateLimitConfig(enabled=True))
    async with httpx.AsyncClient(base_url=server.infobip_url, headers=INFOBIP_KEY) as infobip:
        path = f"{CAMPAIGNS}/6f1c1d4e-0000-4000-8000-000000000000/add-numbers"
        statuses = [(await infobip.post(path, json={"numbers": ["12025550100"]})).status_code for _ in range(2)]
    assert statuses == [404, 429]
