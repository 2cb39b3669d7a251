"""The fleet summary, the audit records and the time formats, from hand-made objects."""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import json
from datetime import UTC, datetime, timedelta
from typing import Any

from tendlc_cli.audit import FIELDS, fingerprint, record, render_csv, render_json
from tendlc_cli.fleet import render_text, summarise, to_json
from tendlc_cli.render import table
from tendlc_cli.times import duration, parse_rfc3339, relative, show

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
DOCUMENT = b"%PDF-1.7 the signed letter"


def cmig(name: str, phase: str | None, reason: str = "", *, namespace: str = "team-a", **status: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "metadata": {"name": name, "namespace": namespace, "labels": {"tendlc.io/wave": "w1"},
                     "creationTimestamp": "2026-11-27T09:00:00Z"},
        "spec": {"campaignId": name.upper(), "numbers": ["19546899283"], "loaSecretRef": {"name": f"{name}-loa"}},
    }
    if phase:
        conditions = [{"type": "Ready", "status": "True" if phase == "Registered" else "False", "reason": reason,
                       "message": "", "lastTransitionTime": "2026-11-27T10:00:00Z"}]
        if status.pop("stalled", False):
            conditions.append({"type": "Stalled", "status": "True", "reason": "Stalled", "message": "",
                               "lastTransitionTime": "2026-11-27T10:00:00Z"})
        body["status"] = {"phase": phase, "conditions": conditions, **status}
    return body


FLEET = [
    cmig("cnew001", None),
    cmig("cimp001", "ImportingNumbers", "ImportingNumbers"),
    cmig("cmig001", "InMigration", "InMigration"),
    cmig("cmig002", "InMigration", "Stalled", stalled=True, migrationSubmittedAt="2026-11-23T10:00:00Z"),
    cmig("cown001", "InMigration", "InMigration", downtimeStartedAt="2026-11-27T10:47:00Z"),
    cmig("cosr001", "AwaitingOsrConfirmation", "AwaitingOsrConfirmation"),
    cmig("cloa001", "Pending", "LoaExpired"),
    cmig("creg001", "Registered", "Registered", downtimeStartedAt="2026-11-27T10:00:00Z",
         downtimeEndedAt="2026-11-27T11:00:00Z"),
    cmig("crej001", "Failed", "CampaignRejected"),
    cmig("csus001", "Suspended", "Suspended"),
]


def test_fleet_counts() -> None:
    fleet = summarise(FLEET)
    assert fleet.phases == {"<none>": 1, "Pending": 1, "ImportingNumbers": 1, "InMigration": 3,
                            "AwaitingOsrConfirmation": 1, "Registered": 1, "Failed": 1, "Suspended": 1}
    assert [e.name for e in fleet.in_flight] == ["cimp001", "cmig001", "cmig002", "cosr001", "cown001"]
    assert [e.name for e in fleet.failed] == ["crej001"]
    assert [e.name for e in fleet.stalled] == ["cmig002"]
    assert [e.name for e in fleet.waiting_for_you] == ["cloa001", "cosr001"]  # not the suspended one
    assert [e.name for e in fleet.downtime] == ["cown001"]
    assert fleet.has_problems


def test_a_quiet_fleet_has_no_problems() -> None:
    fleet = summarise([cmig("cmig001", "InMigration", "InMigration"), cmig("csus001", "Suspended", "Suspended")])
    assert not fleet.has_problems


def test_fleet_text() -> None:
    text = render_text(summarise(FLEET), NOW, namespace="team-a", wave="w1")
    assert text == """\
10 CampaignMigrations in namespace team-a, wave w1 at 2026-11-27T12:00:00Z

PHASE                     COUNT
<none>                    1
Pending                   1
ImportingNumbers          1
InMigration               3
AwaitingOsrConfirmation   1
Registered                1
Failed                    1
Suspended                 1

in flight: 5   failed: 1   stalled: 1   waiting for you: 2   downtime in progress: 1

FAILED
  NAME      CAMPAIGN   REASON
  crej001   CREJ001    CampaignRejected

STALLED
  NAME      CAMPAIGN   SUBMITTED              FOR
  cmig002   CMIG002    2026-11-23T10:00:00Z   4d 2h

WAITING FOR YOU
  NAME      CAMPAIGN   PHASE                     REASON
  cloa001   CLOA001    Pending                   LoaExpired
  cosr001   COSR001    AwaitingOsrConfirmation   AwaitingOsrConfirmation

DOWNTIME IN PROGRESS
  NAME      CAMPAIGN   SINCE                  FOR
  cown001   COWN001    2026-11-27T10:47:00Z   1h 13m

kubectl tendlc why NAME tells one migration's story and what to do.
"""


def test_fleet_text_across_namespaces_names_them_and_cuts_long_lists() -> None:
    many = [cmig(f"c{i:06d}", "Failed", "CampaignRejected", namespace=f"team-{i % 2}") for i in range(25)]
    text = render_text(summarise(many), NOW, namespace=None, wave=None, limit=20)
    assert "25 CampaignMigrations in all namespaces at" in text
    assert "  NAMESPACE   NAME      CAMPAIGN   REASON" in text
    assert "  … and 5 more (-o json lists them all)" in text


