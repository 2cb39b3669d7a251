"""The MigrationWave CRD and its pydantic models describe the same resource; the wave corpus is well-formed.

Field by field (spec and status, nested objects included, so the API server prunes nothing the
operator writes), defaults, patterns, printer columns, and the corpus of invalid waves each refused
by the OpenAPI schema or, for `# rule: cel` cases, by the model that mirrors the CEL rule. The API
server itself checks the same corpus in tests/e2e/test_wave_crd_schema.py.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from pydantic import BaseModel, ValidationError

from tendlc.api import GROUP, VERSION, WAVE_KIND, WAVE_PLURAL, WAVE_SHORT_NAME
from tendlc.api.constants import CATEGORY, ConditionType
from tendlc.api.spec import CutOver
from tendlc.api.status import Condition
from tendlc.api.wave import (
    DEFAULT_MAX_FAILED,
    DEFAULT_MAX_IN_FLIGHT,
    DEFAULT_STUCK_AFTER,
    DURATION_PATTERN,
    MAX_WINDOWS,
    SCHEDULE_PATTERN,
    TIME_ZONE_PATTERN,
    Approval,
    LabelSelector,
    LoaWarning,
    Order,
    SelectorRequirement,
    WaveCounts,
    WaveFailure,
    WavePhase,
    WaveSpec,
    WaveStatus,
    Window,
    WindowInterval,
    format_duration,
    parse_duration,
)

ROOT = Path(__file__).resolve().parents[3]
CRD_PATH = ROOT / "crds" / "migrationwaves.tendlc.io.yaml"
CAMPAIGN_CRD = ROOT / "crds" / "campaignmigrations.tendlc.io.yaml"
DATA = ROOT / "tests" / "data" / "waves"
INVALID = sorted((DATA / "invalid").glob("*.yaml"))
VALID = sorted((DATA / "valid").glob("*.yaml"))


@pytest.fixture(scope="module")
def crd() -> dict[str, Any]:
    documents = list(yaml.safe_load_all(CRD_PATH.read_text()))
    assert len(documents) == 1, "the CRD file must be a single YAML document"
    document: dict[str, Any] = documents[0]
    return document


@pytest.fixture(scope="module")
def version(crd: dict[str, Any]) -> dict[str, Any]:
    (only,) = crd["spec"]["versions"]
    result: dict[str, Any] = only
    return result


@pytest.fixture(scope="module")
def schema(version: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = version["schema"]["openAPIV3Schema"]
    return result


def _validator(schema: dict[str, Any]) -> jsonschema.Draft7Validator:
    return jsonschema.Draft7Validator(schema, format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER)


def _aliases(model: type[BaseModel]) -> set[str]:
    return {(field.alias or name) for name, field in model.model_fields.items()}


def test_names_group_scope_and_subresources(crd: dict[str, Any], version: dict[str, Any]) -> None:
    assert crd["metadata"]["name"] == f"{WAVE_PLURAL}.{GROUP}"
    names = crd["spec"]["names"]
    assert (crd["spec"]["group"], names["kind"], names["plural"]) == (GROUP, WAVE_KIND, WAVE_PLURAL)
    assert names["singular"] == "migrationwave"
    assert names["listKind"] == "MigrationWaveList"
    assert names["shortNames"] == [WAVE_SHORT_NAME]
    assert names["categories"] == [CATEGORY]
    assert crd["spec"]["scope"] == "Namespaced"
    assert (version["name"], version["served"], version["storage"]) == (VERSION, True, True)
    assert version["subresources"] == {"status": {}}


def test_printer_columns(version: dict[str, Any], schema: dict[str, Any]) -> None:
    columns = {c["name"].upper(): c for c in version["additionalPrinterColumns"]}
    assert [name for name, c in columns.items() if not c.get("priority")] == [
        "PHASE", "MEMBERS", "IN-FLIGHT", "REGISTERED", "FAILED", "NEXT-WINDOW", "AGE"]
    assert columns["WINDOW-OPEN"]["priority"] == 1
    status = schema["properties"]["status"]["properties"]
    for name, column in columns.items():
        if name == "AGE":
            assert column["jsonPath"] == ".metadata.creationTimestamp"
            continue
        node = status
        path = column["jsonPath"].removeprefix(".status.").split(".")
        for step in path[:-1]:
            node = node[step]["properties"]
        assert path[-1] in node, f"{name} points at {column['jsonPath']}, which the status schema lacks"
        kind = node[path[-1]]["type"]
        assert column["type"] == kind, name
    # A date column shows a future time as "<invalid>": the next window is shown as its RFC 3339 text.
    assert columns["NEXT-WINDOW"]["type"] == "string"


def test_spec_fields_and_descriptions_agree_with_the_model(schema: dict[str, Any]) -> None:
    spec = schema["properties"]["spec"]
    assert set(spec["properties"]) == _aliases(WaveSpec)
    assert set(spec["required"]) == {(f.alias or n) for n, f in WaveSpec.model_fields.items() if f.is_required()}
    properties = spec["properties"]
    assert set(properties["selector"]["properties"]) == _aliases(LabelSelector)
    assert set(properties["selector"]["properties"]["matchExpressions"]["items"]["properties"]) == \
        _aliases(SelectorRequirement)
    assert set(properties["approval"]["properties"]) == _aliases(Approval)
    assert set(properties["windows"]["items"]["properties"]) == _aliases(Window)
    # One shape for a cut-over, whoever names it: the wave's default is the member's own field.
    campaign = yaml.safe_load(CAMPAIGN_CRD.read_text())["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    own = dict(campaign["properties"]["spec"]["properties"]["cutover"], description=None)
    assert dict(properties["cutover"], description=None) == own
    assert set(properties["cutover"]["properties"]) == _aliases(CutOver)

    def walk(node: dict[str, Any], path: str) -> None:
        for name, child in node.get("properties", {}).items():
            assert child.get("description"), f"{path}.{name} has no description (kubectl explain)"
            walk(child, f"{path}.{name}")
            if "items" in child:
                walk(child["items"], f"{path}.{name}[]")

    walk(spec, "spec")


def test_defaults_enums_bounds_and_patterns_agree_with_the_model(schema: dict[str, Any]) -> None:
    properties = schema["properties"]["spec"]["properties"]
    fields = WaveSpec.model_fields
    assert properties["order"]["enum"] == [o.value for o in Order]
    assert properties["order"]["default"] == fields["order"].default
    assert properties["canary"]["default"] == fields["canary"].default == 0
    assert properties["maxInFlight"]["default"] == fields["max_in_flight"].default == DEFAULT_MAX_IN_FLIGHT
    assert properties["maxFailed"]["default"] == fields["max_failed"].default == DEFAULT_MAX_FAILED
    assert properties["stuckAfter"]["default"] == DEFAULT_STUCK_AFTER
    assert fields["stuck_after"].default == parse_duration(DEFAULT_STUCK_AFTER)
    assert properties["suspend"]["default"] is fields["suspend"].default is False
    assert properties["approval"]["default"] == {}
    assert properties["approval"]["properties"]["afterCanary"]["default"] is False
    for name, field in (("canary", "canary"), ("maxInFlight", "max_in_flight"), ("maxFailed", "max_failed")):
        bounds = {type(m).__name__: m for m in fields[field].metadata}
        assert properties[name]["minimum"] == bounds["Ge"].ge
        assert properties[name]["maximum"] == bounds["Le"].le
    window = properties["windows"]["items"]["properties"]
    assert properties["windows"]["maxItems"] == MAX_WINDOWS
    assert properties["stuckAfter"]["pattern"] == window["duration"]["pattern"] == DURATION_PATTERN
    assert window["schedule"]["pattern"] == SCHEDULE_PATTERN
    assert window["timeZone"]["pattern"] == TIME_ZONE_PATTERN
    assert DURATION_PATTERN in properties["stuckAfter"]["x-kubernetes-validations"][0]["rule"]
    expression = properties["selector"]["properties"]["matchExpressions"]["items"]["properties"]
    assert expression["operator"]["enum"] == ["In", "NotIn", "Exists", "DoesNotExist"]


def test_status_fields_agree_with_the_model_so_nothing_is_pruned(schema: dict[str, Any]) -> None:
    status = schema["properties"]["status"]["properties"]
    assert set(status) == _aliases(WaveStatus)
    assert set(status["counts"]["properties"]) == _aliases(WaveCounts)
    assert set(status["failures"]["items"]["properties"]) == _aliases(WaveFailure)
    assert set(status["loaWarnings"]["items"]["properties"]) == _aliases(LoaWarning)
    assert set(status["nextWindow"]["properties"]) == _aliases(WindowInterval)
    assert set(status["conditions"]["items"]["properties"]) == _aliases(Condition)
    assert status["conditions"]["x-kubernetes-list-type"] == "map"
    assert status["conditions"]["x-kubernetes-list-map-keys"] == ["type"]
    for phase in WavePhase:
        assert phase.value in status["phase"]["description"]
    for type_ in (ConditionType.PROGRESSING, ConditionType.HALTED, ConditionType.COMPLETE):
        assert type_ in status["conditions"]["description"]


# --- the corpus ---------------------------------------------------------------------------------------


def _header(path: Path, key: str) -> str | None:
    for line in path.read_text().splitlines():
        if line.startswith(f"# {key}:"):
            return line.split(":", 1)[1].strip()
    return None


def test_the_invalid_corpus_covers_every_rule(schema: dict[str, Any]) -> None:
    assert len(INVALID) >= 30
    cel_messages = set()

    def collect(node: dict[str, Any]) -> None:
        cel_messages.update(rule["message"] for rule in node.get("x-kubernetes-validations", []))
        for child in node.get("properties", {}).values():
            collect(child)
        if "items" in node:
            collect(node["items"])

    collect(schema)
    expected = {_header(path, "expect") for path in INVALID}
    for message in cel_messages:
        assert any(e and e in message for e in expected), f"no invalid manifest exercises the CEL rule {message!r}"


@pytest.mark.parametrize("path", INVALID, ids=lambda p: p.stem)
def test_invalid_wave_is_refused_by_the_schema_or_its_cel_rule_and_by_the_model(
    path: Path, schema: dict[str, Any],
) -> None:
    assert path.read_text().startswith("# expect: "), "the first line names the expected rejection"
    document = yaml.safe_load(path.read_text())
    assert (document["apiVersion"], document["kind"]) == (f"{GROUP}/{VERSION}", WAVE_KIND)
    assert document["metadata"]["name"] == path.stem
    errors = list(_validator(schema).iter_errors(document))
    if _header(path, "rule") == "cel":
        assert not errors, "a CEL-only case must pass the OpenAPI schema"
    else:
        assert errors, "the OpenAPI schema accepts this manifest"
    with pytest.raises(ValidationError):
        WaveSpec.model_validate(document["spec"])


@pytest.mark.parametrize("path", VALID, ids=lambda p: p.stem)
def test_valid_wave_passes_schema_and_model(path: Path, schema: dict[str, Any]) -> None:
    document = yaml.safe_load(path.read_text())
    _validator(schema).validate(document)
    spec = WaveSpec.model_validate(document["spec"])
    assert WaveSpec.model_validate(spec.to_dict()) == spec


def test_the_full_example_reads_as_written() -> None:
    spec = WaveSpec.model_validate(yaml.safe_load((DATA / "valid" / "full.yaml").read_text())["spec"])
    assert (spec.order, spec.canary, spec.max_in_flight, spec.max_failed) == (Order.CREATION_TIMESTAMP, 2, 5, 3)
    assert spec.approval.after_canary
    assert spec.stuck_after == timedelta(hours=2)
    assert spec.windows[0].duration == timedelta(hours=4)
    assert spec.windows[1].start == datetime(2026, 12, 5, 6, tzinfo=UTC)
    assert spec.cutover is not None
    assert spec.cutover.config_map is not None
    assert (spec.cutover.config_map.name, spec.cutover.config_map.key_for("COJD655")) == ("routing", "COJD655")
    assert spec.cutover.config_map.value == "infobip"
    assert spec.to_dict()["stuckAfter"] == "2h"


# --- what only the model can check, and the model's helpers -------------------------------------------


@pytest.mark.parametrize(
    ("window", "words"),
    [
        ({"schedule": "61 * * * *", "duration": "1h"}, "61 is outside 0-59"),
        ({"schedule": "0 2 31 2 *", "duration": "1h"}, "matches no date"),
        ({"schedule": "0 2 * * MON-FUNDAY", "duration": "1h"}, "'FUNDAY' is not a number"),
        ({"schedule": "0 2 * * *", "duration": "1h", "timeZone": "Mars/Olympus_Mons"}, "unknown time zone"),
    ],
)
def test_the_model_refuses_what_the_schema_cannot_see(window: dict[str, str], words: str) -> None:
    with pytest.raises(ValidationError, match=words):
        Window.model_validate(window)


@pytest.mark.parametrize(("text", "seconds"), [("4h", 14_400), ("90m", 5_400), ("1h30m", 5_400), ("45s", 45),
                                               ("2h0m5s", 7_205)])
def test_durations_parse_and_format_back(text: str, seconds: int) -> None:
    duration = parse_duration(text)
    assert duration == timedelta(seconds=seconds)
    assert parse_duration(format_duration(duration)) == duration


@pytest.mark.parametrize("text", ["", "0h", "2d", "1.5h", "h", "4h 30m", "-1h"])
def test_bad_durations_are_refused_with_the_expected_form(text: str) -> None:
    with pytest.raises(ValueError, match=r"not a duration|longer than zero"):
        parse_duration(text)


def test_selector_matches_like_the_api_server_and_renders_a_query() -> None:
    selector = LabelSelector.model_validate({
        "matchLabels": {"tendlc.io/wave": "spring"},
        "matchExpressions": [
            {"key": "team", "operator": "In", "values": ["growth", "billing"]},
            {"key": "tier", "operator": "NotIn", "values": ["gold"]},
            {"key": "ready", "operator": "Exists"},
            {"key": "skip", "operator": "DoesNotExist"},
        ],
    })
    base = {"tendlc.io/wave": "spring", "team": "growth", "ready": ""}
    assert selector.matches(base)
    assert selector.matches(base | {"tier": "silver"})
    assert not selector.matches(base | {"tier": "gold"})
    assert not selector.matches(base | {"skip": "yes"})
    assert not selector.matches(base | {"team": "ops"})
    assert not selector.matches({k: v for k, v in base.items() if k != "ready"})
    assert not selector.matches(base | {"tendlc.io/wave": "autumn"})
    assert selector.to_query() == "tendlc.io/wave=spring,team in (billing,growth),tier notin (gold),ready,!skip"


def test_status_round_trips_and_patches_only_what_changed() -> None:
    now = datetime(2026, 12, 1, 8, tzinfo=UTC)
    status = WaveStatus(
        observed_generation=2, phase=WavePhase.CANARY, canary=["a", "b"],
        counts=WaveCounts(members=3, held=1, released=2, in_flight=2, by_phase={"Pending": 3}),
        next_window=WindowInterval(start=now, end=now + timedelta(hours=4)), window_open=True,
        failures=[WaveFailure(member="a", reason="ImportNotEnabled", since=now, stuck=True)],
    )
    stored = status.to_dict()
    assert stored["counts"]["inFlight"] == 2
    assert stored["nextWindow"] == {"start": "2026-12-01T08:00:00Z", "end": "2026-12-01T12:00:00Z"}
    assert WaveStatus.from_dict(stored) == status
    assert "loaWarnings" not in stored  # empty lists are not written
    later = status.model_copy(deep=True)
    later.phase = WavePhase.PROGRESSING
    later.failures = []
    assert later.to_patch(status) == {"phase": "Progressing", "failures": None}
    full = later.to_patch()
    assert full["approvedAt"] is None
    assert full["phase"] == "Progressing"
    assert WaveStatus.from_body({}) == WaveStatus()
