"""Property-based tests against the sandbox's own OpenAPI document (`/_admin/openapi.json`):
for request bodies and path values generated from the documented schemas (and for junk), the
sandbox answers only documented status codes, with bodies that validate against the documented
response schemas, and never a 5xx."""

from __future__ import annotations

import asyncio
import string
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate as validate_openapi
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from sandbox.helpers import INFOBIP_KEY, TCR_AUTH, sandbox_config
from tendlc_dev.sandbox import SandboxServer

PROPERTY_SETTINGS = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


class ThreadedSandbox:
    """A sandbox on its own event loop in a thread, so hypothesis can drive it synchronously."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.server = SandboxServer(sandbox_config(require_imported_numbers=False))
        self.url = asyncio.run_coroutine_threadsafe(self.server.start(), self.loop).result(10)

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self.server.stop(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


@pytest.fixture(scope="module")
def live() -> Iterator[ThreadedSandbox]:
    sandbox = ThreadedSandbox()
    yield sandbox
    sandbox.stop()


@pytest.fixture(scope="module")
def document(live: ThreadedSandbox) -> dict[str, Any]:
    body: dict[str, Any] = httpx.get(f"{live.url}/_admin/openapi.json").json()
    return body


@pytest.fixture(scope="module")
def infobip(live: ThreadedSandbox) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live.url, headers=INFOBIP_KEY) as client:
        yield client


@pytest.fixture(scope="module")
def tcr(live: ThreadedSandbox) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live.url, auth=TCR_AUTH) as client:
        yield client


def resolve(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = document["components"]["schemas"][name]
    return schema


def from_schema(document: dict[str, Any], schema: dict[str, Any]) -> st.SearchStrategy[Any]:
    """A small JSON Schema → hypothesis strategy for the subset the sandbox's document uses."""
    schema = resolve(document, schema)
    if "const" in schema:
        return st.just(schema["const"])
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    if "oneOf" in schema:
        return st.one_of(*(from_schema(document, option) for option in schema["oneOf"]))
    kind = schema.get("type")
    if isinstance(kind, list):
        return st.one_of(*(from_schema(document, {**schema, "type": k}) for k in kind))
    if kind == "null":
        return st.none()
    if kind == "boolean":
        return st.booleans()
    if kind == "integer":
        return st.integers(schema.get("minimum", -(2**31)), schema.get("maximum", 2**31 - 1))
    if kind == "string":
        if "pattern" in schema:
            return st.from_regex(schema["pattern"], fullmatch=True)
        return st.text(min_size=schema.get("minLength", 0), max_size=min(schema.get("maxLength", 30), 30))
    if kind == "array":
        return st.lists(
            from_schema(document, schema.get("items", {"type": "string"})),
            min_size=schema.get("minItems", 0),
            max_size=min(schema.get("maxItems", 5), 5),
            unique_by=(lambda x: str(x)) if schema.get("uniqueItems") else None,
        )
    if kind == "object":
        properties = schema.get("properties", {})
        required = set(schema.get("required", []))
        return st.fixed_dictionaries(
            {k: from_schema(document, v) for k, v in properties.items() if k in required},
            optional={k: from_schema(document, v) for k, v in properties.items() if k not in required},
        )
    return st.just({})


def check_documented(document: dict[str, Any], path: str, method: str, answer: httpx.Response) -> None:
    responses = document["paths"][path][method]["responses"]
    assert str(answer.status_code) in responses, f"{method.upper()} {path}: undocumented {answer.status_code}"
    assert answer.status_code < 500, answer.text
    if "content" not in responses[str(answer.status_code)]:
        assert answer.content == b"", f"{method.upper()} {path}: a body where none is documented"
        return
    schema = responses[str(answer.status_code)]["content"]["application/json"]["schema"]
    registry: Registry[Any] = Registry().with_resource(
        "urn:sandbox", Resource.from_contents(document, default_specification=DRAFT202012)
    )
    pointer = {"$ref": "urn:sandbox#/components/schemas/" + schema["$ref"].rsplit("/", 1)[-1]}
    Draft202012Validator(pointer, registry=registry, format_checker=Draft202012Validator.FORMAT_CHECKER).validate(
        answer.json()
    )


JUNK = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=10,
)


def test_own_document_is_valid_openapi_and_covers_every_partner_route(document: dict[str, Any]) -> None:
    validate_openapi(document)
    paths = set(document["paths"])
    assert "/infobip/number-registration/1/campaigns/migrate" in paths
    assert "/tcr/v2/campaign/{campaignId}/migrateCnp/{upstreamCnpId}" in paths
    assert "/_admin/campaigns/{tcrId}/osr-updated" in paths


@PROPERTY_SETTINGS
@given(data=st.data())
def test_generated_migrations_get_documented_answers(
    document: dict[str, Any], infobip: httpx.Client, data: st.DataObject
) -> None:
    path = "/infobip/number-registration/1/campaigns/migrate"
    schema = document["paths"][path]["post"]["requestBody"]["content"]["application/json"]["schema"]
    body = data.draw(from_schema(document, schema))
    answer = infobip.post(path, json=body)
    check_documented(document, path, "post", answer)
    if answer.status_code == 200:
        fetched = infobip.get(f"/infobip/number-registration/1/campaigns/{answer.json()['id']}")
        check_documented(document, "/infobip/number-registration/1/campaigns/{campaignId}", "get", fetched)
        assert [p["number"] for p in fetched.json()["numberPreviews"]] == body["numbers"]


