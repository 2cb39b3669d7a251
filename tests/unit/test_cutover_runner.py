"""tendlc.cutover: what the cut-over sends and refuses, against a fake API server and a mock endpoint.

The real API server and a real HTTPS endpoint are in tests/e2e/test_cutover.py; here every branch:
the signature a receiver can verify, one idempotency key for every attempt, redirects not followed,
the allow-list and opt-in labels enforced, the ConfigMap write conditional on the version whose
label was checked, and no message that quotes the signing key.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from tendlc.api.spec import CutOver
from tendlc.clients.allowlist import CUTOVER_SETTING, PartnerAllowList
from tendlc.cutover import (
    IDEMPOTENCY_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    CutOverRunner,
    ResourceRef,
    sign,
)
from tendlc.kube import KubeApiError, SecretData, StatusConflict
from tendlc.workflow import CutOverFailed, SwitchTraffic, TrafficSwitchedOutcome

KEY = b"s3cr3t-hmac-key-0123456789"
TARGET = ResourceRef("team-a", "cojd655", "uid-1")
URL = "https://router.example.com/cutover"
ALLOW = PartnerAllowList.parse(["https://router.example.com"], setting=CUTOVER_SETTING, allow_empty=True)


class FakeKube:
    """ConfigMaps and Secrets of one namespace; writes fenced by resourceVersion like the API server."""

    def __init__(self) -> None:
        self.config_maps: dict[str, dict[str, Any]] = {}
        self.secrets: dict[str, SecretData] = {}
        self.writes: list[tuple[str, str, str, str]] = []
        self.interfere: int = 0  # the next n reads are followed by someone else's write
        self.refuse: int | None = None
        self.json_patches = 0
        self.full_reads = 0

    def add_config_map(
        self, name: str, labels: dict[str, str] | None = None, data: dict[str, str] | None = None
    ) -> None:
        self.config_maps[name] = {"metadata": {"name": name, "resourceVersion": "1", "labels": labels or {}},
                                  "data": data}

    async def config_map_labels(self, namespace: str, name: str) -> dict[str, str] | None:
        document = self.config_maps.get(name)
        return None if document is None else dict(document["metadata"]["labels"])

    async def read_config_map(self, namespace: str, name: str) -> dict[str, Any] | None:
        self.full_reads += 1
        document = self.config_maps.get(name)
        if document is None:
            return None
        copy = json.loads(json.dumps(document))
        if self.interfere:
            self.interfere -= 1
            self._bump(name)
        return copy

    def _bump(self, name: str) -> None:
        metadata = self.config_maps[name]["metadata"]
        metadata["resourceVersion"] = str(int(metadata["resourceVersion"]) + 1)

    async def set_config_map_key(self, namespace: str, name: str, key: str, value: str, *,
                                 label: tuple[str, str], resource_version: str | None = None) -> None:
        """As the API server: a JSON patch testing the label (needs `data`), or a fenced merge patch."""
        if self.refuse is not None:
            raise KubeApiError("PATCH: HTTP refused", status=self.refuse)
        if name not in self.config_maps:
            raise KubeApiError("PATCH: HTTP 404: not found", status=404)
        document = self.config_maps[name]
        if resource_version is None:
            if document["metadata"]["labels"].get(label[0]) != label[1] or document.get("data") is None:
                raise KubeApiError("PATCH: HTTP 422: test failed", status=422)
            self.json_patches += 1
        elif document["metadata"]["resourceVersion"] != resource_version:
            raise StatusConflict("changed", status=409)
        if (document.get("data") or {}).get(key) == value:
            return  # as the API server: a patch that changes nothing stores nothing
        document["data"] = dict(document["data"] or {}, **{key: value})
        self._bump(name)
        self.writes.append((namespace, name, key, value))

    async def read_secret(self, namespace: str, name: str) -> SecretData | None:
        return self.secrets.get(name)


class Endpoint:
    """A mock endpoint that records every request it receives."""

    def __init__(self, *statuses: int) -> None:
        self.statuses = list(statuses)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        status = self.statuses.pop(0) if self.statuses else 200
        headers = {"Location": "https://evil.example.net/"} if 300 <= status < 400 else {}
        return httpx.Response(status, headers=headers)


def runner(kube: FakeKube, endpoint: Endpoint | None = None, allow: PartnerAllowList = ALLOW) -> CutOverRunner:
    transport = httpx.MockTransport(endpoint or Endpoint())
    return CutOverRunner(kube, allow, timeout=5.0, transport=transport)  # type: ignore[arg-type]


def action(**cutover: Any) -> SwitchTraffic:
    return SwitchTraffic(cutover=CutOver.model_validate(cutover), campaign_id="COJD655",
                         infobip_campaign_id="ib-1", idempotency_key="tendlc-COJD655-ib-1",
                         numbers=("19546899283",), registered_at=datetime(2026, 12, 1, 9, tzinfo=UTC))


WEBHOOK = {"webhook": {"url": URL, "secretRef": {"name": "hmac"}}}
CONFIG_MAP = {"configMap": {"name": "routing", "key": "{campaignId}"}}
LABEL = {"tendlc.io/usage": "cutover"}


def kube_with_secret(labels: dict[str, str] | None = None) -> FakeKube:
    kube = FakeKube()
    labels = LABEL if labels is None else labels
    kube.secrets["hmac"] = SecretData(name="hmac", values={"secretKey": KEY}, labels=labels)
    return kube


def switch(cut: CutOverRunner, act: SwitchTraffic) -> TrafficSwitchedOutcome | CutOverFailed:
    async def go() -> TrafficSwitchedOutcome | CutOverFailed:
        try:
            return await cut.switch(act, TARGET)
        finally:
            await cut.close()
    return asyncio.run(go())


def test_the_webhook_is_signed_keyed_and_carries_what_a_router_needs() -> None:
    endpoint = Endpoint()
    outcome = switch(runner(kube_with_secret(), endpoint), action(**WEBHOOK))
    assert isinstance(outcome, TrafficSwitchedOutcome)
    (request,) = endpoint.requests
    timestamp = request.headers[TIMESTAMP_HEADER]
    expected = "sha256=" + hmac.new(KEY, timestamp.encode() + b"." + request.content, hashlib.sha256).hexdigest()
    assert request.headers[SIGNATURE_HEADER] == expected == sign(KEY, timestamp, request.content)
    assert request.headers[IDEMPOTENCY_HEADER] == "tendlc-COJD655-ib-1"
    body = json.loads(request.content)
    assert body == {
        "type": "tendlc.io/traffic-switch", "idempotencyKey": "tendlc-COJD655-ib-1", "campaignId": "COJD655",
        "infobipCampaignId": "ib-1", "numbers": ["19546899283"], "registeredAt": "2026-12-01T09:00:00Z",
        "resource": {"namespace": "team-a", "name": "cojd655", "uid": "uid-1"},
    }
    assert KEY.decode() not in request.content.decode()


def test_every_attempt_carries_the_same_idempotency_key() -> None:
    endpoint = Endpoint(503, 200)
    kube = kube_with_secret()
    first = switch(runner(kube, endpoint), action(**WEBHOOK))
    second = switch(runner(kube, endpoint), action(**WEBHOOK))
    assert isinstance(first, CutOverFailed)
    assert "HTTP 503" in first.message
    assert isinstance(second, TrafficSwitchedOutcome)
    assert len(endpoint.requests) == 2
    assert {r.headers[IDEMPOTENCY_HEADER] for r in endpoint.requests} == {"tendlc-COJD655-ib-1"}


def test_a_redirect_is_not_followed() -> None:
    endpoint = Endpoint(307)
    outcome = switch(runner(kube_with_secret(), endpoint), action(**WEBHOOK))
    assert isinstance(outcome, CutOverFailed)
    assert "redirects are not followed" in outcome.message
    assert len(endpoint.requests) == 1


@pytest.mark.parametrize(
    ("kube", "allow", "expected"),
    [
        (kube_with_secret(), PartnerAllowList.parse([], setting=CUTOVER_SETTING, allow_empty=True),
         "TENDLC_ALLOWED_CUTOVER_HOSTS (empty)"),
        (kube_with_secret(), PartnerAllowList.parse(["https://other.example.com"], setting=CUTOVER_SETTING),
         "not in the operator's allow-list TENDLC_ALLOWED_CUTOVER_HOSTS"),
        (kube_with_secret(labels={}), ALLOW, "kubectl label secret hmac -n team-a tendlc.io/usage=cutover"),
        (FakeKube(), ALLOW, "Secret 'hmac' (spec.cutover.webhook.secretRef) does not exist"),
    ],
    ids=["empty-allow-list", "other-host", "secret-not-labeled", "secret-missing"],
)
def test_a_refused_webhook_receives_nothing(kube: FakeKube, allow: PartnerAllowList, expected: str) -> None:
    endpoint = Endpoint()
    outcome = switch(runner(kube, endpoint, allow), action(**WEBHOOK))
    assert isinstance(outcome, CutOverFailed)
    assert expected in outcome.message
    assert endpoint.requests == []


def test_the_config_map_key_is_set_once_and_only_on_an_opted_in_config_map() -> None:
    kube = FakeKube()
    kube.add_config_map("routing", labels=LABEL, data={"OTHER01": "legacy"})
    assert isinstance(switch(runner(kube), action(**CONFIG_MAP)), TrafficSwitchedOutcome)
    assert kube.writes == [("team-a", "routing", "COJD655", "infobip")]
    assert kube.config_maps["routing"]["data"] == {"OTHER01": "legacy", "COJD655": "infobip"}
    # A second attempt (its first answer lost) finds the value set and writes nothing.
    assert isinstance(switch(runner(kube), action(**CONFIG_MAP)), TrafficSwitchedOutcome)
    assert len(kube.writes) == 1


def test_an_unlabeled_config_map_is_not_written_and_says_how_to_opt_in() -> None:
    kube = FakeKube()
    kube.add_config_map("routing")
    outcome = switch(runner(kube), action(**CONFIG_MAP))
    assert isinstance(outcome, CutOverFailed)
    assert "kubectl label configmap routing -n team-a tendlc.io/usage=cutover" in outcome.message
    assert kube.writes == []


def test_keys_are_added_by_a_label_testing_patch_that_other_writers_never_conflict_with() -> None:
    kube = FakeKube()
    kube.add_config_map("routing", labels=LABEL, data={"OTHER01": "legacy"})
    kube.interfere = 5  # others write the table all the time: irrelevant to a label-testing patch
    assert isinstance(switch(runner(kube), action(**CONFIG_MAP)), TrafficSwitchedOutcome)
    assert kube.json_patches == 1


def test_the_first_key_of_an_empty_table_is_fenced_and_a_lost_write_reads_it_again() -> None:
    kube = FakeKube()
    kube.add_config_map("routing", labels=LABEL)  # no data yet: a merge patch fenced by the version read
    kube.interfere = 2
    assert isinstance(switch(runner(kube), action(**CONFIG_MAP)), TrafficSwitchedOutcome)
    assert len(kube.writes) == 1
    assert kube.json_patches == 0
    kube2 = FakeKube()
    kube2.add_config_map("routing", labels=LABEL)
    kube2.interfere = 3
    outcome = switch(runner(kube2), action(**CONFIG_MAP))
    assert isinstance(outcome, CutOverFailed)
    assert "changed under every write" in outcome.message


def test_a_label_removed_before_the_write_stops_it_atomically() -> None:
    """The patch tests the label itself: opting the table out at any moment before the write stops it."""
    kube = FakeKube()
    kube.add_config_map("routing", labels={}, data={"CABC111": "infobip"})
    outcome = switch(runner(kube), action(**CONFIG_MAP))
    assert isinstance(outcome, CutOverFailed)
    assert "not labeled tendlc.io/usage=cutover" in outcome.message
    assert kube.writes == []


def test_a_table_with_data_is_switched_by_one_patch_without_reading_it() -> None:
    """A thousand-key routing table is not read in full by each of a thousand members."""
    kube = FakeKube()
    kube.add_config_map("routing", labels=LABEL, data={f"C{index:06d}": "infobip" for index in range(1000)})
    outcome = switch(runner(kube), action(**CONFIG_MAP))
    assert isinstance(outcome, TrafficSwitchedOutcome)
    assert kube.full_reads == 0
    assert kube.json_patches == 1
    assert kube.config_maps["routing"]["data"]["COJD655"] == "infobip"


def test_forbidden_says_which_chart_value_grants_it() -> None:
    kube = FakeKube()
    kube.add_config_map("routing", labels=LABEL)
    kube.refuse = 403
    outcome = switch(runner(kube), action(**CONFIG_MAP))
    assert isinstance(outcome, CutOverFailed)
    assert "cutover.configMapNames" in outcome.message


def test_both_parts_run_and_the_config_map_first() -> None:
    kube = kube_with_secret()
    kube.add_config_map("routing", labels=LABEL)
    endpoint = Endpoint()
    assert isinstance(switch(runner(kube, endpoint), action(**CONFIG_MAP, **WEBHOOK)), TrafficSwitchedOutcome)
    assert len(kube.writes) == 1
    assert len(endpoint.requests) == 1


def test_readiness_names_the_first_problem_before_any_write() -> None:
    kube = FakeKube()
    cut = runner(kube)

    async def check() -> list[Any]:
        results = [await cut.readiness(CutOver.model_validate(CONFIG_MAP), "team-a")]
        kube.add_config_map("routing", labels=LABEL)
        results.append(await cut.readiness(CutOver.model_validate(CONFIG_MAP), "team-a"))
        results.append(await cut.readiness(CutOver.model_validate(WEBHOOK), "team-a"))
        await cut.close()
        return results

    missing, ready, no_secret = asyncio.run(check())
    assert missing is not None
    assert missing.reason == "CutOverNotReady"
    assert "does not exist" in missing.message
    assert ready is None
    assert no_secret is not None
    assert no_secret.reason == "CutOverNotReady"
    assert kube.writes == []
