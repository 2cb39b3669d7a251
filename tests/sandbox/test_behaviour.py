"""Behaviour alternatives for what the partners do not document: the switch set itself (GET, PUT,
PATCH, reset, CLI), and the answer shapes — number import, migrate status and extra fields, error
bodies, Retry-After — each checked against the published schemas where they describe them."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from sandbox.helpers import INFOBIP_KEY, SandboxFactory, SpecValidator, import_and_migrate, numbers_for
from tendlc_dev.sandbox import FaultConfig, RateLimitConfig, SandboxServer
from tendlc_dev.sandbox.__main__ import build_config, parser
from tendlc_dev.sandbox.config import BehaviourConfig

CAMPAIGNS = "/number-registration/1/campaigns"
IMPORT = "/numbers/2/numbers/import"


async def _switch(admin: httpx.AsyncClient, **switches: Any) -> dict[str, Any]:
    answer = await admin.patch("/behaviour", json=switches)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


async def test_switches_are_read_replaced_patched_and_reset(admin: httpx.AsyncClient) -> None:
    defaults = (await admin.get("/behaviour")).json()
    assert defaults == BehaviourConfig().model_dump(mode="json", by_alias=True)
    assert defaults["importAnswer"] == "results"
    assert defaults["errorShape"] == "service_exception"
    patched = await _switch(admin, acceptDuplicates=True, import_answer="empty")  # snake_case works too
    assert (patched["acceptDuplicates"], patched["importAnswer"]) == (True, "empty")
    patched = await _switch(admin, migrateStatus=201)
    assert (patched["acceptDuplicates"], patched["migrateStatus"]) == (True, 201), "PATCH keeps the others"
    replaced = (await admin.put("/behaviour", json={"listLagSeconds": 30})).json()
    assert (replaced["acceptDuplicates"], replaced["listLagSeconds"]) == (False, 30), "PUT replaces all"
    assert (await admin.put("/behaviour", json={"importAnswer": "xml"})).status_code == 400
    assert (await admin.put("/behaviour", json={"noSuchSwitch": True})).status_code == 400
    assert (await admin.put("/behaviour", json=[1])).status_code == 400
    assert (await admin.post("/behaviour/reset")).json() == defaults


async def test_reset_restores_what_the_sandbox_was_started_with(make_sandbox: SandboxFactory) -> None:
    server = await make_sandbox(behaviour=BehaviourConfig(accept_duplicates=True))
    async with httpx.AsyncClient(base_url=f"{server.base_url}/_admin") as admin:
        await admin.put("/behaviour", json={})
        assert (await admin.get("/behaviour")).json()["acceptDuplicates"] is False
        assert (await admin.post("/behaviour/reset")).json()["acceptDuplicates"] is True


def test_command_line_flags_set_the_behaviour() -> None:
    args = parser().parse_args([
        "--accept-duplicates", "--import-answer", "accepted", "--import-delay", "30",
        "--import-already-status", "EXISTS", "--migrate-status", "201", "--extra-campaign-fields",
        "--error-shape", "api_error", "--retry-after", "--list-lag", "20", "--interim-stage", "PAUSED",
        "--interim-stage", "UPDATE_REQUESTED_BY_CARRIERS", "--interim-stage-seconds", "50",
        "--webhook-duplicates", "--webhook-reverse", "--numbers-added-after", "5",
    ])  # fmt: skip
    config = build_config(args, {})
    assert config.behaviour == BehaviourConfig(
        accept_duplicates=True, import_answer="accepted", import_delay_seconds=30, import_already_status="EXISTS",
        migrate_status=201, extra_campaign_fields=True, error_shape="api_error", send_retry_after=True,
        list_lag_seconds=20, interim_stages=["PAUSED", "UPDATE_REQUESTED_BY_CARRIERS"], interim_stage_seconds=50,
        webhook_duplicates=True, webhook_reverse=True,
    )  # fmt: skip
    assert config.schedule.numbers_added_after == 5
    assert build_config(parser().parse_args([]), {}).behaviour == BehaviourConfig()


@pytest.mark.parametrize(
    ("switches", "status", "first", "again"),
    [
        ({}, 200, {"results": [{"number": "N0", "status": "IMPORTED"}]},
         {"results": [{"number": "N0", "status": "ALREADY_IMPORTED"}]}),
        ({"importAlreadyStatus": "ALREADY_OWNED"}, 200, {"results": [{"number": "N0", "status": "IMPORTED"}]},
         {"results": [{"number": "N0", "status": "ALREADY_OWNED"}]}),
        ({"importAnswer": "numbers", "importAlreadyStatus": "DUPLICATE"}, 200,
         {"numbers": [{"phoneNumber": "N0", "result": "SUCCESS"}]},
         {"numbers": [{"phoneNumber": "N0", "result": "DUPLICATE"}]}),
        ({"importAnswer": "empty"}, 200, {}, {}),
        ({"importAnswer": "accepted"}, 202, None, None),
        ({"importAnswer": "accepted_request_id"}, 202, "requestId", "requestId"),
    ],
)  # fmt: skip
async def test_import_answers_in_each_shape(
    sandbox: SandboxServer,
    infobip: httpx.AsyncClient,
    admin: httpx.AsyncClient,
    switches: dict[str, Any],
    status: int,
    first: Any,
    again: Any,
) -> None:
    await _switch(admin, **switches)
    number = numbers_for(401, 1)[0]

    def expected(shape: Any) -> Any:
        """The parametrized shape with the placeholder N0 replaced by the imported number."""
        if isinstance(shape, dict):
            return {key: expected(value) for key, value in shape.items()}
        if isinstance(shape, list):
            return [expected(value) for value in shape]
        return number if shape == "N0" else shape

    for want in (first, again):
        answer = await infobip.post(IMPORT, json={"numbers": [number]})
        assert answer.status_code == status, answer.text
        if want is None:
            assert answer.content == b""
        elif want == "requestId":
            assert set(answer.json()) == {"requestId"}
        else:
            assert answer.json() == expected(want)
    assert sandbox.state.is_owned(number), "whatever the answer looked like, the number is owned"


async def test_asynchronous_import_owns_numbers_only_after_the_delay(
    sandbox: SandboxServer, infobip: httpx.AsyncClient, tcr: httpx.AsyncClient, admin: httpx.AsyncClient
) -> None:
    await _switch(admin, importAnswer="accepted", importDelaySeconds=120)
    numbers = numbers_for(402)
    assert (await infobip.post(IMPORT, json={"numbers": numbers})).status_code == 202
    owned = (await infobip.get("/numbers/1/numbers")).json()
    assert owned == {"numbers": [], "numberCount": 0}
    body = {"name": "migrateCampaignCOJD402", "externalCampaignId": "COJD402", "numbers": numbers}
    early = await infobip.post(f"{CAMPAIGNS}/migrate", json=body)
    assert early.status_code == 400
    assert "numbers[0]" in early.json()["requestError"]["serviceException"]["validationErrors"], "D10: not owned yet"
    sandbox.advance(120)
    owned = (await infobip.get("/numbers/1/numbers")).json()
    assert [n["number"] for n in owned["numbers"]] == numbers
    assert (await infobip.post(f"{CAMPAIGNS}/migrate", json=body)).status_code == 200


async def test_migrate_answers_201_with_unknown_fields_that_still_validate(
    infobip: httpx.AsyncClient, tcr: httpx.AsyncClient, admin: httpx.AsyncClient, numbers_spec: SpecValidator
) -> None:
    await _switch(admin, migrateStatus=201, extraCampaignFields=True)
    numbers = numbers_for(403)
    await infobip.post(IMPORT, json={"numbers": numbers})
    body = {"name": "migrateCampaignCOJD403", "externalCampaignId": "COJD403", "numbers": numbers}
    answer = await infobip.post(f"{CAMPAIGNS}/migrate", json=body)
    assert answer.status_code == 201
    created = answer.json()
    assert {"migrationRequestId", "numberCount", "carrierReviews", "sandboxApiRevision"} <= created.keys()
    numbers_spec.validate("ExternalTenDlcCampaign", created)
    fetched = (await infobip.get(f"{CAMPAIGNS}/{created['id']}")).json()
    assert fetched["numberCount"] == 2
    listed = (await infobip.get(CAMPAIGNS)).json()
    numbers_spec.validate("PageResponseCampaign", listed)
    assert "sandboxApiRevision" in listed["results"][0]


async def _every_infobip_error(server: SandboxServer, admin: httpx.AsyncClient) -> list[httpx.Response]:
    """One of each error the sandbox's Infobip side sends (400, 401, 403, 404, 405, 429, 5xx)."""
    answers = []
    async with httpx.AsyncClient(base_url=server.infobip_url, headers=INFOBIP_KEY) as infobip:
        answers.append(await infobip.post(IMPORT, json={"numbers": ["123", "123"]}))
        answers.append(await infobip.get(CAMPAIGNS, headers={"Authorization": "App wrong"}))
        answers.append(await infobip.post(IMPORT, json={"numbers": ["15554030000"]}))
        answers.append(await infobip.get(f"{CAMPAIGNS}/6f1c1d4e-0000-4000-8000-000000000000"))
        answers.append(await infobip.get("/number-registration/1/no-such-route"))
        answers.append(await infobip.delete(f"{CAMPAIGNS}/migrate"))
        answers.append(await infobip.post(f"{CAMPAIGNS}/6f1c1d4e-0000-4000-8000-000000000000/add-numbers", json={}))
        await admin.put("/rate-limits", json={"enabled": True})
        answers += [await infobip.post(IMPORT, json={"numbers": numbers_for(404, 1)}) for _ in range(2)]
        await admin.put("/rate-limits", json={"enabled": False})
        await admin.put("/faults", json={"errorProbability": 1.0, "seed": 4})
        answers.append(await infobip.get(CAMPAIGNS))
        await admin.put("/faults", json={})
    return answers


