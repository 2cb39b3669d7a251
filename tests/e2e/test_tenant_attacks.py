"""Issue 12's attack corpus: what a user with rights in one namespace tries, against one real operator process.

One cluster, one `python -m tendlc` (tests/support/operator.py) watching three namespaces: the
operator's own (the central Infobip/TCR Secrets, the webhook Secret), a victim team's and an
attacker team's. The partner allow-list holds exactly the sandbox's `http://127.0.0.1:<port>`; an
attacker listener runs on another loopback port and must receive **zero** requests. The namespace
policy is on: the attacker's Namespace may migrate its own campaign IDs (`CH*`), the victim's its
own (`CST*`). Every case is applied at once as a user would (`kubectl apply`) and must end in its
expected outcome; then canary values planted in Secrets are searched for in the operator's log
(DEBUG), every Event, and every CampaignMigration (status and annotations): they must appear nowhere.

CASES lists each case and its expected outcome; the closing note of issue 12 quotes it.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from support.cluster import Cluster
from support.migration import USAGE_LABEL, apply, condition, create_partner_secrets, loa_secret, migration, status_of
from support.operator import OperatorProcess, operator_env
from support.sandbox import Sandbox, campaign_id, phone_numbers
from tendlc.webhooks.auth import WebhookAuth
from tendlc_dev.devcluster import free_port

pytestmark = pytest.mark.e2e

CANARIES = {
    "loa_date": "CANARY-loa-date-3f9a1c",
    "db_password": "CANARY-db-password-77e0b4",
    "foreign_key": "CANARY-foreign-apikey-c51d2e",
}
HOOK_USER, HOOK_PASSWORD = "infobip-hooks", "attack-corpus-hook-pass-0001"


class Listener:
    """The attacker's loopback HTTP server: counts every request it ever receives."""

    def __init__(self) -> None:
        self.requests: list[str] = []
        listener = self

        class Handler(BaseHTTPRequestHandler):
            def _any(self) -> None:
                listener.requests.append(f"{self.command} {self.path}")
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

            do_GET = do_POST = do_PUT = do_DELETE = _any

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@dataclass(frozen=True)
class Refused:
    """A manifest the API server must refuse, with this text in kubectl's error."""

    id: str
    spec: dict[str, Any]
    message: str


@dataclass(frozen=True)
class Parked:
    """A resource the API server accepts and the operator must park with `reason`, calling no partner."""

    id: str
    objects: list[dict[str, Any]]
    reason: str
    mentions: str = ""


def secret(name: str, values: dict[str, str], usage: str | None = None) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": name, **({"labels": {USAGE_LABEL: usage}} if usage else {})}
    return {"apiVersion": "v1", "kind": "Secret", "metadata": metadata, "stringData": values}


def own_credentials(name: str = "own-infobip") -> dict[str, Any]:
    return secret(name, {"apiKey": "tenant-own-infobip-key"}, "infobip-credentials")


