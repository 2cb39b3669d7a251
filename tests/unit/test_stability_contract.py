"""docs/stability.md lists the public surface exactly: no name appears or disappears silently.

Each section of the page is compared with the code it describes. A name in the code but not on the
page fails (document it); a name on the page but not in the code fails unless the page marks it
`deprecated` (a rename goes through a deprecation, never silently).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from tendlc.api import constants
from tendlc.api.constants import ConditionType, Reason, WaveReason
from tendlc.config import Settings
from tendlc.metrics import METRIC_NAMES, Metrics

REPO_ROOT = Path(__file__).resolve().parents[2]
PAGE = (REPO_ROOT / "docs" / "stability.md").read_text()


def section(title: str) -> str:
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", PAGE, flags=re.S | re.M)
    assert match, f"docs/stability.md has no section {title!r}"
    return match.group(1)


def names(title: str, pattern: str = r"`([^`]+)`") -> set[str]:
    return set(re.findall(pattern, section(title)))


def deprecated(title: str) -> set[str]:
    return set(re.findall(r"`([^`]+)`[^`\n]*deprecated", section(title)))


def vocabulary(holder: type) -> set[str]:
    return {value for key, value in vars(holder).items() if key.isupper() and isinstance(value, str)}


def check(title: str, in_code: set[str], on_page: set[str]) -> None:
    assert in_code - on_page == set(), f"undocumented in docs/stability.md ({title})"
    assert on_page - in_code - deprecated(title) == set(), f"gone from the code without a deprecation ({title})"


def test_condition_types() -> None:
    check("Condition types", vocabulary(ConditionType), names("Condition types"))


def test_reasons() -> None:
    check("Reasons (conditions and Events)", vocabulary(Reason) | vocabulary(WaveReason),
          names("Reasons (conditions and Events)")
          - {"WARNING_REASONS", "WAVE_WARNING_REASONS", "operator/tendlc/api/constants.py"})


def test_annotations() -> None:
    in_code = set(constants.CONTROL_ANNOTATIONS) | set(constants.WAVE_CONTROL_ANNOTATIONS)
    check("Annotations", in_code, names("Annotations"))


def test_metric_names_and_labels() -> None:
    page = {
        name: tuple(re.findall(r"`([^`]+)`", labels))
        for name, labels in re.findall(r"^- `(tendlc_[a-z_]+)`: (.*)$", section("Metrics (name: labels)"), flags=re.M)
    }
    check("Metrics (name: labels)", set(METRIC_NAMES), set(page))
    registry = Metrics().registry
    code: dict[str, tuple[str, ...]] = {}
    for collector, exported in registry._collector_to_names.items():  # prometheus_client has no public view
        if not exported:  # scrape-time collectors without a source yet (fleet gauges, leader)
            continue
        base = min(exported, key=len)
        name = next((n for n in exported if n in METRIC_NAMES), base)
        labels = getattr(collector, "_labelnames", None)
        if labels is None and name != "tendlc_campaign_migrations":
            continue  # other custom collectors have their own tests (tests/unit/test_metrics.py)
        code[name] = tuple(labels) if labels is not None else ("phase",)
    for name, labels in page.items():
        if name in code:
            assert labels == code[name], f"{name}: labels on the page {labels} != in the code {code[name]}"


def test_settings() -> None:
    in_code = {f"TENDLC_{field.upper()}" for field in Settings.model_fields}
    check("Settings (environment of the operator)", in_code,
          names("Settings (environment of the operator)", r"`(TENDLC_[A-Z_]+?)(?:__NAME)?`"))


@pytest.mark.parametrize("title", ["Chart values (top level of `helm/tendlc/values.yaml`)"])
def test_chart_values(title: str) -> None:
    values = yaml.safe_load((REPO_ROOT / "helm" / "tendlc" / "values.yaml").read_text())
    on_page = names(title, r"`([A-Za-z]+)`")
    check(title, set(values), on_page)
