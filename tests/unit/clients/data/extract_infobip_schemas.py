"""Regenerate infobip-schemas.json: the schemas of Infobip's published OpenAPI 3.210.0 that the
client tests validate their fixtures against (each with everything it references, unchanged).

    python tests/unit/clients/data/extract_infobip_schemas.py /path/to/specs/infobip
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

CAMPAIGNS = "2700ea5ecfd0574f21019319e90eb63416ede8263eab67e466c718c51cd1a77a"
SUBSCRIPTIONS = "6e71a232d29cf86cbe8cd24bd719c2050de4613347854f985c920dd3d0d3e33f"
WANTED = {
    "numbers-openapi.json": [
        f"{CAMPAIGNS}.PageResponseCampaign",
        f"{CAMPAIGNS}.ExternalTenDlcCampaign",
        f"{CAMPAIGNS}.NumberPreviews",
        "ApiException",
        "ApiError",
    ],
    "subscriptions-openapi.json": [
        f"{SUBSCRIPTIONS}.SubscriptionPage",
        f"{SUBSCRIPTIONS}.SubscriptionResponse",
        f"{SUBSCRIPTIONS}.IdOnlySubscriptionResponse",
        f"{SUBSCRIPTIONS}.RegistrationSubscriptionRequest",
        "d20db567f3e57223af6c81b075b50f0bc0d564bb5690e0ef2603138160aca7f3.ApiException",
    ],
}
COMMENT = (
    "Extract of Infobip's published OpenAPI 3.210.0 (numbers-openapi.json and subscriptions-openapi.json, "
    "components.schemas only, unchanged) used to check that the clients' test fixtures are realistic. "
    "Regenerate with tests/unit/clients/data/extract_infobip_schemas.py."
)


def main(spec_dir: Path) -> None:
    schemas: dict[str, Any] = {}
    for file_name, names in WANTED.items():
        source = json.loads((spec_dir / file_name).read_text())["components"]["schemas"]
        pending = list(names)
        while pending:
            name = pending.pop()
            if name in schemas:
                if schemas[name] != source[name]:
                    raise SystemExit(f"{name} differs between the two specs")
                continue
            schemas[name] = source[name]
            pending += re.findall(r"#/components/schemas/([^\"]+)", json.dumps(source[name]))
    document = {"$comment": COMMENT, "components": {"schemas": schemas}}
    target = Path(__file__).with_name("infobip-schemas.json")
    target.write_text(json.dumps(document, indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
