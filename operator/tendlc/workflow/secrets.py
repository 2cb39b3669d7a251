"""What a Secret named by a tenant may be used for, and what the LOA Secret says (pure; no I/O).

A tenant names Secrets in a CampaignMigration (`loaSecretRef`, `credentialsSecretRef`); the operator
reads them with its own, wider rights. So a Secret serves the operator only if it opts in with the
label `tendlc.io/usage` set to what it is for (`loa`, `infobip-credentials`, `tcr-credentials`; one
value per Secret: a label value cannot hold a list, and one purpose per Secret keeps each one's
blast radius small). `read_loa` turns the Secret the executor read into `LoaFacts`; no message
built here ever contains a Secret's value or a part of one. `secret_opt_in` is the upgrade rule: a
migration that got past its prerequisites before the label was required keeps going with the
Secrets it used, until its spec changes.

No Kubernetes client here: the executor passes what it read (anything shaped like
`tendlc.kube.SecretData`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date
from typing import Protocol

from tendlc.api.constants import LABEL_USAGE, USAGE_LOA, ConditionType
from tendlc.api.spec import LoaSecretRef
from tendlc.api.status import MigrationStatus, SecretOptIn
from tendlc.workflow.conditions import get_condition
from tendlc.workflow.facts import LoaFacts

ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")  # date.fromisoformat alone also takes 20261126, 2026-W48-4


class SecretView(Protocol):
    """The parts of a read Secret this room looks at."""

    @property
    def values(self) -> Mapping[str, bytes]: ...

    @property
    def labels(self) -> Mapping[str, str]: ...


def label_command(namespace: str, name: str, usage: str, kind: str = "secret") -> str:
    """The exact command that opts a Secret (or a ConfigMap: `kind`) in for `usage`."""
    return f"kubectl label {kind} {name} -n {namespace} {LABEL_USAGE}={usage}"


def opted_in(secret: SecretView, usage: str) -> bool:
    return secret.labels.get(LABEL_USAGE) == usage


def read_loa(ref: LoaSecretRef, secret: SecretView | None, namespace: str) -> LoaFacts:
    """The LOA facts from the Secret `ref` names (None: it does not exist), read in `namespace`.

    The content is evaluated even without the opt-in label, so a migration that passed the gate
    before the label was required can keep going (`decide` checks `loa_gate_passed`); the label's
    absence travels as `unlabeled_fix`, the command that fixes it.
    """
    if secret is None:
        return LoaFacts.secret_missing(ref.name)
    fix = None if opted_in(secret, USAGE_LOA) else label_command(namespace, ref.name, USAGE_LOA)
    facts = _content(ref, secret.values)
    return LoaFacts(signed_date=facts.signed_date, problem=facts.problem, detail=facts.detail, unlabeled_fix=fix)


def _content(ref: LoaSecretRef, values: Mapping[str, bytes]) -> LoaFacts:
    if not values.get(ref.document_key):
        return LoaFacts.document_missing(ref.name, ref.document_key)
    raw = values.get(ref.signed_date_key)
    if raw is None or not raw.strip():
        return LoaFacts.signed_date_missing(ref.name, ref.signed_date_key)
    text = raw.decode("utf-8", errors="replace").strip()
    if not ISO_DATE.fullmatch(text):
        return LoaFacts.signed_date_invalid(ref.name, ref.signed_date_key)
    try:
        return LoaFacts.ok(date.fromisoformat(text))
    except ValueError:  # 2026-02-30
        return LoaFacts.signed_date_invalid(ref.name, ref.signed_date_key)


def loa_gate_passed(status: MigrationStatus) -> bool:
    """Whether the migration got past the prerequisite gate (LOA valid, or a partner step done)."""
    loa_valid = get_condition(status.conditions, ConditionType.LOA_VALID)
    return (
        (loa_valid is not None and loa_valid.status == "True")
        or status.numbers_imported_at is not None
        or status.cnp_elected_at is not None
        or status.infobip_campaign_id is not None
    )


def secret_opt_in(status: MigrationStatus, generation: int) -> SecretOptIn:
    """The opt-in rule of this migration for spec `generation` (the upgrade rule, decided once).

    A status without the record was written before the label was required (or the resource is
    new): it is exempt exactly when it had passed the gate — a new resource has not — for this
    generation only. A recorded exemption ends with the first spec change, and a `Required` record
    never becomes an exemption: a migration that passes the gate *after* the upgrade did so with
    labeled Secrets, and pointing it at other Secrets later needs their labels too.
    """
    recorded = status.secret_opt_in
    if recorded is None:
        return SecretOptIn(exempt=loa_gate_passed(status), generation=generation)
    if recorded.exempt and recorded.generation != generation:
        return SecretOptIn(exempt=False, generation=generation)
    return recorded


def unlabeled_secrets_allowed(status: MigrationStatus, generation: int) -> bool:
    """Whether this pass may use this migration's Secrets without the `tendlc.io/usage` label."""
    return secret_opt_in(status, generation).exempt
