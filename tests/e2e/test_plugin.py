"""`kubectl tendlc` end to end: the real kubectl runs the plugin against the real API server, and the
real operator process moves real migrations through the sandbox where the status matters.

The plugin is invoked exactly as a user would (`kubectl tendlc …`, found on PATH as
`kubectl-tendlc`), with the cluster given by KUBECONFIG. Outputs are compared with the cluster's
objects and with the sandbox's ledger of partner requests; `why` with golden files
(tests/data/plugin/why/e2e-*.txt, times and IDs normalised; TENDLC_UPDATE_GOLDEN=1 rewrites them).
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

import tendlc
from support.cluster import Cluster
from support.migration import create_partner_secrets, migration, status_of, wait_for_phase
from support.operator import OperatorProcess, operator_env
from support.sandbox import Sandbox, campaign_id, phone_numbers

pytestmark = pytest.mark.e2e
VENV_BIN = Path(sys.executable).parent
GOLDEN = Path(__file__).resolve().parents[1] / "data" / "plugin" / "why"


def kubectl_tendlc(cluster: Cluster, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """`kubectl tendlc ARGS`: kubectl finds kubectl-tendlc on PATH and runs it with the same environment."""
    return subprocess.run([cluster.kubectl_path, "tendlc", *args], env=plugin_env(cluster), capture_output=True,
                          text=True, timeout=timeout, check=False)


def plugin_env(cluster: Cluster) -> dict[str, str]:
    assert (VENV_BIN / "kubectl-tendlc").exists(), "kubectl-tendlc is not installed: run `make venv`"
    return {**os.environ, "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}",
            "KUBECONFIG": str(cluster.kubeconfig)}


def write_inventory(directory: Path, rows: list[dict[str, str]]) -> Path:
    path = directory / "inventory.csv"
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["campaignId", "numbers", "loaFile", "loaSignedDate", "nnid"])
        writer.writeheader()
        writer.writerows(rows)
    return path


def loa_file(directory: Path, campaign: str) -> str:
    (directory / "loa").mkdir(exist_ok=True)
    (directory / "loa" / f"{campaign}.pdf").write_bytes(f"%PDF-1.7 LOA for {campaign}".encode())
    return f"loa/{campaign}.pdf"


def test_kubectl_runs_the_plugin_and_it_reports_the_projects_version(cluster: Cluster) -> None:
    listed = subprocess.run([cluster.kubectl_path, "plugin", "list"], env=plugin_env(cluster), capture_output=True,
                            text=True, check=False)
    assert str(VENV_BIN / "kubectl-tendlc") in listed.stdout
    version = kubectl_tendlc(cluster, "--version")
    assert (version.returncode, version.stdout) == (0, f"kubectl tendlc {tendlc.__version__}\n")


# --- plan: 300 rows, 5 bad ---------------------------------------------------------------------------------


@pytest.fixture
def inventory_300(tmp_path: Path, cluster: Cluster, crd: str, namespace: str) -> tuple[Path, dict[int, str]]:
    """300 rows (lines 2-301), 5 of them bad, one of those only the API server can tell (a CEL rule)."""
    today = dt.date.today()
    numbers = iter(phone_numbers(300 * 2))
    rows, campaigns = [], set()
    while len(campaigns) < 300:
        campaigns.add(campaign_id("CP"))
    for campaign in sorted(campaigns):
        rows.append({"campaignId": campaign, "numbers": f"{next(numbers)};{next(numbers)}",
                     "loaFile": loa_file(tmp_path, campaign), "loaSignedDate": today.isoformat(), "nnid": ""})
    bad = {
        17: "campaign ID 'cp12' is not C followed by 6 upper-case letters or digits",
        64: "number(s) '1954689928' not 1 followed by 10 digits",
        128: f"LOA signed {today - dt.timedelta(days=45)} is 45 days old",
        200: "does not exist",
        250: "campaignId is immutable",
    }
    rows[17 - 2]["campaignId"] = "cp12"
    rows[64 - 2]["numbers"] = "1954689928"
    rows[128 - 2]["loaSignedDate"] = (today - dt.timedelta(days=45)).isoformat()
    rows[200 - 2]["loaFile"] = "loa/not-there.pdf"
    # Someone already created cmig/<name of line 250> for another campaign: the CRD's CEL rule forbids the change.
    taken = rows[250 - 2]["campaignId"]
    other = migration(taken.lower(), "CZZZ999", phone_numbers(1))
    cluster.kubectl("apply", "-n", namespace, "-f", "-", input=yaml.safe_dump(other))
    return write_inventory(tmp_path, rows), bad


def reported_lines(output: str) -> dict[int, str]:
    return {int(m.group(1)): m.group(2) for m in re.finditer(r"^  line (\d+): (.*)$", output, re.MULTILINE)}


def test_plan_reports_exactly_the_bad_rows_and_writes_nothing_then_the_good_ones_apply_suspended(
    cluster: Cluster, crd: str, namespace: str, sandbox: Sandbox, inventory_300: tuple[Path, dict[int, str]],
    tmp_path: Path,
) -> None:
    inventory, bad = inventory_300
    manifests, secrets = tmp_path / "out" / "cmig.yaml", tmp_path / "loa-secrets.yaml"
    checked = kubectl_tendlc(cluster, "plan", "--csv", str(inventory), "-n", namespace, "-f", str(manifests),
                     "--secrets-out", str(secrets), "--wave", "w1", "--suspend")
    assert checked.returncode == 1, checked.stdout + checked.stderr
    found = reported_lines(checked.stdout)
    assert sorted(found) == sorted(bad), checked.stdout
    for line, reason in bad.items():
        assert reason in found[line], (line, found[line])
    assert "300 rows, 295 valid, 5 invalid" in checked.stdout
    assert f"checked: CEL rules and admission, by a server-side dry run in namespace {namespace}" in checked.stdout
    assert "nothing written: 5 invalid row(s)" in checked.stdout
    assert not manifests.exists()
    assert not manifests.parent.exists()
    assert not secrets.exists()
    assert cluster.get_json("secrets", "-n", namespace, "-l", "tendlc.io/usage=loa")["items"] == []
    assert len(cluster.get_json("cmig", "-n", namespace)["items"]) == 1  # only the one created by hand

    offline = kubectl_tendlc(cluster, "plan", "--csv", str(inventory), "--no-dry-run-server")
    assert sorted(reported_lines(offline.stdout)) == sorted(set(bad) - {250})
    assert "not checked: the CEL rules (" in offline.stdout

    written = kubectl_tendlc(cluster, "plan", "--csv", str(inventory), "-n", namespace, "-f", str(manifests),
                     "--apply-secrets", "--wave", "w1", "--suspend", "--skip-invalid")
    assert written.returncode == 1, written.stdout + written.stderr
    assert sorted(reported_lines(written.stdout)) == sorted(bad)
    assert "applied 295 LOA Secret(s)" in written.stdout
    documents = list(yaml.safe_load_all(manifests.read_text()))
    assert len(documents) == 295
    assert {d["kind"] for d in documents} == {"CampaignMigration"}
    loa_secrets = cluster.get_json("secrets", "-n", namespace, "-l", "tendlc.io/usage=loa,tendlc.io/wave=w1")["items"]
    assert len(loa_secrets) == 295

    applied = cluster.kubectl("apply", "-f", str(manifests), timeout=180)
    assert applied.stdout.count("created") == 295
    stored = cluster.get_json("cmig", "-n", namespace, "-l", "tendlc.io/wave=w1")["items"]
    assert len(stored) == 295
    assert all(o["metadata"]["annotations"]["tendlc.io/suspend"] == "true" for o in stored)

    # The operator takes all of them in and parks them: not one partner request for these campaigns.
    first_seq = sandbox.last_seq()
    create_partner_secrets(cluster, namespace)
    operator = OperatorProcess(operator_env(sandbox, namespace), tmp_path / "operator.log").start()
    try:
        def all_suspended() -> bool:
            items = cluster.get_json("cmig", "-n", namespace, "-l", "tendlc.io/wave=w1")["items"]
            return sum((o.get("status") or {}).get("phase") == "Suspended" for o in items) == 295

        cluster.wait_for(all_suspended, timeout=120, interval=1, what="295 Suspended")
        summary = kubectl_tendlc(cluster, "status", "-n", namespace, "--wave", "w1")
    finally:
        operator.stop()
    assert summary.returncode == 0, summary.stdout + summary.stderr
    assert re.search(r"^Suspended\s+295$", summary.stdout, re.MULTILINE), summary.stdout
    assert "in flight: 0   failed: 0   stalled: 0   waiting for you: 0" in summary.stdout
    campaigns = {d["spec"]["campaignId"] for d in documents}
    calls = sandbox.ledger(since=first_seq, limit=100_000)
    assert [c for c in calls if any(campaign in c["path"] + c["query"] for campaign in campaigns)] == []


# --- status, why, controls, report against real migrations -----------------------------------------------------


@pytest.fixture
def fleet(cluster: Cluster, crd: str, namespace: str, sandbox: Sandbox, tmp_path: Path) -> Iterator[dict[str, str]]:
    """Four real migrations planned by the plugin, applied with kubectl, run by the operator process."""
    campaigns = {"happy": campaign_id("CH"), "own": campaign_id("CH"), "rejected": campaign_id("CRJ"),
                 "stuck": campaign_id("CST")}
    rows = [{"campaignId": c, "numbers": ";".join(phone_numbers(2)), "loaFile": loa_file(tmp_path, c),
             "loaSignedDate": dt.date.today().isoformat(), "nnid": "Own" if role == "own" else ""}
            for role, c in campaigns.items()]
    inventory = write_inventory(tmp_path, rows)
    planned = kubectl_tendlc(cluster, "plan", "--csv", str(inventory), "-n", namespace, "-f", str(tmp_path / "m.yaml"),
                     "--apply-secrets", "--wave", "pilot")
    assert planned.returncode == 0, planned.stdout + planned.stderr
    cluster.kubectl("apply", "-f", str(tmp_path / "m.yaml"))
    create_partner_secrets(cluster, namespace)
    operator = OperatorProcess(operator_env(sandbox, namespace), tmp_path / "operator.log").start()
    try:
        names = {role: c.lower() for role, c in campaigns.items()}
        wait_for_phase(cluster, namespace, names["happy"], "Registered")
        wait_for_phase(cluster, namespace, names["rejected"], "Failed")
        wait_for_phase(cluster, namespace, names["own"], "AwaitingOsrConfirmation")
        wait_for_phase(cluster, namespace, names["stuck"], "InMigration")
        yield {**names, **{f"{role}-campaign": c for role, c in campaigns.items()}, "dir": str(tmp_path)}
    finally:
        operator.stop()


def normalise(text: str, fleet: dict[str, str], namespace: str) -> str:
    """What changes from run to run replaced by placeholders: times, durations, IDs, names."""
    for role in ("happy", "own", "rejected", "stuck"):
        text = text.replace(fleet[f"{role}-campaign"], f"<{role.upper()}-CAMPAIGN>").replace(fleet[role],
                                                                                             f"<{role.upper()}>")
    text = text.replace(namespace, "<NAMESPACE>")
    text = re.sub(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z", "<TIME>", text)
    text = re.sub(r"\d{4}-\d{2}-\d{2}", "<DATE>", text)
    text = re.sub(r"\((in )?(\d+[dhms] ?){1,2}( ago)?\)", "(<WHEN>)", text)
    text = re.sub(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", "<UUID>", text)
    text = re.sub(r"\b1\d{10}\b", "<NUMBER>", text)
    return re.sub(r"attempts? \d+", "attempts <N>", text)


def check_golden(name: str, text: str) -> None:
    golden = GOLDEN / f"e2e-{name}.txt"
    if os.environ.get("TENDLC_UPDATE_GOLDEN"):
        golden.write_text(text)
    assert text == golden.read_text(), f"why output differs from {golden}:\n{text}"


def test_status_why_controls_and_report_follow_real_migrations(
    cluster: Cluster, namespace: str, sandbox: Sandbox, fleet: dict[str, str]
) -> None:
    summary = kubectl_tendlc(cluster, "status", "-n", namespace, "--wave", "pilot")
    assert summary.returncode == 1, summary.stdout + summary.stderr  # one failed, one waiting for the user
    for phase in ("InMigration", "AwaitingOsrConfirmation", "Registered", "Failed"):
        assert re.search(rf"^{phase}\s+1$", summary.stdout, re.MULTILINE), summary.stdout
    assert "in flight: 2   failed: 1   stalled: 0   waiting for you: 1   downtime in progress: 0" in summary.stdout
    as_json = json.loads(kubectl_tendlc(cluster, "status", "-n", namespace, "-o", "json").stdout)
    assert [f["name"] for f in as_json["failed"]] == [fleet["rejected"]]
    assert [w["name"] for w in as_json["waitingForYou"]] == [fleet["own"]]
    # The summary agrees with the partner's side.
    assert sandbox.campaign(fleet["rejected-campaign"])["infobipCampaigns"][0]["stage"] == "REJECTED"
    assert sandbox.campaign(fleet["happy-campaign"])["infobipCampaigns"][0]["stage"] == "REGISTERED"

    for role in ("happy", "rejected", "own"):
        story = kubectl_tendlc(cluster, "why", fleet[role], "-n", namespace)
        assert story.returncode == 0, story.stderr
        check_golden(role, normalise(story.stdout, fleet, namespace))
    missing = kubectl_tendlc(cluster, "why", "nothere", "-n", namespace)
    assert missing.returncode == 4
    assert f"cmig/nothere not found in namespace {namespace}" in missing.stderr

    refused = kubectl_tendlc(cluster, "retry", fleet["happy"], "-n", namespace)
    assert refused.returncode == 1
    assert "refused: Registered: nothing to retry" in refused.stdout
    not_own = kubectl_tendlc(cluster, "confirm-osr", fleet["stuck"], "-n", namespace)
    assert (not_own.returncode, "refused: nnid is Infobip" in not_own.stdout) == (1, True)
    retried = kubectl_tendlc(cluster, "retry", fleet["stuck"], "-n", namespace)
    assert retried.returncode == 0, retried.stdout
    token = cluster.get_json("-n", namespace, f"cmig/{fleet['stuck']}")["metadata"]["annotations"]["tendlc.io/retry"]
    cluster.wait_for(lambda: status_of(cluster, namespace, fleet["stuck"]).get("lastHandledRetry") == token,
                     timeout=30, what="the operator to act on the plugin's retry")

    # The confirmation goes first: once the sandbox's OSR is updated, a poll may see REGISTERED before it.
    at = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(seconds=1)
    confirmed = kubectl_tendlc(cluster, "confirm-osr", fleet["own"], "-n", namespace, "--at", at.isoformat())
    assert confirmed.returncode == 0, confirmed.stdout + confirmed.stderr
    sandbox.admin("POST", f"/campaigns/{fleet['own-campaign']}/osr-updated")
    wait_for_phase(cluster, namespace, fleet["own"], "Registered")

    report = json.loads(kubectl_tendlc(cluster, "report", "-n", namespace, "--wave", "pilot", "-o", "json").stdout)
    records = {r["name"]: r for r in report["campaigns"]}
    assert sorted(records) == sorted(fleet[role] for role in ("happy", "own", "rejected", "stuck"))
    for role in ("happy", "own", "rejected", "stuck"):
        check_record(records[fleet[role]], fleet[f"{role}-campaign"], sandbox, Path(fleet["dir"]))
    own = records[fleet["own"]]
    assert own["downtimeStartedAt"] == at.isoformat().replace("+00:00", "Z")
    assert own["downtimeSeconds"] is not None
    assert records[fleet["rejected"]]["failedAt"]
    as_csv = list(csv.DictReader(kubectl_tendlc(cluster, "report", "-n", namespace, "-o", "csv").stdout.splitlines()))
    assert {r["name"]: r["loaSha256"] for r in as_csv} == {name: r["loaSha256"] for name, r in records.items()}


def check_record(record: dict[str, Any], campaign: str, sandbox: Sandbox, directory: Path) -> None:
    """One audit record against the sandbox: the Infobip UUID, and each step's time against the ledger."""
    infobip = sandbox.campaign(campaign)["infobipCampaigns"]
    assert len(infobip) == 1
    assert record["infobipCampaignId"] == infobip[0]["id"]
    migrate = sandbox.counters(campaign)["migrate"]
    # Exactly once: one migrate took effect; any other request was refused by the rate limit (nothing happened).
    assert migrate["successes"] == 1, migrate
    assert migrate["attempts"] - 1 == migrate["byStatus"].get("429", 0), migrate
    assert record["loaSha256"] == hashlib.sha256((directory / "loa" / f"{campaign}.pdf").read_bytes()).hexdigest()
    assert record["loaSignedDate"] == dt.date.today().isoformat()
    assert record["loaNote"] == ""

    def epoch(value: str) -> float:
        return dt.datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()

    elect = [e for e in sandbox.ledger(pathContains=f"/campaign/{campaign}/migrateCnp", method="POST")
             if e["status"] == 200]
    polls = [e for e in sandbox.ledger(pathContains=infobip[0]["id"], method="GET", limit=100_000)]
    assert len(elect) == 1
    assert polls
    # Clocks: status times are the operator's, wallTime is the sandbox's; same machine, 1 s of rounding allowed.
    assert elect[0]["wallTime"] - 1 <= epoch(record["cnpElectedAt"]) <= polls[0]["wallTime"] + 1
    assert epoch(record["cnpElectedAt"]) <= epoch(record["migrationSubmittedAt"]) <= polls[0]["wallTime"] + 1
    if record["registeredAt"]:
        registered_polls = [p for p in polls if p["status"] == 200]
        assert registered_polls[0]["wallTime"] - 1 <= epoch(record["registeredAt"]) <= registered_polls[-1][
            "wallTime"] + 1


