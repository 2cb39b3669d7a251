"""Runtime-invalid input: manifests the API server accepts but the world refuses.

tests/data/invalid/ (tests/e2e/test_crd_schema.py) covers what the API server rejects. Here every
case is *accepted* by the API server and must end in one specific condition reason — and the
sandbox ledger must show no mutating partner call that should not have happened: none at all
when the input is invalid before any call, and never a migrateCnp/migrate that took effect when
an earlier step failed.

Malformed partner answers come from a tiny local proxy in front of the sandbox (the sandbox only
answers well-formed JSON) that returns broken JSON with HTTP 200 for one endpoint; the resource
points at it with `spec.infobip.baseUrl` and a credentials Secret of its own.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from support.cluster import Cluster
from support.migration import USAGE_LABEL, apply, condition, create_partner_secrets, events_of, migration, status_of
from support.operator import INFOBIP_SECRET, TCR_SECRET, operator_env, operator_in_process
from support.sandbox import INFOBIP_API_KEY, TCR_API_KEY, Sandbox, campaign_id, phone_numbers

pytestmark = pytest.mark.e2e

TODAY = dt.datetime.now(dt.UTC).date()
DOCUMENT = "%PDF-1.7 signed letter of authorization"
CAMPAIGN_PATH = re.compile(r"/number-registration/1/campaigns/[0-9a-fA-F-]{36}$")
IMPORT_PATH = re.compile(r"/numbers/2/numbers/import$")


# --------------------------------------------------------------------------- a proxy that breaks answers


class GarbageProxy:
    """Forwards to the sandbox's Infobip API, except paths matching `garbage`: 200 with broken JSON."""

    def __init__(self, upstream: str, garbage: re.Pattern[str]) -> None:
        self.upstream = upstream
        self.garbage = garbage
        self.served: list[str] = []
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def _relay(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                path = self.path.split("?", 1)[0]
                proxy.served.append(f"{self.command} {path}")
                if proxy.garbage.search(path):
                    # Looks like JSON, is not: truncated mid-object, then binary noise.
                    answer, status, kind = b'{"results": [{"number": "1\x00\xff', 200, "application/json"
                else:
                    headers = {k: v for k, v in self.headers.items() if k.lower() in {"authorization", "content-type"}}
                    with httpx.Client(timeout=10) as client:
                        upstream = client.request(self.command, proxy.upstream + self.path, content=body,
                                                  headers=headers)
                    answer, status = upstream.content, upstream.status_code
                    kind = upstream.headers.get("content-type", "application/json")
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            do_GET = do_POST = do_PUT = do_DELETE = _relay

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> GarbageProxy:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.server.shutdown()
        self.server.server_close()


# --------------------------------------------------------------------------- the cases


@dataclass
class Context:
    cluster: Cluster
    sandbox: Sandbox
    namespace: str
    tcr_id: str
    name: str = "bad"
    proxy: GarbageProxy | None = None


def loa(values: dict[str, str] | None = None, *, raw: dict[str, bytes] | None = None) -> dict[str, Any]:
    secret: dict[str, Any] = {"apiVersion": "v1", "kind": "Secret",
                              "metadata": {"name": "bad-loa", "labels": {USAGE_LABEL: "loa"}}}
    if values is not None:
        secret["stringData"] = values
    if raw is not None:
        secret["data"] = {key: base64.b64encode(value).decode() for key, value in raw.items()}
    return secret


def good_loa() -> dict[str, Any]:
    return loa({"loa.pdf": DOCUMENT, "signedDate": TODAY.isoformat()})


def secret(name: str, usage: str | None = None, **values: str) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": name, **({"labels": {USAGE_LABEL: usage}} if usage else {})}
    return {"apiVersion": "v1", "kind": "Secret", "metadata": metadata, "stringData": values}


@dataclass(frozen=True)
class Case:
    id: str
    objects: Callable[[Context], list[dict[str, Any]]]
    condition: tuple[str, str]  # (type, reason) the resource must end with
    phase: str | None = None
    # What may have reached the partners: None = nothing at all (not even a GET); otherwise the ledger
    # endpoints whose requests may have taken effect (every other request must have had no effect).
    effects_allowed: frozenset[str] | None = None
    migrate_cnp_successes: int = 0
    migrate_successes: int = 0
    garbage: re.Pattern[str] | None = None
    partner_secrets: bool = True
    then: Callable[[Context], None] | None = None  # an action once the condition is reached
    final: tuple[str, str] | None = None  # the condition after `then`
    check: Callable[[Context, dict[str, Any]], None] | None = None
    marks: tuple[Any, ...] = field(default=())


def plain(ctx: Context, *secrets: dict[str, Any], **spec: Any) -> list[dict[str, Any]]:
    return [*secrets, migration(ctx.name, ctx.tcr_id, spec.pop("numbers", phone_numbers(2)), **spec)]


def force_unknown_stage(ctx: Context) -> None:
    ctx.sandbox.admin("POST", f"/campaigns/{ctx.tcr_id}/stage", json={"stage": "SOME_FUTURE_STAGE"})


def unknown_stage_recorded(ctx: Context, status: dict[str, Any]) -> None:
    assert status["infobipStage"] == "SOME_FUTURE_STAGE"
    assert status["phase"] == "InMigration"
    assert ctx.sandbox.campaign(ctx.tcr_id)["infobipCampaigns"][0]["stage"] == "SOME_FUTURE_STAGE"


def proxied(ctx: Context) -> list[dict[str, Any]]:
    assert ctx.proxy is not None
    override = {"baseUrl": ctx.proxy.url, "credentialsSecretRef": {"name": "proxy-infobip"}}
    own_credentials = secret("proxy-infobip", "infobip-credentials", apiKey=INFOBIP_API_KEY)
    return plain(ctx, good_loa(), own_credentials, infobip=override)


def unreadable_answer_is_temporary(ctx: Context, status: dict[str, Any]) -> None:
    assert status.get("lastError"), status
    assert ctx.proxy is not None
    broken = [served for served in ctx.proxy.served if ctx.proxy.garbage.search(served.split(" ", 1)[1])]
    # Retried with backoff (the status shows attempts only every status_refresh_seconds, D18: count at the proxy).
    assert len(broken) >= 2, ctx.proxy.served
    assert not status.get("problem"), status  # an unreadable answer is not a verdict


NONE_MUTATING = frozenset[str]()
IMPORT_ONLY = frozenset({"infobip.import_numbers"})
CASES = [
    Case("loa-document-key-missing", lambda c: plain(c, loa({"signedDate": TODAY.isoformat()})),
         ("LoaValid", "LoaDocumentMissing")),
    Case("loa-document-empty", lambda c: plain(c, loa({"loa.pdf": "", "signedDate": TODAY.isoformat()})),
         ("LoaValid", "LoaDocumentMissing")),
    Case("loa-signed-date-key-missing", lambda c: plain(c, loa({"loa.pdf": DOCUMENT})),
         ("LoaValid", "LoaSignedDateMissing")),
    Case("loa-signed-date-blank", lambda c: plain(c, loa({"loa.pdf": DOCUMENT, "signedDate": "  "})),
         ("LoaValid", "LoaSignedDateMissing")),
    Case("loa-signed-date-unparseable", lambda c: plain(c, loa({"loa.pdf": DOCUMENT, "signedDate": "26/11/2026"})),
         ("LoaValid", "LoaSignedDateInvalid")),
    Case("loa-signed-date-wrong-type-binary",
         lambda c: plain(c, loa(raw={"loa.pdf": DOCUMENT.encode(), "signedDate": b"\xff\xfe\x00\x01\x80"})),
         ("LoaValid", "LoaSignedDateInvalid")),
    Case("loa-signed-date-a-timestamp",
         lambda c: plain(c, loa({"loa.pdf": DOCUMENT, "signedDate": f"{TODAY.isoformat()}T09:30:00Z"})),
         ("LoaValid", "LoaSignedDateInvalid")),
    Case("loa-signed-date-iso-week-not-yyyy-mm-dd",
         lambda c: plain(c, loa({"loa.pdf": DOCUMENT,
                                 "signedDate": "{}-W{:02d}-{}".format(*TODAY.isocalendar())})),
         ("LoaValid", "LoaSignedDateInvalid")),
    Case("loa-too-old",
         lambda c: plain(c, loa({"loa.pdf": DOCUMENT, "signedDate": (TODAY - dt.timedelta(days=31)).isoformat()})),
         ("LoaValid", "LoaExpired")),
    Case("loa-dated-in-the-future",
         lambda c: plain(c, loa({"loa.pdf": DOCUMENT, "signedDate": (TODAY + dt.timedelta(days=3)).isoformat()})),
         ("LoaValid", "LoaDatedInFuture")),
    Case("infobip-credentials-key-missing",
         lambda c: plain(c, good_loa(), secret(INFOBIP_SECRET, apikey=INFOBIP_API_KEY),
                         secret(TCR_SECRET, apiKey=TCR_API_KEY, apiSecret="x")),
         ("Ready", "CredentialsMissing"), partner_secrets=False),
    Case("tcr-credentials-secret-empty-key",
         lambda c: plain(c, good_loa(), secret(INFOBIP_SECRET, apiKey=INFOBIP_API_KEY),
                         secret(TCR_SECRET, apiKey=TCR_API_KEY, apiSecret="")),
         ("Ready", "CredentialsMissing"), partner_secrets=False),
    Case("infobip-401",
         lambda c: plain(c, good_loa(), secret(INFOBIP_SECRET, apiKey="not-the-infobip-key"),
                         secret(TCR_SECRET, apiKey=TCR_API_KEY, apiSecret="sandbox-tcr-secret")),
         ("Ready", "CredentialsRejected"), effects_allowed=NONE_MUTATING, partner_secrets=False),
    Case("tcr-401",
         lambda c: plain(c, good_loa(), secret(INFOBIP_SECRET, apiKey=INFOBIP_API_KEY),
                         secret(TCR_SECRET, apiKey=TCR_API_KEY, apiSecret="not-the-tcr-secret")),
         ("Ready", "CredentialsRejected"), effects_allowed=IMPORT_ONLY, partner_secrets=False),
    Case("import-403-not-enabled",
         lambda c: plain(c, good_loa(), numbers=["15554031234", *phone_numbers(1)]),
         ("Ready", "ImportNotEnabled"), effects_allowed=NONE_MUTATING),
    Case("unknown-upstream-cnp-501",
         lambda c: plain(c, good_loa(), upstreamCnpId="XYZ"),
         ("Ready", "ElectionRejected"), phase="Failed", effects_allowed=IMPORT_ONLY),
    Case("tcr-518-campaign-expired",
         lambda c: plain(c, good_loa()),
         ("Ready", "CampaignExpired"), phase="Failed", effects_allowed=IMPORT_ONLY),
    Case("malformed-import-answer", proxied, ("Ready", "ImportingNumbers"), phase="ImportingNumbers",
         effects_allowed=IMPORT_ONLY, garbage=IMPORT_PATH, check=unreadable_answer_is_temporary),
    Case("malformed-campaign-answer", proxied, ("Ready", "InMigration"), phase="InMigration",
         effects_allowed=frozenset({"infobip.import_numbers", "tcr.migrate_cnp", "infobip.migrate"}),
         migrate_cnp_successes=1, migrate_successes=1, garbage=CAMPAIGN_PATH, check=unreadable_answer_is_temporary),
    Case("unknown-infobip-stage", lambda c: plain(c, good_loa()), ("Ready", "InMigration"), phase="InMigration",
         effects_allowed=frozenset({"infobip.import_numbers", "tcr.migrate_cnp", "infobip.migrate"}),
         migrate_cnp_successes=1, migrate_successes=1, then=force_unknown_stage, final=("Ready", "InMigration"),
         check=unknown_stage_recorded),
]
PREFIX = {"tcr-518-campaign-expired": "CEX", "malformed-campaign-answer": "CST", "unknown-infobip-stage": "CST"}


def wait_for_reason(ctx: Context, type_: str, reason: str, timeout: float = 45,
                    extra: Callable[[dict[str, Any]], bool] | None = None) -> dict[str, Any]:
    def reached() -> dict[str, Any] | None:
        status = status_of(ctx.cluster, ctx.namespace, ctx.name)
        found = condition(status, type_) or {}
        if found.get("reason") == reason and found.get("status") == "False" and (extra is None or extra(status)):
            return status
        return None

    try:
        result: dict[str, Any] = ctx.cluster.wait_for(reached, timeout=timeout, what=f"{type_}={reason}")
    except AssertionError as error:
        status = status_of(ctx.cluster, ctx.namespace, ctx.name)
        raise AssertionError(f"{error}\nstatus: {json.dumps(status, indent=1)}") from None
    return result


@pytest.fixture
def proxy_for(sandbox: Sandbox) -> Iterator[Callable[[re.Pattern[str]], GarbageProxy]]:
    started: list[GarbageProxy] = []

    def start(garbage: re.Pattern[str]) -> GarbageProxy:
        proxy = GarbageProxy(sandbox.infobip_url, garbage).__enter__()
        started.append(proxy)
        return proxy

    yield start
    for proxy in started:
        proxy.__exit__()


@pytest.mark.parametrize("case", [pytest.param(c, id=c.id, marks=c.marks) for c in CASES])
def test_runtime_invalid_input_ends_in_its_reason_without_unwanted_partner_calls(
    cluster: Cluster, crd: str, sandbox: Sandbox, namespace: str, case: Case,
    proxy_for: Callable[[re.Pattern[str]], GarbageProxy],
) -> None:
    ctx = Context(cluster, sandbox, namespace, campaign_id(PREFIX.get(case.id, "CV")))
    if case.garbage is not None:
        ctx.proxy = proxy_for(case.garbage)
    if case.partner_secrets:
        create_partner_secrets(cluster, namespace)
    first_seq = sandbox.last_seq()
    apply(cluster, namespace, *case.objects(ctx))
    extra = None
    if case.check is unreadable_answer_is_temporary:
        def extra(status: dict[str, Any]) -> bool:
            return bool(status.get("lastError"))
    # The proxy is a partner endpoint of this test: the platform team's allow-list has to name it.
    allowed = [sandbox.url] + ([ctx.proxy.url] if ctx.proxy is not None else [])
    env = operator_env(sandbox, namespace, TENDLC_ALLOWED_PARTNER_HOSTS=json.dumps(allowed))
    with operator_in_process(namespace, env):
        status = wait_for_reason(ctx, *case.condition, extra=extra)
        if case.then is not None:
            case.then(ctx)
            status = wait_for_reason(ctx, *(case.final or case.condition),
                                     extra=lambda s: s.get("infobipStage") == "SOME_FUTURE_STAGE")
        # Give the operator time for more passes (parked resources re-check every second here): any
        # call it should not make would be made now.
        time.sleep(2.5)
        status = status_of(cluster, namespace, ctx.name)
    if case.phase is not None:
        assert status["phase"] == case.phase, status
    found = condition(status, case.condition[0]) if case.final is None else condition(status, case.final[0])
    assert found is not None, status
    assert found["reason"] == (case.final or case.condition)[1], status
    assert found["message"], "a condition that stops a migration must say why"
    if case.check is not None:
        case.check(ctx, status)

    entries = sandbox.ledger(since=first_seq, limit=100_000)
    mine = [e for e in entries if ctx.tcr_id in e["path"]] if case.effects_allowed is not None else entries
    if case.effects_allowed is None:
        assert entries == [], f"partner calls were made for invalid input: {entries[:5]}"
    else:
        unwanted = [e for e in entries if e["effect"] and e["endpoint"] not in case.effects_allowed]
        assert unwanted == [], unwanted
        assert all(e["status"] != 500 for e in mine)
    counters = sandbox.counters(ctx.tcr_id)
    assert (counters["migrateCnp"].get("successes", 0), counters["migrate"].get("successes", 0)) == (
        case.migrate_cnp_successes, case.migrate_successes)
    if case.migrate_successes:
        assert counters["migrate"]["attempts"] == 1  # never resent, whatever the answers looked like
    if ctx.proxy is not None:
        assert any(case.garbage and case.garbage.search(s.split(" ", 1)[1]) for s in ctx.proxy.served)
    reasons = [e["reason"] for e in events_of(cluster, namespace, ctx.name)]
    assert "ReconcileError" not in reasons, reasons  # handled, never a crash of the loop


# --------------------------------------------------------------------------- where API server and model disagree


def test_the_api_server_reads_crd_patterns_as_ascii(cluster: Cluster, crd: str, namespace: str) -> None:
    """The oracle of tests/unit/test_spec_properties.py, checked on the real server: RE2's \\d and \\s are ASCII."""
    arabic = migration("arabic", campaign_id("CV"), ["1" + "\u0661" * 10])
    nbsp = migration("nbsp", campaign_id("CV"), phone_numbers(1),
                     infobip={"baseUrl": "http://127.0.0.1:9/\u00a0x", "credentialsSecretRef": {"name": "own"}})
    refused = cluster.kubectl("apply", "--dry-run=server", "-n", namespace, "-f", "-",
                              input=json.dumps(arabic), check=False)
    assert refused.returncode != 0
    assert "should match" in refused.stderr, refused.stderr
    cluster.kubectl("apply", "--dry-run=server", "-n", namespace, "-f", "-", input=json.dumps(nbsp))


def test_a_spec_the_api_server_accepts_always_gets_a_status(
    cluster: Cluster, crd: str, sandbox: Sandbox, namespace: str
) -> None:
    create_partner_secrets(cluster, namespace)
    tcr_id = campaign_id("CV")
    apply(cluster, namespace, good_loa(), migration("bad", tcr_id, phone_numbers(1),
                                                    infobip={"baseUrl": "http://127.0.0.1:9/\u00a0x",
                                                             "credentialsSecretRef": {"name": "own"}}))
    with operator_in_process(namespace, operator_env(sandbox, namespace)):
        cluster.wait_for(lambda: status_of(cluster, namespace, "bad").get("phase"), timeout=20,
                         what="a status on a resource the API server accepted")