async def test_every_infobip_error_comes_in_the_chosen_published_shape(
    make_sandbox: SandboxFactory, numbers_spec: SpecValidator
) -> None:
    server = await make_sandbox(frozen_rate_limits=True, rate_limits=RateLimitConfig(enabled=False))
    async with httpx.AsyncClient(base_url=f"{server.base_url}/_admin") as admin:
        default = await _every_infobip_error(server, admin)
        await _switch(admin, errorShape="api_error", sendRetryAfter=True)
        reshaped = await _every_infobip_error(server, admin)
    statuses = [a.status_code for a in default]
    assert statuses[:9] == [400, 401, 403, 404, 404, 405, 404, 200, 429]
    assert statuses[9] in (500, 503)
    assert [a.status_code for a in reshaped] == statuses  # the same seed draws the same fault
    for old, new in zip(default, reshaped, strict=True):
        if old.status_code < 400:
            continue
        numbers_spec.validate("ApiException", old.json())
        assert "requestError" in old.json()
        numbers_spec.validate("ApiError", new.json())
        assert new.json()["errorCode"] == f"E{new.status_code}"
        assert new.json()["description"] == old.json()["requestError"]["serviceException"]["text"]
    violations = reshaped[0].json()["violations"]
    assert {"property": "numbers[0]", "violation": 'must match "^1\\d{10}$"'} in violations
    assert reshaped[8].headers["Retry-After"] == "1"
    assert "Retry-After" not in default[8].headers


