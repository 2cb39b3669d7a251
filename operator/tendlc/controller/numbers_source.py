"""`spec.numbersFrom`: the number list of a large campaign, read from a ConfigMap every pass (D62).

A resource whose numbers live in a ConfigMap stays small, so each status update sent to the
resource's watchers stays small too (docs/performance.md). The ConfigMap is read by name, in the
resource's own namespace, never watched (watching ConfigMaps would stream every ConfigMap of every
watched namespace to the operator), and only if it opts in with the label
`tendlc.io/usage=numbers`, as a tenant's Secret does (docs/security.md). Its key holds the numbers
separated by newlines, spaces or commas, held to the same rules as `spec.numbers`
(`tendlc.api.spec.numbers_problem`). Every problem becomes a `NumbersSourceProblem` fact with the
command that fixes it; no I/O beyond the one GET, and a value is quoted only when it is a
malformed number (at most 20 characters of it).
"""

from __future__ import annotations

import re

from tendlc.api.constants import LABEL_USAGE, USAGE_NUMBERS, Reason
from tendlc.api.spec import NUMBER_PATTERN, CampaignMigrationSpec, numbers_problem
from tendlc.kube import ConfigMapData
from tendlc.workflow import NumbersSourceProblem

SEPARATORS = re.compile(r"[\s,]+")
NUMBER = re.compile(NUMBER_PATTERN)
_SHOWN = 3


def numbers_from_config_map(
    spec: CampaignMigrationSpec, namespace: str, found: ConfigMapData | None
) -> tuple[CampaignMigrationSpec, NumbersSourceProblem | None]:
    """The spec with its numbers filled in from the ConfigMap, or the problem that prevents it."""
    if spec.numbers_from is None:
        return spec, None
    ref = spec.numbers_from.config_map_key_ref
    label = f"kubectl label configmap {ref.name} -n {namespace} {LABEL_USAGE}={USAGE_NUMBERS}"
    if found is None:
        return spec, NumbersSourceProblem(
            Reason.NUMBERS_CONFIG_MAP_MISSING,
            f"ConfigMap {ref.name!r} (spec.numbersFrom) does not exist in namespace {namespace!r}. Create it with the "
            f"numbers under key {ref.key!r} (kubectl create configmap {ref.name} -n {namespace} "
            f"--from-file={ref.key}=numbers.txt) and label it ({label}); the migration continues by itself.",
        )
    if found.labels.get(LABEL_USAGE) != USAGE_NUMBERS:
        return spec, NumbersSourceProblem(
            Reason.NUMBERS_CONFIG_MAP_NOT_LABELED,
            f"ConfigMap {ref.name!r} (spec.numbersFrom) does not opt in to be read by tendlc: label it with "
            f"{label}. Its content is not read until then.",
        )
    text = found.data.get(ref.key)
    if text is None:
        return spec, NumbersSourceProblem(
            Reason.NUMBERS_CONFIG_MAP_MISSING,
            f"ConfigMap {ref.name!r} has no key {ref.key!r} (spec.numbersFrom.configMapKeyRef.key); put the numbers "
            "there, separated by newlines, spaces or commas.",
        )
    numbers = tuple(token for token in SEPARATORS.split(text) if token)
    bad = [(index, token) for index, token in enumerate(numbers, start=1) if not NUMBER.fullmatch(token)]
    if bad:
        shown = ", ".join(f"#{index} {token[:20]!r}" for index, token in bad[:_SHOWN])
        more = f" and {len(bad) - _SHOWN} more" if len(bad) > _SHOWN else ""
        return spec, NumbersSourceProblem(
            Reason.NUMBERS_INVALID,
            f"ConfigMap {ref.name!r} key {ref.key!r}: {len(bad)} entries are not a number of the form 1 followed by "
            f"10 digits ({shown}{more}). Fix them; the migration continues by itself.",
        )
    problem = numbers_problem(numbers, pooled=spec.pooled)
    if problem is not None:
        return spec, NumbersSourceProblem(
            Reason.NUMBERS_INVALID, f"ConfigMap {ref.name!r} key {ref.key!r}: {problem}. Fix the list or the spec."
        )
    return spec.with_numbers(numbers), None