def attacker_cases(listener: Listener, sandbox: Sandbox) -> tuple[list[Refused], list[Parked]]:
    attacker = f"http://127.0.0.1:{listener.port}"
    sandbox_port = sandbox.url.rsplit(":", 1)[1]
    own = {"credentialsSecretRef": {"name": "own-infobip"}}
    refused = [
        Refused("infobip-base-url-without-credentials", {"infobip": {"baseUrl": f"{attacker}/infobip"}},
                "infobip.baseUrl needs infobip.credentialsSecretRef"),
        Refused("tcr-base-url-without-credentials", {"tcr": {"baseUrl": f"{attacker}/tcr/v2"}},
                "tcr.baseUrl needs tcr.credentialsSecretRef"),
        Refused("base-url-with-query", {"infobip": {"baseUrl": f"{sandbox.infobip_url}/x?redirect={attacker}", **own}},
                "must not have a query"),
        Refused("base-url-with-fragment", {"infobip": {"baseUrl": f"{sandbox.infobip_url}/#", **own}},
                "must not have a fragment"),
        Refused("base-url-with-userinfo", {"infobip": {"baseUrl": f"http://127.0.0.1:{sandbox_port}@127.0.0.1:"
                                                                  f"{listener.port}/infobip", **own}},
                "must not carry user info"),
        Refused("secret-name-dot-dot", {"loaSecretRef": {"name": ".."}}, "loaSecretRef.name must be the name of"),
    ]

    def plain(name: str, *objects: dict[str, Any], loa: dict[str, Any] | None = None, **spec: Any) -> list[Any]:
        return [loa if loa is not None else loa_secret(f"{name}-loa"), *objects,
                migration(name, campaign_id("CH"), phone_numbers(1), **spec)]

    parked = [
        Parked("non-allow-listed-infobip-host",
               plain("offlist-infobip", own_credentials(), infobip={"baseUrl": f"{attacker}/infobip", **own}),
               "PartnerEndpointNotAllowed", f"127.0.0.1:{listener.port}"),
        Parked("non-allow-listed-tcr-host-https",
               plain("offlist-tcr", secret("own-tcr", {"apiKey": "k", "apiSecret": "s"}, "tcr-credentials"),
                     tcr={"baseUrl": f"https://127.0.0.1:{listener.port}/tcr/v2",
                          "credentialsSecretRef": {"name": "own-tcr"}}),
               "PartnerEndpointNotAllowed", f"127.0.0.1:{listener.port}"),
        Parked("allow-listed-port-under-another-host-name",
               plain("alias", own_credentials("alias-infobip"),
                     infobip={"baseUrl": f"http://localhost:{sandbox_port}/infobip",
                              "credentialsSecretRef": {"name": "alias-infobip"}}),
               "PartnerEndpointNotAllowed", "localhost"),
        Parked("loa-ref-to-an-unlabeled-secret",
               plain("unlabeled", loa={**secret("payments-db", {"loa.pdf": "x", "signedDate": CANARIES["db_password"],
                                                                "password": CANARIES["db_password"]})},
                     loaSecretRef={"name": "payments-db"}),
               "LoaSecretNotLabeled", "kubectl label secret payments-db"),
        Parked("loa-key-holding-a-canary",
               plain("canary-date",
                     loa=secret("canary-date-loa", {"loa.pdf": "%PDF", "signedDate": CANARIES["loa_date"]}, "loa")),
               "LoaSignedDateInvalid", "YYYY-MM-DD"),
        Parked("credentials-ref-to-a-foreign-secret",
               plain("foreign", secret("billing-api", {"apiKey": CANARIES["foreign_key"]}),
                     infobip={"credentialsSecretRef": {"name": "billing-api"}}),
               "CredentialsSecretNotLabeled", "tendlc.io/usage=infobip-credentials"),
        Parked("credentials-secret-labeled-for-another-use",
               plain("misused", secret("misused-key", {"apiKey": "k"}, "loa"),
                     infobip={"credentialsSecretRef": {"name": "misused-key"}}),
               "CredentialsSecretNotLabeled", "tendlc.io/usage=infobip-credentials"),
        Parked("campaign-outside-the-namespace-policy",
               [loa_secret("outside-loa"), migration("outside", campaign_id("CDC"), phone_numbers(1))],
               "CampaignNotAllowedInNamespace", "tendlc.io/allowed-campaigns"),
    ]
    return refused, parked


