"""Partners: the allow-list and the Secret opt-in are checked before any client exists for a URL."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from tendlc.api.spec import CampaignMigrationSpec, PartnerOverride
from tendlc.clients.ratelimit import RateLimiterRegistry
from tendlc.config import Settings
from tendlc.kube import SecretData
from tendlc.partners import (
    CredentialsProblem,
    CredentialsSecretNotLabeled,
    PartnerEndpointNotAllowed,
    Partners,
)

SANDBOX = "http://127.0.0.1:8085"
CANARY = "CANARY-tenant-key-4f1e"


class FakeKube:
    """`KubeApi.read_secret` over a dict; records every read."""

    def __init__(self, secrets: dict[tuple[str, str], SecretData]) -> None:
        self.secrets = secrets
        self.reads: list[tuple[str, str]] = []

    async def read_secret(self, namespace: str, name: str) -> SecretData | None:
        self.reads.append((namespace, name))
        return self.secrets.get((namespace, name))


def secret(name: str, usage: str | None = None, **values: str) -> SecretData:
    return SecretData(name=name, values={k: v.encode() for k, v in values.items()},
                      labels={"tendlc.io/usage": usage} if usage else {})


@pytest.fixture
def settings(monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("TENDLC_ALLOWED_PARTNER_HOSTS", json.dumps([SANDBOX, "https://*.api.infobip.com"]))
    monkeypatch.setenv("TENDLC_INFOBIP_BASE_URL", f"{SANDBOX}/infobip")
    monkeypatch.setenv("TENDLC_TCR_BASE_URL", f"{SANDBOX}/tcr/v2")
    monkeypatch.setenv("TENDLC_INFOBIP_CREDENTIALS_SECRET__NAME", "central-infobip")
    monkeypatch.setenv("TENDLC_TCR_CREDENTIALS_SECRET__NAME", "central-tcr")
    monkeypatch.setenv("TENDLC_OPERATOR_NAMESPACE", "tendlc-system")
    return Settings()


def central() -> dict[tuple[str, str], SecretData]:
    return {
        ("tendlc-system", "central-infobip"): secret("central-infobip", apiKey="central-key"),  # no label needed
        ("tendlc-system", "central-tcr"): secret("central-tcr", apiKey="k", apiSecret="s"),
    }


def spec(**changes: Any) -> CampaignMigrationSpec:
    return CampaignMigrationSpec.model_validate(
        {"campaignId": "COJD655", "numbers": ["19546899283"], "loaSecretRef": {"name": "loa"}, **changes}
    )


def partners(settings: Settings, kube: FakeKube) -> Partners:
    return Partners(settings, kube, RateLimiterRegistry())  # type: ignore[arg-type]  # the fake has read_secret only


async def test_the_operators_own_secrets_need_no_label(settings: Settings) -> None:
    kube = FakeKube(central())
    clients = await partners(settings, kube).for_spec(spec(), "team-a")
    assert clients.infobip is not None
    assert kube.reads == [("tendlc-system", "central-infobip"), ("tendlc-system", "central-tcr")]


@pytest.mark.parametrize("url", ["http://127.0.0.1:9999/infobip", "https://attacker.example", "http://10.0.0.1:80"])
async def test_a_tenant_url_off_the_allow_list_is_refused_before_any_secret_is_read(
    settings: Settings, url: str
) -> None:
    kube = FakeKube({**central(), ("team-a", "own"): secret("own", "infobip-credentials", apiKey=CANARY)})
    override = {"baseUrl": url, "credentialsSecretRef": {"name": "own"}}
    with pytest.raises(PartnerEndpointNotAllowed) as info:
        await partners(settings, kube).for_spec(spec(infobip=override), "team-a")
    message = str(info.value)
    assert "spec.infobip.baseUrl points at" in message
    assert "TENDLC_ALLOWED_PARTNER_HOSTS" in message
    assert "No request was sent." in message
    assert CANARY not in message
    assert kube.reads == []
    assert info.value.reason == "PartnerEndpointNotAllowed"


async def test_a_tenant_url_without_own_credentials_never_gets_the_central_ones(settings: Settings) -> None:
    # The model refuses this; a spec built around the model (an old object) is refused here again.
    bypass = CampaignMigrationSpec.model_construct(
        **{**spec().__dict__, "infobip": PartnerOverride.model_construct(base_url=f"{SANDBOX}/infobip",
                                                                         credentials_secret_ref=None)}
    )
    kube = FakeKube(central())
    with pytest.raises(PartnerEndpointNotAllowed, match=re.escape("without spec.infobip.credentialsSecretRef")):
        await partners(settings, kube).for_spec(bypass, "team-a")
    assert kube.reads == []


async def test_an_unlabeled_tenant_secret_is_refused_with_the_exact_label_command(settings: Settings) -> None:
    kube = FakeKube({**central(), ("team-a", "payments-db"): secret("payments-db", apiKey=CANARY)})
    override = {"credentialsSecretRef": {"name": "payments-db"}}
    with pytest.raises(CredentialsSecretNotLabeled) as info:
        await partners(settings, kube).for_spec(spec(infobip=override), "team-a")
    message = str(info.value)
    assert "kubectl label secret payments-db -n team-a tendlc.io/usage=infobip-credentials" in message
    assert CANARY not in message
    assert info.value.reason == "CredentialsSecretNotLabeled"


async def test_a_secret_labeled_for_another_use_is_refused(settings: Settings) -> None:
    kube = FakeKube({**central(), ("team-a", "tcr-own"): secret("tcr-own", "loa", apiKey="k", apiSecret="s")})
    with pytest.raises(CredentialsSecretNotLabeled, match=re.escape("tendlc.io/usage=tcr-credentials")):
        await partners(settings, kube).for_spec(spec(tcr={"credentialsSecretRef": {"name": "tcr-own"}}), "team-a")


async def test_a_labeled_tenant_secret_and_an_allowed_url_give_clients(settings: Settings) -> None:
    kube = FakeKube({**central(), ("team-a", "own"): secret("own", "infobip-credentials", apiKey="tenant-key")})
    override = {"baseUrl": "https://acme.api.infobip.com", "credentialsSecretRef": {"name": "own"}}
    clients = await partners(settings, kube).for_spec(spec(infobip=override), "team-a")
    assert "acme.api.infobip.com" in repr(clients.infobip)


async def test_an_unlabeled_secret_is_trusted_only_when_the_caller_says_the_gate_was_passed(
    settings: Settings,
) -> None:
    kube = FakeKube({**central(), ("team-a", "old"): secret("old", apiKey="k", apiSecret="s")})
    clients = await partners(settings, kube).for_spec(
        spec(tcr={"credentialsSecretRef": {"name": "old"}}), "team-a", trust_unlabeled=True
    )
    assert clients.tcr is not None


async def test_a_missing_tenant_secret_is_still_credentials_missing(settings: Settings) -> None:
    with pytest.raises(CredentialsProblem) as info:
        await partners(settings, FakeKube(central())).for_spec(
            spec(tcr={"credentialsSecretRef": {"name": "absent"}}), "team-a"
        )
    assert info.value.reason == "CredentialsMissing"

