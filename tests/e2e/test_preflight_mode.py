"""`spec.mode: Preflight` for real (D64-D67): the operator as a process against the sandbox, one resource
per seeded problem, each found with its stable reason — and not one partner write in the ledger.
Then the clean one is switched to Migrate and goes all the way."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from support.cluster import Cluster
from support.migration import apply, condition, create_partner_secrets, loa_secret, migration, status_of
from support.operator import OperatorProcess, operator_env
from support.sandbox import Sandbox, campaign_id, phone_numbers

pytestmark = pytest.mark.e2e


def _preflight(name: str, tcr_id: str, numbers: list[str], **spec: Any) -> dict[str, Any]:
    return migration(name, tcr_id, numbers, mode="Preflight", **spec)


def test_preflight_finds_each_seeded_problem_with_its_reason_and_writes_nothing(
    cluster: Cluster, crd: str, sandbox: Sandbox, namespace: str, tmp_path: Path
) -> None:
    create_partner_secrets(cluster, namespace)
    today = dt.date.today()
    expired = campaign_id("CEX")  # the sandbox's expired scenario
    elsewhere, suspended, used, clean, stale, many = (campaign_id() for _ in range(6))
    sandbox.seed_scenario(elsewhere, election={"upstreamCnpId": "OTHERCNP", "sharingStatus": "PENDING"})
    sandbox.seed_scenario(suspended, suspendedMnos=["10035"])
    taken = phone_numbers(2)
    sandbox.seed_existing_campaign(campaign_id(), taken[:1])  # another campaign holds one of them
    in_fifteen_days = (dt.datetime.now(dt.UTC) + dt.timedelta(days=15)).replace(microsecond=0).isoformat()
    cases = {
        "expired": (_preflight("expired", expired, phone_numbers(2)), "CampaignExpired"),
        "elsewhere": (_preflight("elsewhere", elsewhere, phone_numbers(2)), "ElectionOpenElsewhere"),
        "suspended": (_preflight("suspended", suspended, phone_numbers(2)), "CampaignSuspended"),
        "used": (_preflight("used", used, taken), "NumbersInOtherCampaign"),
        "stale": (_preflight("stale", stale, phone_numbers(2), notBefore=in_fifteen_days),
                  "LoaExpiresBeforeSubmission"),
        "many": (_preflight("many", many, phone_numbers(50)), "TooManyNumbersWithoutPool"),
        "clean": (_preflight("clean", clean, phone_numbers(2)), "Eligible"),
    }
    for name, (manifest, _) in cases.items():
        signed = today - dt.timedelta(days=20) if name == "stale" else today
        apply(cluster, namespace, loa_secret(f"{name}-loa", signed), manifest)
    first_seq = sandbox.last_seq()
    counters_before = {m["spec"]["campaignId"]: sandbox.counters(m["spec"]["campaignId"]) for m, _ in cases.values()}

    operator = OperatorProcess(operator_env(sandbox, namespace), tmp_path / "operator.log").start()
    try:
        def checked() -> bool:
            return all((status_of(cluster, namespace, name).get("preflight") or {}).get("checkedAt")
                       for name in cases)

        cluster.wait_for(checked, timeout=90, what="every preflight to read the partners")
        preflight_entries = sandbox.ledger(since=first_seq, limit=100_000)
        statuses = {name: status_of(cluster, namespace, name) for name in cases}

        # The clean one, switched to Migrate, migrates: the preflight held nothing back.
        cluster.kubectl("patch", "-n", namespace, "cmig/clean", "--type=merge", "-p", '{"spec": {"mode": "Migrate"}}')
        cluster.wait_for(lambda: status_of(cluster, namespace, "clean").get("phase") == "Registered", timeout=90,
                         what="the clean campaign to migrate once switched to Migrate")
    finally:
        operator.stop()

    # Zero partner writes while in Preflight: every request the sandbox received was a GET.
    assert preflight_entries
    assert {entry["method"] for entry in preflight_entries} == {"GET"}, [
        (e["method"], e["path"]) for e in preflight_entries if e["method"] != "GET"]
    assert not any(entry["effect"] for entry in preflight_entries)
    for manifest, _ in cases.values():
        tcr_id = manifest["spec"]["campaignId"]
        if manifest["metadata"]["name"] != "clean":
            assert sandbox.counters(tcr_id) == counters_before[tcr_id], tcr_id

    for name, (_, reason) in cases.items():
        status = statuses[name]
        eligible = condition(status, "Eligible")
        assert eligible is not None, (name, status)
        assert eligible["reason"] == reason, (name, status["preflight"])
        assert eligible["status"] == ("True" if reason == "Eligible" else "False"), name
        assert status["phase"] == "Preflight", name
        assert condition(status, "Ready")["status"] == "False", name
        problems = [problem["reason"] for problem in status["preflight"]["problems"]]
        assert problems == ([] if reason == "Eligible" else [reason]), (name, status["preflight"])
        not_checked = {item["check"] for item in status["preflight"]["notChecked"]}
        assert {"ImportEnabled", "MigrationApiEnabled"} <= not_checked, name
    used_problem = statuses["used"]["preflight"]["problems"][0]
    assert used_problem["count"] == 1
    assert taken[0] in used_problem["message"]
    assert statuses["many"]["preflight"]["problems"][0]["count"] == 50
    assert statuses["stale"]["preflight"]["plannedSubmissionAt"].startswith(in_fifteen_days[:10])
    assert sandbox.attempts("migrate", clean) == 1  # and once switched, it migrated exactly once