CASES = [
    ("infobip-base-url-without-credentials", "refused by the CRD"),
    ("tcr-base-url-without-credentials", "refused by the CRD"),
    ("base-url-with-query", "refused by the CRD"),
    ("base-url-with-fragment", "refused by the CRD"),
    ("base-url-with-userinfo", "refused by the CRD"),
    ("secret-name-dot-dot", "refused by the CRD"),
    ("non-allow-listed-infobip-host", "PartnerEndpointNotAllowed, no request"),
    ("non-allow-listed-tcr-host-https", "PartnerEndpointNotAllowed, no request"),
    ("allow-listed-port-under-another-host-name", "PartnerEndpointNotAllowed, no request"),
    ("loa-ref-to-an-unlabeled-secret", "LoaSecretNotLabeled with the kubectl label command, value never shown"),
    ("loa-key-holding-a-canary", "LoaSignedDateInvalid, value never shown"),
    ("credentials-ref-to-a-foreign-secret", "CredentialsSecretNotLabeled, key never sent"),
    ("credentials-secret-labeled-for-another-use", "CredentialsSecretNotLabeled"),
    ("campaign-outside-the-namespace-policy", "CampaignNotAllowedInNamespace, no partner call"),
    ("second-resource-for-a-claimed-campaign", "CampaignClaimedElsewhere naming the claimant, no partner call; "
                                               "woken when the claimant is deleted"),
    ("cross-namespace-webhook-by-tcr-id", "unknown_campaign: reaches neither resource"),
    ("webhook-by-uuid", "applied to the claimant only"),
]


@pytest.fixture
def teams(cluster: Cluster, namespace: str) -> Iterator[tuple[str, str, str]]:
    """(operator namespace, victim namespace, attacker namespace), the two teams' with their policy."""
    victim, attacker = f"{namespace}-victim"[:63], f"{namespace}-attacker"[:63]
    for team, allowed in ((victim, "CST*"), (attacker, "CH*")):
        cluster.kubectl("create", "namespace", team)
        cluster.kubectl("annotate", "namespace", team, f"tendlc.io/allowed-campaigns={allowed}")
    yield namespace, victim, attacker
    for team in (victim, attacker):
        cluster.kubectl("delete", "namespace", team, "--wait=false", check=False)


def reason_of(cluster: Cluster, namespace: str, name: str) -> str | None:
    ready = condition(status_of(cluster, namespace, name), "Ready") or {}
    return ready.get("reason")


def wait_for_reasons(cluster: Cluster, namespace: str, expected: dict[str, str], timeout: float = 90) -> None:
    def reached() -> bool:
        return all(reason_of(cluster, namespace, name) == reason for name, reason in expected.items())

    try:
        cluster.wait_for(reached, timeout=timeout, what="every case's reason")
    except AssertionError:
        actual = {name: reason_of(cluster, namespace, name) for name in expected}
        raise AssertionError(f"expected {expected}, got {actual}") from None


def hook(url: str, infobip_id: str, tcr_id: str) -> dict[str, Any]:
    body = {"results": [{"event": "CAMPAIGN_STATUS_UPDATE", "receivedAt": "2026-11-26T10:00:00.000+0000",
                         "content": {"campaignId": infobip_id, "tcrId": tcr_id, "campaignStatus": "REGISTERED"}}]}
    auth = WebhookAuth.basic(HOOK_USER, HOOK_PASSWORD)
    raw = json.dumps(body).encode()
    answer = httpx.post(url, content=raw, headers={"Content-Type": "application/json", **auth.sign(raw)}, timeout=15)
    assert answer.status_code == 200, answer.text
    result: dict[str, Any] = answer.json()["results"][0]
    return result