def test_status_watch_re_renders_on_changes_and_ends_on_ctrl_c(
    cluster: Cluster, crd: str, namespace: str
) -> None:
    cluster.kubectl("apply", "-n", namespace, "-f", "-",
                    input=yaml.safe_dump(migration("cwatch1", "CWATCH1", phone_numbers(1))))
    watcher = subprocess.Popen([cluster.kubectl_path, "tendlc", "status", "-n", namespace, "--watch",
                                "--interval", "0.2"], env=plugin_env(cluster), stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    assert watcher.stdout is not None
    try:
        renders: list[str] = []

        def read_render() -> str:
            lines: list[str] = []
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                line = watcher.stdout.readline()  # type: ignore[union-attr]
                if line == "---\n" and lines:
                    break
                if line and line != "---\n":
                    lines.append(line)
                if "in flight:" in line:
                    break
            return "".join(lines)

        renders.append(read_render())
        assert "1 CampaignMigration in namespace" in renders[0]
        cluster.kubectl("patch", "-n", namespace, "cmig/cwatch1", "--subresource=status", "--type=merge", "-p",
                        json.dumps({"status": {"phase": "InMigration",
                                               "downtimeStartedAt": "2026-01-01T00:00:00Z"}}))
        while "InMigration" not in renders[-1]:
            renders.append(read_render())
        assert "downtime in progress: 1" in renders[-1]
        watcher.send_signal(signal.SIGINT)
        assert watcher.wait(10) == 0
    finally:
        if watcher.poll() is None:
            watcher.kill()
            watcher.wait()


def test_approve_and_status_of_a_wave_follow_the_real_operator(
    cluster: Cluster, crd: str, wave_crd: str, namespace: str, sandbox: Sandbox, tmp_path: Path
) -> None:
    """A wave with a canary and an approval gate: `approve` is refused before the gate opens (the
    operator would set the value aside), `status --wave` shows the gate, `approve` releases the rest."""
    create_partner_secrets(cluster, namespace)
    docs: list[dict[str, Any]] = []
    for index in range(3):
        name = f"gate-{index}"
        member = migration(name, campaign_id("CH"), phone_numbers(1))
        member["metadata"]["labels"] = {"tendlc.io/wave": "gate"}
        docs += [{"apiVersion": "v1", "kind": "Secret", "metadata": {"name": f"{name}-loa",
                  "labels": {"tendlc.io/usage": "loa"}},
                  "stringData": {"loa.pdf": "%PDF-1.7", "signedDate": dt.date.today().isoformat()}}, member]
    docs.append({"apiVersion": "tendlc.io/v1alpha1", "kind": "MigrationWave", "metadata": {"name": "gate"},
                 "spec": {"selector": {"matchLabels": {"tendlc.io/wave": "gate"}}, "canary": 1,
                          "approval": {"afterCanary": True}}})
    cluster.kubectl("apply", "-n", namespace, "-f", "-", input=yaml.safe_dump_all(docs))
    operator = OperatorProcess(operator_env(sandbox, namespace), tmp_path / "operator.log").start()
    try:
        early = kubectl_tendlc(cluster, "approve", "gate", "-n", namespace)
        assert early.returncode == 1, early.stdout + early.stderr
        assert "refused: phase" in early.stdout
        cluster.wait_for(lambda: (cluster.get_json("-n", namespace, "mwave/gate").get("status") or {}).get("phase")
                         == "AwaitingApproval", timeout=90, what="the canary to pass")
        waiting = kubectl_tendlc(cluster, "status", "-n", namespace, "--wave", "gate")
        assert "MigrationWave gate: AwaitingApproval" in waiting.stdout, waiting.stdout
        assert "approval: awaited — kubectl tendlc approve gate" in waiting.stdout
        assert "canary: gate-0 (passed " in waiting.stdout
        assert re.search(r"^Registered\s+1$", waiting.stdout, re.MULTILINE), waiting.stdout
        approved = kubectl_tendlc(cluster, "approve", "gate", "-n", namespace, "--note", "CHG-42")
        assert approved.returncode == 0, approved.stdout + approved.stderr
        assert "changed: approved (tendlc.io/approve=CHG-42)" in approved.stdout
        for index in (1, 2):
            wait_for_phase(cluster, namespace, f"gate-{index}", "Registered", timeout=90)
        again = kubectl_tendlc(cluster, "approve", "gate", "-n", namespace)
        as_json = json.loads(kubectl_tendlc(cluster, "status", "-n", namespace, "--wave", "gate", "-o", "json").stdout)
    finally:
        operator.stop()
    assert again.returncode == 0
    assert "unchanged: already approved" in again.stdout
    (shown,) = as_json["waves"]
    assert shown["name"] == "gate"
    assert shown["approvedAt"]
    assert cluster.get_json("-n", namespace, "mwave/gate")["status"]["lastHandledApproval"] == "CHG-42"
