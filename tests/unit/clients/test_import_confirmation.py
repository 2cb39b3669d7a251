"""InfobipClient.import_and_confirm against a fake account: every answer shape, and the owned-numbers
read it falls back on — never on the happy path, per number for a few, one shared walk for more.

The fake account answers the import in the shape under test and lists its owned numbers as the
published `GET /numbers/1/numbers` does; every list page it serves is validated against the
published `NumbersResponse` schema. Requests are counted as received.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from tendlc.clients.credentials import InfobipCredentials
from tendlc.clients.infobip import InfobipClient
from tendlc.clients.ratelimit import INFOBIP, NUMBERS_READ, SAFETY_MARGIN, RateLimit, RateLimiterRegistry
from tendlc.partner_errors import PartnerRejected, PartnerResponseInvalid, PartnerUnavailable
from tendlc.partner_requests import NumberImport

SPEC = Path(__file__).parents[2] / "data" / "specs" / "infobip" / "numbers-openapi.json"
NUMBERS_SCHEMAS = "7c77a2c703ce12a601f120565936de62cf48d1baf9232d5411f82fc339353553"
BASE = "https://acme.api.infobip.test"


def _numbers_response_validator() -> jsonschema.Draft202012Validator:
    spec_uri = "urn:infobip-numbers-openapi"
    resource = Resource.from_contents(json.loads(SPEC.read_text()), default_specification=DRAFT202012)
    return jsonschema.Draft202012Validator(
        {"$ref": f"{spec_uri}#/components/schemas/{NUMBERS_SCHEMAS}.NumbersResponse"},
        registry=Registry().with_resource(spec_uri, resource),
    )


NUMBERS_RESPONSE = _numbers_response_validator()


def numbers(count: int, prefix: str = "1954") -> list[str]:
    return [f"{prefix}{index:07d}" for index in range(count)]


Answer = Callable[[list[tuple[str, bool]]], httpx.Response]


def d1(already: str = "ALREADY_IMPORTED") -> Answer:
    return lambda results: httpx.Response(200, json={"results": [
        {"number": n, "status": "IMPORTED" if new else already} for n, new in results]})


def numbers_shape(already: str = "ALREADY_OWNED") -> Answer:
    return lambda results: httpx.Response(200, json={"numbers": [
        {"phoneNumber": n, "result": "SUCCESS" if new else already} for n, new in results]})


SHAPES: dict[str, tuple[Answer, bool, str]] = {
    # name: (answer, understood, shape description)
    "empty object": (lambda results: httpx.Response(200, json={}), False, "an empty object"),
    "202 without a body": (lambda results: httpx.Response(202), False, "an empty body"),
    "202 with a request id": (
        lambda results: httpx.Response(202, json={"requestId": str(uuid.uuid4())}),
        False, "an object without per-number results (fields: requestId)",
    ),
    "not JSON": (lambda results: httpx.Response(200, text="Accepted"), False, "a body that is not JSON"),
    "pending words": (
        lambda results: httpx.Response(200, json={"results": [{"number": n, "status": "PENDING"} for n, _ in results]}),
        True, "results[] of {number, status}",
    ),
}


@dataclass
class Account:
    """A fake Infobip account: imports, owned numbers, and counts of what it received."""

    answer: Answer = field(default_factory=d1)
    owned: list[str] = field(default_factory=list)
    imports_take_effect: bool = True
    page_cap: int | None = None  # serves at most this many per page, whatever `limit` says
    list_failure: int | None = None  # HTTP status of every list request
    requests: list[httpx.Request] = field(default_factory=list)
    served_pages: list[dict[str, Any]] = field(default_factory=list)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if request.method == "POST" and request.url.path == "/numbers/2/numbers/import":
            sent = json.loads(request.content)["numbers"]
            results = [(number, number not in self.owned) for number in sent]
            if self.imports_take_effect:
                self.owned.extend(number for number, new in results if new)
            return self.answer(results)
        if request.method == "GET" and request.url.path == "/numbers/1/numbers":
            return self.list(request.url.params)
        return httpx.Response(404)

    def list(self, params: httpx.QueryParams) -> httpx.Response:
        if self.list_failure is not None:
            return httpx.Response(self.list_failure, json={"requestError": {"serviceException": {
                "messageId": "FORBIDDEN", "text": "Missing scope numbers:manage"}}})
        searched = params.get("number")
        page, limit = int(params.get("page", "0")), int(params.get("limit", "50"))
        limit = min(limit, self.page_cap or limit)
        found = [number for number in self.owned if searched is None or searched in number]
        body = {
            "numbers": [
                {"numberKey": uuid.uuid5(uuid.NAMESPACE_OID, n).hex.upper(), "number": n, "country": "US",
                 "countryName": "United States", "type": "VIRTUAL_LONG_NUMBER", "capabilities": ["SMS", "MMS"],
                 "shared": False, "network": "Unknown", "keywords": [], "additionalSetupRequired": False,
                 "editPermissions": {"canEditNumber": True, "canEditConfiguration": True}, "applicationId": "default"}
                for n in found[page * limit : (page + 1) * limit]
            ],
            "numberCount": len(found),
        }
        NUMBERS_RESPONSE.validate(body)
        self.served_pages.append({"number": searched, "page": page, "limit": int(params.get("limit", "50"))})
        return httpx.Response(200, json=body)

    def count(self, method: str, path: str) -> int:
        return sum(1 for r in self.requests if r.method == method and r.url.path == path)

    @property
    def list_calls(self) -> int:
        return self.count("GET", "/numbers/1/numbers")

    @property
    def import_calls(self) -> int:
        return self.count("POST", "/numbers/2/numbers/import")


async def _no_wait(seconds: float) -> None:
    return None


@pytest.fixture
def account() -> Account:
    return Account()


@pytest.fixture
async def client(account: Account) -> AsyncIterator[InfobipClient]:
    infobip = InfobipClient(
        BASE, InfobipCredentials.from_api_key("key-for-tests"), limiter_registry=RateLimiterRegistry(sleep=_no_wait),
        transport=httpx.MockTransport(account),
    )
    async with infobip:
        yield infobip


def request(wanted: list[str]) -> NumberImport:
    return NumberImport(tuple(wanted), True)


async def test_the_happy_d1_answer_makes_no_owned_numbers_call(client: InfobipClient, account: Account) -> None:
    account.owned = numbers(1)  # re-imported: ALREADY_IMPORTED
    wanted = numbers(150)
    result = await client.import_and_confirm(request(wanted))
    assert result.complete
    assert result.confirmed == tuple(wanted)
    assert result.understood
    assert result.shape == "results[] of {number, status}"
    assert result.owned_number_calls == 0
    assert result.error() is None
    assert account.import_calls == 2  # 100 + 50
    assert account.list_calls == 0


@pytest.mark.parametrize("word", ["ALREADY_OWNED", "EXISTS", "DUPLICATE"])
async def test_already_there_in_other_words_is_success_once_the_list_shows_it(
    client: InfobipClient, account: Account, word: str
) -> None:
    wanted = numbers(2)
    account.owned = list(wanted)
    account.answer = d1(already=word)
    result = await client.import_and_confirm(request(wanted))
    assert result.complete
    assert result.confirmed_by_list == tuple(wanted)
    assert result.understood
    assert account.served_pages == [{"number": n, "page": 0, "limit": 50} for n in wanted]


async def test_numbers_of_phone_number_and_result_needs_the_list_only_for_the_other_word(
    client: InfobipClient, account: Account
) -> None:
    wanted = numbers(3)
    account.owned = [wanted[2]]
    account.answer = numbers_shape(already="ALREADY_OWNED")
    result = await client.import_and_confirm(request(wanted))
    assert result.complete
    assert result.shape == "numbers[] of {phoneNumber, result}"
    assert result.confirmed_by_list == (wanted[2],)
    assert account.served_pages == [{"number": wanted[2], "page": 0, "limit": 50}]


@pytest.mark.parametrize("name", sorted(SHAPES))
async def test_an_answer_of_another_shape_is_confirmed_by_the_list(
    client: InfobipClient, account: Account, name: str
) -> None:
    answer, understood, shape = SHAPES[name]
    account.answer = answer
    wanted = numbers(2)
    result = await client.import_and_confirm(request(wanted))
    assert result.complete, result.describe()
    assert (result.understood, result.shape) == (understood, shape)
    assert result.confirmed_by_list == tuple(wanted)
    assert result.owned_number_calls == account.list_calls == 2


@pytest.mark.parametrize("name", sorted(SHAPES))
async def test_an_answer_of_another_shape_that_did_nothing_is_unconfirmed_never_an_exception(
    client: InfobipClient, account: Account, name: str
) -> None:
    answer, _, shape = SHAPES[name]
    account.answer, account.imports_take_effect = answer, False
    wanted = numbers(2)
    result = await client.import_and_confirm(request(wanted))
    assert result.unconfirmed == tuple(wanted)
    assert result.confirmed == ()
    error = result.error()
    assert isinstance(error, PartnerResponseInvalid)
    assert f"({shape})" in error.message
    assert "did not confirm 2 of 2 numbers" in error.message


async def test_refused_numbers_keep_the_partners_words_and_are_not_looked_up(
    client: InfobipClient, account: Account
) -> None:
    wanted = numbers(2)
    account.answer = lambda results: httpx.Response(200, json={"results": [
        {"number": wanted[0], "status": "IMPORTED"},
        {"number": wanted[1], "status": "FAILED", "description": "Number is not portable"}]})
    result = await client.import_and_confirm(request(wanted))
    assert result.confirmed == (wanted[0],)
    assert [r.words() for r in result.refused] == [f"{wanted[1]}: FAILED (Number is not portable)"]
    assert isinstance(result.error(), PartnerRejected)
    assert account.list_calls == 0


async def test_more_than_three_unknown_numbers_walk_the_whole_list_by_pages(
    client: InfobipClient, account: Account
) -> None:
    account.owned = numbers(120, prefix="1202")  # the account's other numbers
    account.answer = SHAPES["empty object"][0]
    wanted = numbers(4)
    result = await client.import_and_confirm(request(wanted))
    assert result.complete
    assert account.served_pages == [{"number": None, "page": p, "limit": 50} for p in range(3)]  # 124 numbers
    assert result.owned_number_calls == 3


async def test_a_walk_continues_past_short_pages_until_the_announced_count(
    client: InfobipClient, account: Account
) -> None:
    account.owned = numbers(45, prefix="1202")
    account.page_cap = 20  # the server serves 20 per page whatever we ask
    account.answer = SHAPES["empty object"][0]
    wanted = numbers(5)
    result = await client.import_and_confirm(request(wanted))
    assert result.complete
    assert [page["page"] for page in account.served_pages] == [0, 1, 2]  # 50 numbers, 20 a page


async def test_a_list_the_key_may_not_read_leaves_numbers_unconfirmed_with_the_reason(
    client: InfobipClient, account: Account
) -> None:
    account.answer = SHAPES["empty object"][0]
    account.list_failure = 403
    result = await client.import_and_confirm(request(numbers(2)))
    assert result.unconfirmed == tuple(numbers(2))
    assert result.read_problem is not None
    assert "HTTP 403" in result.read_problem
    assert "Missing scope numbers:manage" in result.read_problem
    assert account.list_calls == 1  # the first failure ends the lookups


async def test_a_failed_import_request_still_raises_as_before(client: InfobipClient, account: Account) -> None:
    account.answer = lambda results: httpx.Response(503)
    with pytest.raises(PartnerUnavailable):
        await client.import_and_confirm(request(numbers(2)))
    assert account.list_calls == 0


async def test_a_fleet_of_campaigns_shares_walks_instead_of_one_each(account: Account) -> None:
    account.owned = numbers(200, prefix="1202")  # 300 numbers with the fleet's: 6 pages of 50
    account.answer = SHAPES["empty object"][0]
    infobip = InfobipClient(
        BASE, InfobipCredentials.from_api_key("key-for-tests"), limiter_registry=RateLimiterRegistry(sleep=_no_wait),
        transport=httpx.MockTransport(account),
    )
    async with infobip:
        campaigns = [numbers(5, prefix=f"13{index:02d}") for index in range(20)]
        results = await asyncio.gather(*(infobip.import_and_confirm(request(wanted)) for wanted in campaigns))
    assert all(result.complete for result in results)
    walks = sum(1 for page in account.served_pages if page["page"] == 0)
    assert walks <= 2  # one running, one queued for everybody answered meanwhile; not 20
    assert account.list_calls <= 2 * 6
    assert sum(result.owned_number_calls for result in results) == account.list_calls


async def test_owned_numbers_reads_have_their_own_published_limit(account: Account) -> None:
    waits: list[float] = []

    async def record(seconds: float) -> None:
        waits.append(seconds)

    now = [0.0]
    limiters = RateLimiterRegistry(clock=lambda: now[0], sleep=record)
    assert limiters.limit_for(INFOBIP, NUMBERS_READ) == RateLimit(rate=1.0 * (1 - SAFETY_MARGIN), burst=2.0)
    account.answer = SHAPES["empty object"][0]
    infobip = InfobipClient(BASE, InfobipCredentials.from_api_key("k"), limiter_registry=limiters,
                            transport=httpx.MockTransport(account))
    async with infobip:
        await infobip.import_and_confirm(request(numbers(3)))
    assert account.list_calls == 3
    assert waits == pytest.approx([1.0 / (1 - SAFETY_MARGIN)])  # a burst of two, then one a second (D44)
