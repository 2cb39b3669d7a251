"""The API server itself validates MigrationWaves: the CRD's schema and CEL rules, its columns, its conditions.

Every invalid manifest of `tests/data/waves/invalid/` is applied with kubectl (one call for the
whole corpus, then each object's own error line is checked) and must be refused with its expected
words; the valid ones are stored with the CRD's defaults; `kubectl get` shows the printer columns
and `kubectl wait --for=condition=Complete` returns once the status says so.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from support.cluster import Cluster
from tendlc.api.wave import WaveSpec

REPO_ROOT = Path(__file__).resolve().parents[2]
CRD = REPO_ROOT / "crds" / "migrationwaves.tendlc.io.yaml"
DATA = REPO_ROOT / "tests" / "data" / "waves"
INVALID = sorted((DATA / "invalid").glob("*.yaml"))


def _expectation(path: Path) -> str:
    first = path.read_text().splitlines()[0]
    return first.removeprefix("# expect:").strip()


def test_every_invalid_wave_is_refused_with_its_message(cluster: Cluster, wave_crd: str, namespace: str) -> None:
    result = cluster.kubectl("apply", "-n", namespace, *(arg for p in INVALID for arg in ("-f", str(p))), check=False)
    assert result.returncode != 0
    errors: dict[str, str] = {}
    for line in result.stderr.splitlines():
        match = re.search(r'MigrationWave(?:\.tendlc\.io)? "([^"]+)" is invalid: (.*)$', line)
        if match:
            errors[match.group(1)] = match.group(2)
    for path in INVALID:
        name = yaml.safe_load(path.read_text())["metadata"]["name"]
        assert name in errors, f"{path.name} was accepted (or refused without a validation error): {result.stderr}"
        assert _expectation(path) in errors[name], f"{path.name}: {errors[name]}"
    assert "created" not in result.stdout, result.stdout  # nothing of the corpus was stored


def test_valid_waves_are_stored_with_the_crds_defaults(cluster: Cluster, wave_crd: str, namespace: str) -> None:
    cluster.kubectl("apply", "-n", namespace, "-f", str(DATA / "valid"))
    minimal = cluster.get_json("-n", namespace, "mwave/minimal")["spec"]
    assert minimal == {
        "selector": {"matchLabels": {"tendlc.io/wave": "minimal"}}, "order": "Name", "canary": 0,
        "approval": {"afterCanary": False},
        "maxInFlight": 10, "maxFailed": 1, "stuckAfter": "1h", "suspend": False,
    }
    assert WaveSpec.model_validate(minimal).to_dict() == minimal
    full = cluster.get_json("-n", namespace, "migrationwave/spring")["spec"]
    # The member's own cut-over schema, its default included.
    assert full["cutover"] == {"configMap": {"name": "routing", "key": "{campaignId}", "value": "infobip"}}
    assert full["windows"][0]["timeZone"] == "America/New_York"
    WaveSpec.model_validate(full)


def test_what_the_schema_cannot_check_is_stored_and_refused_by_the_model(
    cluster: Cluster, wave_crd: str, namespace: str,
) -> None:
    """A cron field out of range or an unknown time zone passes the CRD (no cron or tz database in CEL):
    the operator's model refuses it, and the operator reports it on the wave (InvalidSpec)."""
    for name, window in (("minute-61", {"schedule": "61 * * * *", "duration": "1h"}),
                         ("mars", {"schedule": "0 2 * * *", "duration": "1h", "timeZone": "Mars/Olympus_Mons"})):
        wave = {"apiVersion": "tendlc.io/v1alpha1", "kind": "MigrationWave", "metadata": {"name": name},
                "spec": {"selector": {"matchLabels": {"w": name}}, "windows": [window]}}
        cluster.kubectl("apply", "-n", namespace, "-f", "-", input=json.dumps(wave))
        stored = cluster.get_json("-n", namespace, f"mwave/{name}")
        with pytest.raises(ValueError, match=r"outside 0-59|unknown time zone"):
            WaveSpec.model_validate(stored["spec"])


def test_printer_columns_and_kubectl_wait_for_complete(cluster: Cluster, wave_crd: str, namespace: str) -> None:
    cluster.kubectl("apply", "-n", namespace, "-f", str(DATA / "valid" / "minimal.yaml"))
    status = {
        "observedGeneration": 1, "phase": "Complete",
        "conditions": [{"type": "Complete", "status": "True", "reason": "AllMembersFinal", "message": "done",
                        "lastTransitionTime": "2026-12-01T08:00:00Z", "observedGeneration": 1}],
        "counts": {"members": 12, "held": 0, "released": 12, "inFlight": 0, "registered": 11, "failed": 1,
                   "stuck": 0, "byPhase": {"Failed": 1, "Registered": 11}},
        "nextWindow": {"start": "2026-12-02T07:00:00Z", "end": "2026-12-02T11:00:00Z"}, "windowOpen": False,
        "failures": [{"member": "cabc123", "reason": "CampaignRejected", "since": "2026-12-01T07:00:00Z"}],
    }
    cluster.kubectl("patch", "-n", namespace, "mwave/minimal", "--subresource=status", "--type=merge",
                    "-p", json.dumps({"status": status}))
    stored = cluster.get_json("-n", namespace, "mwave/minimal")["status"]
    assert stored["counts"] == status["counts"]  # nothing pruned
    assert stored["failures"] == status["failures"]
    table = cluster.kubectl("get", "-n", namespace, "mwave", "minimal").stdout.splitlines()
    assert table[0].split() == ["NAME", "PHASE", "MEMBERS", "IN-FLIGHT", "REGISTERED", "FAILED", "NEXT-WINDOW", "AGE"]
    assert table[1].split()[:7] == ["minimal", "Complete", "12", "0", "11", "1", "2026-12-02T07:00:00Z"]
    wide = cluster.kubectl("get", "-n", namespace, "mwave", "minimal", "-o", "wide").stdout.splitlines()
    assert "WINDOW-OPEN" in wide[0].split()
    assert "migrationwave.tendlc.io/minimal" in cluster.kubectl("get", "-n", namespace, "tendlc", "-o", "name").stdout
    cluster.kubectl("wait", "-n", namespace, "--for=condition=Complete", "mwave/minimal", "--timeout=10s")
