"""Generates helm/tendlc/README.md from the comments in helm/tendlc/values.yaml.

The comment block right above a key documents it. A map whose keys are documented one by one gets
a row per key; any other value (a scalar, a list, a map documented as a whole such as
`podSecurityContext`) is one row with its default. `python hack/chart_readme.py` rewrites the
README; `--check` exits 1 when it is stale (tests/unit/test_chart_readme.py runs the same check).
Standard library and PyYAML only; it never renders the chart.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
CHART = ROOT / "helm" / "tendlc"
KEY = re.compile(r"^(?P<indent> *)(?P<key>[A-Za-z][\w.-]*):(?P<rest>.*)$")
INTRO = """# tendlc Helm chart

The tendlc operator: it migrates US 10DLC campaigns to Infobip, one `CampaignMigration` resource per
campaign. Installing, upgrading and uninstalling: [docs/install.md](../../docs/install.md); alerts,
dashboard and runbook: [docs/operations.md](../../docs/operations.md).

```sh
helm install tendlc ./helm/tendlc -n tendlc-system -f values-production.yaml
helm test tendlc -n tendlc-system      # asks the running operator for its metrics through its Service
```

## Values

Generated from the comments in `values.yaml` by `make chart-readme` (do not edit by hand; a test
fails when this table and `values.yaml` differ). `values.schema.json` rejects unknown keys.

| value | default | description |
|---|---|---|
"""


@dataclass(frozen=True)
class Row:
    path: str
    default: Any
    description: str


def documented_keys(text: str) -> dict[str, str]:
    """{dotted path: comment above it} for every key of values.yaml outside lists."""
    comments: list[str] = []
    stack: list[tuple[int, str]] = []
    found: dict[str, str] = {}
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("#"):
            comments.append(stripped.lstrip("#").strip())
            continue
        match = KEY.match(line)
        if not stripped or match is None:
            comments = []
            continue
        indent = len(match["indent"])
        while stack and stack[-1][0] >= indent:
            stack.pop()
        stack.append((indent, match["key"]))
        found[".".join(key for _, key in stack)] = " ".join(comments)
        comments = []
    return found


def rows(values: dict[str, Any], documented: dict[str, str], prefix: str = "") -> list[Row]:
    result: list[Row] = []
    for key, value in values.items():
        path = f"{prefix}{key}"
        children = [f"{path}.{child}" for child in value] if isinstance(value, dict) else []
        if children and any(documented.get(child) for child in children):
            if documented.get(path):
                result.append(Row(path, None, documented[path]))
            result.extend(rows(value, documented, f"{path}."))
        else:
            result.append(Row(path, value, documented.get(path, "")))
    return result


def undocumented(values: dict[str, Any], documented: dict[str, str]) -> list[str]:
    """Rows without a description (their own comment, or a documented map above them)."""
    return [row.path for row in rows(values, documented) if not row.description]


def render(values_text: str) -> str:
    values = yaml.safe_load(values_text)
    documented = documented_keys(values_text)
    lines = [INTRO.rstrip("\n")]
    for row in rows(values, documented):
        default = "" if row.default is None else f"`{json.dumps(row.default, separators=(', ', ': '))}`"
        cells = [f"`{row.path}`", default, row.description]
        lines.append("| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if README.md is stale, write nothing")
    args = parser.parse_args(argv)
    values_text = (CHART / "values.yaml").read_text()
    missing = undocumented(yaml.safe_load(values_text), documented_keys(values_text))
    if missing:
        print(f"values.yaml: no comment above {', '.join(missing)}", file=sys.stderr)
        return 1
    expected = render(values_text)
    readme = CHART / "README.md"
    if args.check:
        if not readme.exists() or readme.read_text() != expected:
            print("helm/tendlc/README.md is stale: run `make chart-readme`", file=sys.stderr)
            return 1
        return 0
    readme.write_text(expected)
    return 0


if __name__ == "__main__":
    sys.exit(main())