@PROPERTY_SETTINGS
@given(data=st.data())
def test_generated_imports_get_documented_answers(
    document: dict[str, Any], infobip: httpx.Client, data: st.DataObject
) -> None:
    path = "/infobip/numbers/2/numbers/import"
    schema = document["paths"][path]["post"]["requestBody"]["content"]["application/json"]["schema"]
    body = data.draw(from_schema(document, schema))
    answer = infobip.post(path, json=body)
    check_documented(document, path, "post", answer)
    assert answer.status_code in (200, 403)


@PROPERTY_SETTINGS
@given(data=st.data())
def test_generated_subscriptions_get_documented_answers(
    document: dict[str, Any], infobip: httpx.Client, data: st.DataObject
) -> None:
    path = "/infobip/subscriptions/1/subscription/{channel}"
    schema = document["paths"][path]["post"]["requestBody"]["content"]["application/json"]["schema"]
    body = data.draw(from_schema(document, schema))
    answer = infobip.post(path.replace("{channel}", "REGISTRATION"), json=body)
    check_documented(document, path, "post", answer)


@PROPERTY_SETTINGS
@given(body=JUNK)
def test_junk_bodies_never_break_the_sandbox(document: dict[str, Any], infobip: httpx.Client, body: Any) -> None:
    for path in ("/infobip/number-registration/1/campaigns/migrate", "/infobip/numbers/2/numbers/import"):
        answer = infobip.post(path, json=body)
        check_documented(document, path, "post", answer)
        assert answer.status_code == 400


SEGMENT = st.text(alphabet=string.ascii_letters + string.digits + "-_.~", min_size=1, max_size=40).filter(
    lambda s: s.strip(".") != ""
)


@PROPERTY_SETTINGS
@given(segment=SEGMENT | st.uuids().map(str) | st.from_regex(r"C[A-Z0-9]{6}", fullmatch=True))
def test_any_campaign_id_gets_a_documented_answer(
    document: dict[str, Any], infobip: httpx.Client, tcr: httpx.Client, segment: str
) -> None:
    answer = infobip.get(f"/infobip/number-registration/1/campaigns/{segment}")
    check_documented(document, "/infobip/number-registration/1/campaigns/{campaignId}", "get", answer)
    tcr_answer = tcr.get(f"/tcr/v2/campaign/{segment}")
    check_documented(document, "/tcr/v2/campaign/{campaignId}", "get", tcr_answer)
    sharing = tcr.get(f"/tcr/v2/campaign/{segment}/sharing")
    check_documented(document, "/tcr/v2/campaign/{campaignId}/sharing", "get", sharing)
    operation = tcr.get(f"/tcr/v2/campaign/{segment}/operationStatus")
    check_documented(document, "/tcr/v2/campaign/{campaignId}/operationStatus", "get", operation)


@pytest.fixture(scope="module")
def registered(live: ThreadedSandbox, infobip: httpx.Client) -> str:
    """A REGISTERED campaign (numbers need not be imported in this sandbox), for add-numbers."""
    body = {"name": "migrateCampaignCPROP01", "externalCampaignId": "CPROP01", "numbers": ["12025550100"],
            "numberPoolID": "POOL"}
    created = infobip.post("/infobip/number-registration/1/campaigns/migrate", json=body)
    assert created.status_code == 200, created.text
    httpx.post(f"{live.url}/_admin/campaigns/CPROP01/stage", json={"stage": "REGISTERED"}).raise_for_status()
    campaign_id: str = created.json()["id"]
    return campaign_id


@PROPERTY_SETTINGS
@given(data=st.data())
def test_generated_add_numbers_get_documented_answers(
    document: dict[str, Any], infobip: httpx.Client, registered: str, data: st.DataObject
) -> None:
    path = "/infobip/number-registration/1/campaigns/{campaignId}/add-numbers"
    schema = document["paths"][path]["post"]["requestBody"]["content"]["application/json"]["schema"]
    body = data.draw(from_schema(document, schema) | JUNK)
    answer = infobip.post(path.replace("{campaignId}", registered), json=body)
    check_documented(document, path, "post", answer)
    assert answer.status_code in (202, 400)


@PROPERTY_SETTINGS
@given(params=st.fixed_dictionaries({}, optional={
    "number": st.text(alphabet=string.digits, max_size=11),
    "page": st.integers(-2, 5).map(str) | st.text(max_size=3),
    "limit": st.integers(-1, 1002).map(str),
}))  # fmt: skip
def test_owned_numbers_queries_get_documented_answers(
    document: dict[str, Any], infobip: httpx.Client, params: dict[str, str]
) -> None:
    answer = infobip.get("/infobip/numbers/1/numbers", params=params)
    check_documented(document, "/infobip/numbers/1/numbers", "get", answer)
    assert answer.status_code in (200, 400)