def test_an_empty_fleet_says_so() -> None:
    assert render_text(summarise([]), NOW, namespace="team-a", wave=None) == (
        "0 CampaignMigrations in namespace team-a at 2026-11-27T12:00:00Z\n"
    )


def test_fleet_json() -> None:
    data = to_json(summarise(FLEET), NOW, namespace="team-a", wave="w1")
    assert data["total"] == 10
    assert data["inFlight"] == 5
    assert data["downtimeInProgress"] == [{"namespace": "team-a", "name": "cown001", "campaignId": "COWN001",
                                           "phase": "InMigration", "reason": "InMigration",
                                           "since": "2026-11-27T10:47:00Z", "seconds": 4380}]
    json.dumps(data)


def secret(labelled: bool = True, **data: bytes) -> dict[str, Any]:
    return {"metadata": {"name": "x-loa", "labels": {"tendlc.io/usage": "loa"} if labelled else {}},
            "data": {key: base64.b64encode(value).decode() for key, value in data.items()}}


def test_fingerprint_is_the_documents_sha256_and_the_signing_date() -> None:
    loa = fingerprint(secret(**{"loa.pdf": DOCUMENT, "signedDate": b"2026-11-20\n"}), "loa.pdf", "signedDate")
    assert loa.sha256 == hashlib.sha256(DOCUMENT).hexdigest()
    assert loa.signed_date == "2026-11-20"
    assert loa.note == ""


def test_fingerprint_names_what_is_missing() -> None:
    assert fingerprint(None, "loa.pdf", "signedDate").note == "Secret not found"
    loa = fingerprint(secret(labelled=False), "loa.pdf", "signedDate")
    assert (loa.sha256, loa.signed_date) == (None, None)
    assert loa.note == ("no document under key loa.pdf; no signing date under key signedDate; "
                        "Secret not labelled tendlc.io/usage=loa")


def test_audit_record_of_a_registered_migration() -> None:
    obj = FLEET[7]
    obj["status"] |= {"infobipCampaignId": "44e8c5fc", "infobipStage": "REGISTERED",
                      "numbersImportedAt": "2026-11-27T09:00:01.250000Z", "registeredAt": "2026-11-27T11:00:00Z"}
    loa = fingerprint(secret(**{"loa.pdf": DOCUMENT, "signedDate": b"2026-11-20"}), "loa.pdf", "signedDate")
    row = record(obj, loa)
    assert list(row) == list(FIELDS)
    assert row["numbersImportedAt"] == "2026-11-27T09:00:01.250000Z"
    assert (row["downtimeStartedAt"], row["downtimeEndedAt"], row["downtimeSeconds"]) == (
        "2026-11-27T10:00:00Z", "2026-11-27T11:00:00Z", 3600)
    assert (row["wave"], row["loaSecret"], row["readyReason"]) == ("w1", "creg001-loa", "Registered")


def test_audit_csv_and_json_never_carry_the_document() -> None:
    loa = fingerprint(secret(**{"loa.pdf": DOCUMENT, "signedDate": b"2026-11-20"}), "loa.pdf", "signedDate")
    records = [record(obj, loa) for obj in FLEET]
    text = render_csv(records)
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == len(FLEET)
    assert rows[0]["phase"] == ""  # no status: empty, not "None"
    as_json = render_json(records, {"generatedAt": "x"})
    for output in (text, as_json):
        assert "PDF" not in output
        assert base64.b64encode(DOCUMENT).decode() not in output
    assert json.loads(as_json)["campaigns"][1]["loaSha256"] == hashlib.sha256(DOCUMENT).hexdigest()


def test_times_and_durations() -> None:
    assert show(None) == "-"
    assert show(datetime(2026, 11, 27, 12, 0, 1, 999_000, tzinfo=UTC)) == "2026-11-27T12:00:01Z"
    assert parse_rfc3339("2026-11-27T13:00:00+01:00") == datetime(2026, 11, 27, 12, tzinfo=UTC)
    assert parse_rfc3339("2026-11-27t12:00:00.5z") == datetime(2026, 11, 27, 12, 0, 0, 500_000, tzinfo=UTC)
    for bad in ("2026-11-27", "2026-11-27T12:00:00", "now"):
        try:
            parse_rfc3339(bad)
        except ValueError:
            continue
        raise AssertionError(bad)
    assert [duration(timedelta(seconds=s)) for s in (-5, 45, 252, 7980, 273_600)] == [
        "0s", "45s", "4m 12s", "2h 13m", "3d 4h"]
    assert relative(NOW + timedelta(seconds=90), NOW) == "in 1m 30s"
    assert relative(NOW - timedelta(minutes=3), NOW) == "3m 0s ago"


def test_tables_align_without_trailing_blanks() -> None:
    assert table(["A", "LONG"], [["xyz", "1"], ["", "22"]]) == ["A     LONG", "xyz   1", "      22"]
