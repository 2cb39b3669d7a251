"""Fact gathering: what a pass observes outside the status before `decide` runs.

`FactGatherer.gather(spec, body)` reads the LOA Secret, builds (or fetches from the cache) the
partner clients for the resource's account, parses the control annotations and stamps the
clock, and returns them as the workflow's plain `Facts` plus the clients the performer will use.
It reads, never writes, and turns every problem it finds into a fact the workflow decides on (a
missing Secret is a `LoaFacts` problem, missing credentials a `credentials_problem`), so the
pass has one path whatever the cluster looks like. Secret values stay in here and in the
clients; no message built here quotes one.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from tendlc.api.constants import ANNOTATION_DRY_RUN, ANNOTATION_OSR_UPDATED, ANNOTATION_RETRY, ANNOTATION_SUSPEND
from tendlc.api.spec import CampaignMigrationSpec
from tendlc.controller.resource import Clock
from tendlc.kube import KubeApi
from tendlc.partners import CredentialsProblem, PartnerClients, Partners
from tendlc.workflow import Annotations, Facts, LoaFacts, OsrConfirmation

ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
TRUE_WORDS = frozenset({"true", "yes", "1", "on"})


def is_true(value: str | None) -> bool:
    return (value or "").strip().lower() in TRUE_WORDS


def parse_annotations(annotations: Mapping[str, str]) -> Annotations:
    osr: OsrConfirmation | None = None
    if ANNOTATION_OSR_UPDATED in annotations:
        value = annotations[ANNOTATION_OSR_UPDATED]
        at: datetime | None
        try:
            at = datetime.fromisoformat(value.replace("Z", "+00:00"))
            at = at if at.tzinfo else at.replace(tzinfo=UTC)
        except ValueError:
            at = None
        osr = OsrConfirmation(value=value, at=at)
    return Annotations(
        osr_updated=osr,
        retry=annotations.get(ANNOTATION_RETRY) or None,
        suspend=is_true(annotations.get(ANNOTATION_SUSPEND)),
    )


@dataclass(frozen=True)
class Observed:
    """One pass's facts, and the clients of the resource's partner account (None: no usable credentials)."""

    facts: Facts
    clients: PartnerClients | None


class FactGatherer:
    """Reads the Secrets and annotations of a resource into `Facts` (see the module docstring)."""

    def __init__(self, kube: KubeApi, partners: Partners, *, dry_run: bool, clock: Clock) -> None:
        self._kube = kube
        self._partners = partners
        self._dry_run = dry_run
        self._clock = clock

    async def gather(self, spec: CampaignMigrationSpec, body: Mapping[str, Any]) -> Observed:
        metadata = body["metadata"]
        namespace = metadata["namespace"]
        annotations = metadata.get("annotations") or {}
        loa = await self.loa_facts(spec, namespace)
        clients: PartnerClients | None = None
        credentials_problem: str | None = None
        try:
            clients = await self._partners.for_spec(spec, namespace)
        except CredentialsProblem as problem:
            credentials_problem = str(problem)
        facts = Facts(
            now=self._clock(),
            loa=loa,
            credentials_problem=credentials_problem,
            annotations=parse_annotations(annotations),
            dry_run=self._dry_run or is_true(annotations.get(ANNOTATION_DRY_RUN)),
            generation=int(metadata.get("generation") or 1),
        )
        return Observed(facts, clients)

    async def loa_facts(self, spec: CampaignMigrationSpec, namespace: str) -> LoaFacts:
        ref = spec.loa_secret_ref
        secret = await self._kube.read_secret(namespace, ref.name)
        if secret is None:
            return LoaFacts.secret_missing(ref.name)
        if not secret.values.get(ref.document_key):
            return LoaFacts.document_missing(ref.name, ref.document_key)
        raw_date = secret.values.get(ref.signed_date_key)
        if raw_date is None or not raw_date.strip():
            return LoaFacts.signed_date_missing(ref.name, ref.signed_date_key)
        text = raw_date.decode("utf-8", errors="replace").strip()
        if not ISO_DATE.fullmatch(text):  # date.fromisoformat alone also takes 20261126 and 2026-W48-4
            return LoaFacts.signed_date_invalid(ref.name, ref.signed_date_key, text)
        try:
            return LoaFacts.ok(date.fromisoformat(text))
        except ValueError:
            return LoaFacts.signed_date_invalid(ref.name, ref.signed_date_key, text)