async def test_tcr_errors_keep_their_shape_when_infobip_errors_change(
    admin: httpx.AsyncClient, tcr: httpx.AsyncClient
) -> None:
    await _switch(admin, errorShape="api_error")
    answer = await tcr.get("/campaign/not-an-id")
    assert answer.status_code == 404
    assert answer.json()[0]["code"] == 404


async def test_retry_after_through_the_behaviour_switch(make_sandbox: SandboxFactory) -> None:
    server = await make_sandbox(
        frozen_rate_limits=True, rate_limits=RateLimitConfig(enabled=True), faults=FaultConfig()
    )
    async with (
        httpx.AsyncClient(base_url=server.tcr_url, auth=("sandbox-tcr-key", "sandbox-tcr-secret")) as tcr,
        httpx.AsyncClient(base_url=f"{server.base_url}/_admin") as admin,
    ):
        await _switch(admin, sendRetryAfter=True)
        answers = [await tcr.get("/campaign/COJD405") for _ in range(21)]
    assert answers[-1].status_code == 429
    assert answers[-1].headers["Retry-After"] == "1"


async def test_the_campaign_list_lags_a_new_campaign_while_get_by_id_works(
    sandbox: SandboxServer, infobip: httpx.AsyncClient, tcr: httpx.AsyncClient, admin: httpx.AsyncClient
) -> None:
    await _switch(admin, listLagSeconds=45)
    numbers = numbers_for(406)
    created = await import_and_migrate(infobip, tcr, "COJD406", numbers)
    search = {"nameLike": "migrateCampaignCOJD406", "number": numbers[0], "type": "EXTERNAL_TEN_DIGIT_LONG_CODE"}
    assert (await infobip.get(f"{CAMPAIGNS}/{created['id']}")).status_code == 200
    assert (await infobip.get(CAMPAIGNS, params=search)).json()["results"] == []
    sandbox.advance(44)
    assert (await infobip.get(CAMPAIGNS, params=search)).json()["paging"]["totalResults"] == 0
    sandbox.advance(1)
    assert [c["id"] for c in (await infobip.get(CAMPAIGNS, params=search)).json()["results"]] == [created["id"]]