def test_a_namespace_user_gets_no_central_key_no_secret_and_no_other_teams_campaign(
    cluster: Cluster, crd: str, sandbox: Sandbox, teams: tuple[str, str, str], tmp_path: Path
) -> None:
    operator_ns, victim, attacker = teams
    listener = Listener()
    create_partner_secrets(cluster, operator_ns)
    cluster.kubectl("create", "secret", "generic", "webhook-auth", "-n", operator_ns,
                    f"--from-literal=username={HOOK_USER}", f"--from-literal=password={HOOK_PASSWORD}")
    port = free_port()
    hook_url = f"http://127.0.0.1:{port}/webhooks/infobip"
    env = operator_env(sandbox, operator_ns, TENDLC_WATCH_NAMESPACES=json.dumps([operator_ns, victim, attacker]),
                       TENDLC_CAMPAIGN_POLICY="namespace-annotation", TENDLC_LOG_LEVEL="DEBUG",
                       TENDLC_WEBHOOK_PORT=str(port), TENDLC_WEBHOOK_AUTH_SECRET__NAME="webhook-auth")
    refused, parked = attacker_cases(listener, sandbox)
    contested = campaign_id("CST")  # the victim's campaign: stays IN_MIGRATION
    operator = OperatorProcess(env, tmp_path / "operator.log").start()
    try:
        # The victim starts first; the attacker's claim on the same campaign comes later (creation order).
        apply(cluster, victim, loa_secret("victim-loa"), migration("victim", contested, phone_numbers(2)))
        for case in refused:
            manifest = migration(case.id, campaign_id("CH"), phone_numbers(1), **case.spec)
            result = cluster.kubectl("apply", "-n", attacker, "-f", "-", input=json.dumps(manifest), check=False)
            assert result.returncode != 0, f"{case.id} was accepted"
            assert case.message in result.stderr, (case.id, result.stderr)
        for case in parked:
            apply(cluster, attacker, *case.objects)
        victim_status = cluster.wait_for(
            lambda: (status_of(cluster, victim, "victim").get("infobipCampaignId")
                     and status_of(cluster, victim, "victim")), timeout=90, what="the victim's UUID")
        apply(cluster, attacker, loa_secret("contender-loa"), migration("contender", contested, phone_numbers(1)))
        expected = {case.objects[-1]["metadata"]["name"]: case.reason for case in parked}
        wait_for_reasons(cluster, attacker, {**expected, "contender": "CampaignClaimedElsewhere"})
        for case in parked:
            message = (condition(status_of(cluster, attacker, case.objects[-1]["metadata"]["name"]), "Ready") or {})
            assert case.mentions in message.get("message", ""), (case.id, message)
        claimed = condition(status_of(cluster, attacker, "contender"), "Ready") or {}
        assert f"{victim}/victim" in claimed["message"]
        counters = sandbox.counters(contested)
        assert counters["migrateCnp"]["attempts"] == 1, counters  # the victim's alone
        assert counters["migrate"]["attempts"] == 1, counters

        # Webhooks: a TCR ID alone reaches no one (the claimant has its UUID, the contender is no claimant).
        assert hook(hook_url, "00000000-0000-4000-8000-00000000dead", contested)["result"] == "unknown_campaign"
        assert not status_of(cluster, attacker, "contender").get("webhook")
        assert hook(hook_url, victim_status["infobipCampaignId"], contested)["result"] == "applied"
        cluster.wait_for(lambda: status_of(cluster, victim, "victim").get("webhook"), timeout=15,
                         what="the victim's webhook")
        assert not status_of(cluster, attacker, "contender").get("webhook")

        time.sleep(2)  # more passes of every parked resource: any call they should not make would be made now
        cluster.kubectl("delete", "cmig", "victim", "-n", victim)
        # The claimant is gone: the contender is woken; the namespace policy (CH* only) still stops it.
        wait_for_reasons(cluster, attacker, {"contender": "CampaignNotAllowedInNamespace"}, timeout=30)
    finally:
        operator.stop()
        listener.close()
    seen = {
        "operator log": operator.log(),
        "events": "".join(cluster.kubectl("get", "events", "-n", ns, "-o", "json").stdout
                          for ns in (operator_ns, victim, attacker)),
        "resources": "".join(cluster.kubectl("get", "cmig", "-n", ns, "-o", "json").stdout
                             for ns in (operator_ns, victim, attacker)),
    }
    assert listener.requests == [], f"the attacker's listener was reached: {listener.requests}"
    for where, text in seen.items():
        for name, value in CANARIES.items():
            assert value not in text, f"{name} canary leaked into {where}"
    warnings = json.loads(cluster.kubectl("get", "events", "-n", attacker, "-o", "json").stdout)["items"]
    reasons = {event["reason"] for event in warnings if event["type"] == "Warning"}
    assert {case.reason for case in parked} | {"CampaignClaimedElsewhere"} <= reasons, reasons
    assert len(CASES) == len(refused) + len(parked) + 3
