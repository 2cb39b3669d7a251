"""Bad input is refused with field-level messages in Infobip's shape, and leaves nothing behind;
a second migrate for the same campaign is a 400 (D2) and is counted in the ledger."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from sandbox.helpers import SpecValidator, import_and_migrate, numbers_for
from tendlc_dev.sandbox import SandboxServer

MIGRATE = "/number-registration/1/campaigns/migrate"
IMPORT = "/numbers/2/numbers/import"


def errors_of(answer: httpx.Response) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = answer.json()["requestError"]["serviceException"].get("validationErrors", {})
    return errors


def migrate_body(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "migrateCampaignCOJD655",
        "externalCampaignId": "COJD655",
        "numberPoolID": None,
        "numbers": ["19168361160"],
        "isClientManageNnid": False,
    }
    body.update(changes)
    return body


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        (migrate_body(numbers=[f"1202555{i:04d}" for i in range(201)]), {"numbers"}),
        (migrate_body(numbers=[]), {"numbers"}),
        (migrate_body(numbers=["+19168361160", "1916836116"]), {"numbers[0]", "numbers[1]"}),
        (migrate_body(numbers="19168361160"), {"numbers"}),
        (migrate_body(numbers=[19168361160]), {"numbers[0]"}),
        (migrate_body(numbers=["19168361160", "19168361160"]), {"numbers[1]"}),
        (migrate_body(externalCampaignId="cojd655"), {"externalCampaignId"}),
        (migrate_body(externalCampaignId=None), {"externalCampaignId"}),
        (migrate_body(name=""), {"name"}),
        (migrate_body(name=12), {"name"}),
        (migrate_body(isClientManageNnid="yes"), {"isClientManageNnid"}),
        (migrate_body(numberPoolID=7), {"numberPoolID"}),
        ([1, 2], {"body"}),
    ],
)
async def test_bad_migrate_bodies_are_400_with_field_messages_and_store_nothing(
    sandbox: SandboxServer, infobip: httpx.AsyncClient, numbers_spec: SpecValidator, body: Any, fields: set[str]
) -> None:
    answer = await infobip.post(MIGRATE, json=body)
    assert answer.status_code == 400
    numbers_spec.validate("ApiException", answer.json())
    assert set(errors_of(answer)) == fields
    assert all(messages for messages in errors_of(answer).values())
    assert sandbox.state.campaigns == {}
    assert sandbox.ledger.entries[-1].effect is False


async def test_malformed_json_is_400_and_stores_nothing(sandbox: SandboxServer, infobip: httpx.AsyncClient) -> None:
    for path in (MIGRATE, IMPORT, "/subscriptions/1/subscription/REGISTRATION"):
        answer = await infobip.post(path, content=b'{"numbers": [', headers={"Content-Type": "application/json"})
        assert answer.status_code == 400
        assert answer.json()["requestError"]["serviceException"]["text"] == "Malformed JSON request body"
    assert sandbox.state.campaigns == {}
    assert sandbox.state.numbers == {}
    assert sandbox.state.subscriptions == {}


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"numbers": [f"1202555{i:04d}" for i in range(101)]}, {"numbers"}),
        ({"numbers": ["19546899283", "bad"]}, {"numbers[1]"}),
        ({"numbers": ["19546899283"], "country": "CA"}, {"country"}),
        ({"numbers": ["19546899283"], "capabilities": ["FAX"]}, {"capabilities[0]"}),
        ({"numbers": ["19546899283"], "skipOsrUpdate": "true"}, {"skipOsrUpdate"}),
        ({"country": "US"}, {"numbers"}),
    ],
)
async def test_bad_import_bodies_import_nothing(
    sandbox: SandboxServer, infobip: httpx.AsyncClient, body: dict[str, Any], fields: set[str]
) -> None:
    answer = await infobip.post(IMPORT, json=body)
    assert answer.status_code == 400
    assert set(errors_of(answer)) == fields
    assert sandbox.state.numbers == {}


async def test_bad_number_message_names_the_pattern(infobip: httpx.AsyncClient) -> None:
    answer = await infobip.post(IMPORT, json={"numbers": ["5551234"]})
    assert errors_of(answer) == {"numbers[0]": ['must match "^1\\d{10}$"']}


async def test_migrate_refuses_numbers_that_were_not_imported(
    sandbox: SandboxServer, infobip: httpx.AsyncClient
) -> None:
    answer = await infobip.post(MIGRATE, json=migrate_body())
    assert answer.status_code == 400
    assert set(errors_of(answer)) == {"numbers[0]"}
    assert sandbox.state.campaigns == {}


async def test_second_migrate_is_400_already_in_migration_and_counted(
    sandbox: SandboxServer, infobip: httpx.AsyncClient, tcr: httpx.AsyncClient, admin: httpx.AsyncClient
) -> None:
    numbers = numbers_for(30)
    first = await import_and_migrate(infobip, tcr, "COJD655", numbers)
    second = await infobip.post(MIGRATE, json=migrate_body(numbers=numbers))
    assert second.status_code == 400
    details = second.json()["requestError"]["serviceException"]
    assert details["messageId"] == "BAD_REQUEST"
    assert details["text"] == f"Campaign COJD655 is already in migration (id {first['id']})"
    assert details["validationErrors"] == {"externalCampaignId": ["already in migration"]}
    assert len(sandbox.state.campaigns) == 1

    counters = (await admin.get("/counters")).json()
    assert counters["migrate"]["COJD655"] == {"attempts": 2, "successes": 1, "byStatus": {"200": 1, "400": 1}}
    assert counters["migrateCnp"]["COJD655"] == {"attempts": 1, "successes": 1, "byStatus": {"200": 1}}
