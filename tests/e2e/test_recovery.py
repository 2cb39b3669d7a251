"""Recovery: a new operator process finds resources in every phase — some with exactly-once markers
whose POST did or did not land — and resumes each correctly; and an upgrade from the previous
schema version (fixture in tests/data/fixtures/).

Each resource is seeded "as if the operator had stopped right here": its spec applied, its status
written through the status subresource (as the operator writes it, tests/data/fixtures/
recovery-statuses.yaml), and the partners brought to the matching state by calling the sandbox
directly (the POST that "landed" before the crash). Then one operator process starts, and every
resource must end where it should, with each non-idempotent call made exactly once in all.
"""

from __future__ import annotations

import datetime as dt
import json
import string
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from support.cluster import Cluster
from support.migration import apply, condition, create_partner_secrets, loa_secret, migration, status_of
from support.operator import OperatorProcess, operator_env
from support.sandbox import INFOBIP_API_KEY, TCR_API_KEY, TCR_API_SECRET, Sandbox, campaign_id, phone_numbers

pytestmark = pytest.mark.e2e
FIXTURES = Path(__file__).resolve().parents[1] / "data" / "fixtures"
MUTATING = {"tcr.migrate_cnp", "infobip.migrate"}


def rfc3339(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


class Partners:
    """The calls a crashed operator had already made, made directly against the sandbox."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox

    @staticmethod
    def post(url: str, **kwargs: Any) -> httpx.Response:
        """POST, waiting out the sandbox's documented rate limits (1/s for import and migrate)."""
        for _ in range(20):
            answer = httpx.post(url, timeout=10, **kwargs)
            if answer.status_code != 429:
                return answer
            time.sleep(0.5)
        return answer

    def elect(self, tcr_id: str) -> None:
        answer = self.post(f"{self.sandbox.tcr_url}/campaign/{tcr_id}/migrateCnp/OPMKT",
                           auth=(TCR_API_KEY, TCR_API_SECRET))
        assert answer.status_code == 200, answer.text

    def import_numbers(self, numbers: list[str], *, own: bool = False) -> None:
        answer = self.post(f"{self.sandbox.infobip_url}/numbers/2/numbers/import",
                           headers={"Authorization": f"App {INFOBIP_API_KEY}"},
                           json={"numbers": numbers, "country": "US", "type": "VIRTUAL_LONG_NUMBER",
                                 "capabilities": ["SMS", "MMS"], "skipOsrUpdate": not own})
        assert answer.status_code == 200, answer.text

    def migrate(self, tcr_id: str, numbers: list[str], *, own: bool = False) -> str:
        answer = self.post(f"{self.sandbox.infobip_url}/number-registration/1/campaigns/migrate",
                           headers={"Authorization": f"App {INFOBIP_API_KEY}"},
                           json={"name": f"migrateCampaign{tcr_id}", "externalCampaignId": tcr_id,
                                 "numberPoolID": None, "numbers": numbers, "isClientManageNnid": own})
        assert answer.status_code == 200, answer.text
        campaign_uuid: str = answer.json()["id"]
        return campaign_uuid


@dataclass
class Seeded:
    name: str
    tcr_id: str
    numbers: list[str]
    phase: str  # expected at the end
    reason: str  # Ready's reason at the end
    cnp_successes: int
    migrate_successes: int
    submitted_reason: str | None = None  # MigrationSubmitted's reason at the end
    own: bool = False
    no_mutating_calls: bool = False  # the resource was already final (or suspended)


def seed_status(cluster: Cluster, namespace: str, name: str, status: dict[str, Any]) -> None:
    cluster.kubectl("patch", "-n", namespace, f"cmig/{name}", "--subresource=status", "--type=merge",
                    "-p", json.dumps({"status": status}))


def fill(template: Any, values: dict[str, str]) -> Any:
    """The template with every $placeholder in its strings replaced (values stay strings)."""
    if isinstance(template, str):
        return string.Template(template).substitute(values)
    if isinstance(template, dict):
        return {key: fill(value, values) for key, value in template.items()}
    if isinstance(template, list):
        return [fill(value, values) for value in template]
    return template


def test_a_restarted_operator_resumes_every_phase_and_pending_marker_correctly(
    cluster: Cluster, crd: str, sandbox: Sandbox, namespace: str, tmp_path: Path
) -> None:
    create_partner_secrets(cluster, namespace)
    partners = Partners(sandbox)
    templates = yaml.safe_load((FIXTURES / "recovery-statuses.yaml").read_text())
    now = dt.datetime.now(dt.UTC)
    seeded: list[Seeded] = []

    def add(case: str, phase: str, reason: str, cnp: int, migrate: int, *, landed: tuple[str, ...] = (),
            own: bool = False, suspend: bool = False, submitted: str | None = None, quiet: bool = False) -> None:
        prefix = "CRJ" if case == "failed" else "CV"
        tcr_id, numbers = campaign_id(prefix), phone_numbers(2)
        infobip_id = ""
        if "import" in landed:
            partners.import_numbers(numbers, own=own)
        if "elect" in landed:
            partners.elect(tcr_id)
        if "migrate" in landed:
            infobip_id = partners.migrate(tcr_id, numbers, own=own)
        spec: dict[str, Any] = {"nnid": "Own"} if own else {}
        if suspend:
            spec["suspend"] = True
        apply(cluster, namespace, loa_secret(f"{case}-loa"), migration(case, tcr_id, numbers, **spec))
        if case in templates:
            values = {"now": rfc3339(now), "earlier": rfc3339(now - dt.timedelta(minutes=5)),
                      "later": rfc3339(now + dt.timedelta(seconds=2)), "infobip_id": infobip_id}
            seed_status(cluster, namespace, case, fill(templates[case], values))
        seeded.append(Seeded(case, tcr_id, numbers, phase, reason, cnp, migrate, submitted, own, quiet))

    everything = ("import", "elect", "migrate")
    add("pending", "Registered", "Registered", 1, 1, submitted="MigrationSubmitted")
    add("importing", "Registered", "Registered", 1, 1, submitted="MigrationSubmitted")
    add("elect-marker-landed", "Registered", "Registered", 1, 1, landed=("import", "elect"))
    add("elect-marker-not-landed", "Registered", "Registered", 1, 1, landed=("import",))
    add("submit-marker-landed", "Registered", "Registered", 1, 1, landed=everything, submitted="MigrationAdopted")
    add("submit-marker-not-landed", "Registered", "Registered", 1, 1, landed=("import", "elect"),
        submitted="MigrationSubmitted")
    add("in-migration", "Registered", "Registered", 1, 1, landed=everything)
    add("awaiting-osr", "Registered", "Registered", 1, 1, landed=everything, own=True)
    add("registered", "Registered", "Registered", 1, 1, landed=everything, quiet=True)
    add("failed", "Failed", "CampaignRejected", 1, 1, landed=everything, quiet=True)
    add("suspended", "Suspended", "Suspended", 0, 0, suspend=True, quiet=True)
    # The sandbox registers what it was given meanwhile (time x600): the "registered" case is really so.
    registered = next(s for s in seeded if s.name == "registered")
    cluster.wait_for(lambda: sandbox.campaign(registered.tcr_id)["infobipCampaigns"][0]["stage"] == "REGISTERED",
                     timeout=30, what="the sandbox to register the already-registered campaign")
    for entry in seeded:  # what the API server stored is what we meant to seed
        stored = status_of(cluster, namespace, entry.name)
        assert stored.get("phase") == (templates.get(entry.name) or {}).get("phase"), (entry.name, stored)
    first_seq = sandbox.last_seq()
    counted_before = {s.tcr_id: sandbox.counters(s.tcr_id) for s in seeded}

    operator = OperatorProcess(operator_env(sandbox, namespace), tmp_path / "operator.log").start()
    try:
        own = next(s for s in seeded if s.own)
        cluster.wait_for(lambda: status_of(cluster, namespace, own.name).get("phase") == "AwaitingOsrConfirmation",
                         timeout=60, what="the own-NNID resource to wait for its confirmation")
        sandbox.admin("POST", f"/campaigns/{own.tcr_id}/osr-updated")
        cluster.kubectl("annotate", "-n", namespace, f"cmig/{own.name}",
                        f"tendlc.io/osr-updated={rfc3339(dt.datetime.now(dt.UTC).replace(microsecond=0))}")

        def settled() -> bool:
            return all(status_of(cluster, namespace, s.name).get("phase") == s.phase for s in seeded)

        try:
            cluster.wait_for(settled, timeout=120, what="every resource to reach its final phase")
        except AssertionError:
            raise AssertionError(json.dumps({s.name: status_of(cluster, namespace, s.name) for s in seeded},
                                            indent=1)[:20000]) from None
        time.sleep(3)  # quiet resources stay quiet: give them time to misbehave
    finally:
        operator.stop()

    entries = sandbox.ledger(since=first_seq, limit=100_000)
    for entry in seeded:
        status = status_of(cluster, namespace, entry.name)
        where = f"{entry.name}: {json.dumps(status)[:3000]}"
        assert status["phase"] == entry.phase, where
        assert condition(status, "Ready")["reason"] == entry.reason, where
        assert not status.get("pendingOperation"), where
        counters = sandbox.counters(entry.tcr_id)
        # Requests received (the seeding's own included), not only successes: a resend fails this. The
        # seeding waits out 429s (no effect, before the success); nothing may arrive after the success.
        for endpoint, expected in (("tcr.migrate_cnp", entry.cnp_successes),
                                   ("infobip.migrate", entry.migrate_successes)):
            counted = sandbox.tally(endpoint, entry.tcr_id)
            assert counted["successes"] == expected, (where, endpoint, counted)
            assert counted["attemptsAfterSuccess"] == 0, (where, endpoint, counted)
            assert set(counted["byStatus"]) <= {"200", "429"}, (where, endpoint, counted)
        if entry.submitted_reason:
            assert condition(status, "MigrationSubmitted")["reason"] == entry.submitted_reason, where
        if entry.migrate_successes and entry.phase == "Registered":
            infobip = sandbox.campaign(entry.tcr_id)["infobipCampaigns"]
            assert [c["id"] for c in infobip] == [status["infobipCampaignId"]], where
        mine = [e for e in entries if entry.tcr_id in e["path"]]
        if entry.no_mutating_calls:
            assert [e for e in mine if e["method"] != "GET"] == [], (entry.name, mine)
            before = counted_before[entry.tcr_id]
            assert counters == before, entry.name
        assert not cluster.get_json("-n", namespace, f"cmig/{entry.name}")["metadata"].get("finalizers")


def test_a_resource_stored_by_the_previous_schema_version_still_works(
    cluster: Cluster, crd: str, sandbox: Sandbox, namespace: str, tmp_path: Path
) -> None:
    create_partner_secrets(cluster, namespace)
    partners = Partners(sandbox)
    tcr_id, number = campaign_id(), phone_numbers(1)[0]
    partners.import_numbers([number])
    partners.elect(tcr_id)
    infobip_id = partners.migrate(tcr_id, [number])
    now = dt.datetime.now(dt.UTC)
    values = {"name": "legacy", "campaign_id": tcr_id, "number": number, "infobip_id": infobip_id,
              "now": rfc3339(now), "earlier": rfc3339(now - dt.timedelta(hours=2))}
    document = yaml.safe_load(string.Template((FIXTURES / "previous-schema-in-migration.yaml").read_text())
                              .substitute(values))
    status = document.pop("status")
    apply(cluster, namespace, loa_secret("legacy-loa"), document)
    seed_status(cluster, namespace, "legacy", status)
    stored = cluster.get_json("-n", namespace, "cmig/legacy")
    assert stored["metadata"]["finalizers"] == ["tendlc.io/finalizer"]
    assert "someFieldOfAnOlderVersion" not in stored["status"]  # the API server pruned it
    assert "numberCount" not in stored["status"]
    assert "networkStatuses" not in stored["status"]
    first_seq = sandbox.last_seq()

    operator = OperatorProcess(operator_env(sandbox, namespace), tmp_path / "operator.log").start()
    try:
        cluster.wait_for(lambda: status_of(cluster, namespace, "legacy").get("phase") == "Registered",
                         timeout=60, what="the legacy resource to register")
        result = status_of(cluster, namespace, "legacy")
        assert result["infobipCampaignId"] == infobip_id
        assert result["numberCount"] == 1  # the newer fields are filled in
        assert condition(result, "Ready")["status"] == "True"
        assert sandbox.counters(tcr_id)["migrate"]["attempts"] == 1  # ours, made "before the upgrade"
        assert [e for e in sandbox.ledger(since=first_seq, limit=100_000)
                if e["method"] != "GET" and tcr_id in e["path"]] == []
    finally:
        operator.stop()
    assert "Traceback" not in operator.log()


def test_deleting_a_resource_left_with_the_previous_versions_finalizer_completes(
    cluster: Cluster, crd: str, sandbox: Sandbox, namespace: str, tmp_path: Path
) -> None:
    """The previous version (a Kopf daemon, commit 525b675) put Kopf's finalizer `tendlc.io/finalizer` on
    every resource; the current one sets none. Kopf still knows the finalizer name (handlers.py keeps
    `settings.persistence.finalizer`), so it releases it and deleting an upgraded resource completes."""
    create_partner_secrets(cluster, namespace)
    tcr_id, number = campaign_id("CST"), phone_numbers(1)[0]
    now = dt.datetime.now(dt.UTC)
    values = {"name": "legacy", "campaign_id": tcr_id, "number": number,
              "infobip_id": "00000000-0000-0000-0000-000000000000", "now": rfc3339(now), "earlier": rfc3339(now)}
    document = yaml.safe_load(string.Template((FIXTURES / "previous-schema-in-migration.yaml").read_text())
                              .substitute(values))
    document.pop("status")
    apply(cluster, namespace, loa_secret("legacy-loa"), document)
    operator = OperatorProcess(operator_env(sandbox, namespace), tmp_path / "operator.log").start()
    try:
        cluster.wait_for(lambda: status_of(cluster, namespace, "legacy").get("phase"), timeout=60,
                         what="the operator to handle the resource")
        cluster.kubectl("delete", "-n", namespace, "cmig/legacy", "--wait=false")
        gone = cluster.kubectl("wait", "-n", namespace, "--for=delete", "cmig/legacy", "--timeout=20s", check=False)
    finally:
        operator.stop()
        # Leave nothing that blocks the namespace's deletion whatever the outcome.
        cluster.kubectl("patch", "-n", namespace, "cmig/legacy", "--type=merge",
                        "-p", '{"metadata": {"finalizers": null}}', check=False)
    assert gone.returncode == 0, gone.stderr
