"""Fact gathering: what a pass observes outside the status before `decide` runs.

`FactGatherer.gather(spec, body, status)` first asks whether this resource may migrate its
campaign at all — it must be the campaign's claimant (`tendlc.workflow.claims`) and, under the
namespace policy, its Namespace must allow the campaign ID — and if not, returns that alone: no
Secret is read and no client built for a resource that may not act. Otherwise it reads the LOA
Secret (with its `tendlc.io/usage` opt-in, `tendlc.workflow.secrets`), builds (or fetches from the
cache) the partner clients for the resource's account (refused endpoints and unlabeled Secrets
become a `credentials_problem` with its own reason; a migration that passed its prerequisites
before the label was required keeps its unlabeled Secrets while its spec is unchanged), parses
the control annotations and stamps the clock; a `numbersFrom` ConfigMap is read too, and the spec
returned with its numbers filled in (D62). Before the migration is submitted it also checks
that the cut-over, if any, could run (`tendlc.cutover`): its ConfigMap, Secret and URL. It reads,
never writes, and turns every problem it finds into a fact the workflow decides on, so the pass
has one path whatever the cluster looks like. Secret values stay in here and in the clients; no
message built here quotes one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from tendlc.api.constants import ANNOTATION_DRY_RUN, ANNOTATION_OSR_UPDATED, ANNOTATION_RETRY, ANNOTATION_SUSPEND
from tendlc.api.spec import CampaignMigrationSpec, CutOver
from tendlc.api.status import MigrationStatus
from tendlc.controller.numbers_source import numbers_from_config_map
from tendlc.controller.resource import Clock
from tendlc.cutover import CutOverRunner
from tendlc.kube import KubeApi
from tendlc.partners import CredentialsProblem, PartnerClients, Partners
from tendlc.workflow import Annotations, Facts, LoaFacts, OsrConfirmation
from tendlc.workflow.claims import CampaignClaims, namespace_policy
from tendlc.workflow.secrets import read_loa, unlabeled_secrets_allowed

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
    """One pass's facts, and the clients of the resource's partner account (None: no usable credentials).

    `spec` is the spec with its numbers read from `numbersFrom` (None: the spec the pass parsed holds
    them already, or they could not be read — `facts.numbers_problem` says why).
    """

    facts: Facts
    clients: PartnerClients | None
    spec: CampaignMigrationSpec | None = None


class FactGatherer:
    """Reads the Secrets and annotations of a resource into `Facts` (see the module docstring)."""

    def __init__(
        self, kube: KubeApi, partners: Partners, *, dry_run: bool, clock: Clock,
        claims: CampaignClaims | None = None, namespace_policy: bool = False, cutover: CutOverRunner | None = None,
    ) -> None:
        self._cutover = cutover
        self._kube = kube
        self._partners = partners
        self._dry_run = dry_run
        self._clock = clock
        self._claims = claims
        self._namespace_policy = namespace_policy

    async def gather(
        self, spec: CampaignMigrationSpec, body: Mapping[str, Any], status: MigrationStatus | None = None,
        *, cutover: CutOver | None = None,
    ) -> Observed:
        metadata = body["metadata"]
        namespace = metadata["namespace"]
        annotations = metadata.get("annotations") or {}
        now = self._clock()
        generation = int(metadata.get("generation") or 1)
        claimed_by = self._claims.claimed_elsewhere((namespace, metadata["name"])) if self._claims else None
        not_allowed = await self._policy(namespace, spec.campaign_id) if claimed_by is None else None
        if claimed_by is not None or not_allowed is not None:
            # May not act: nothing of this resource's Secrets is read, no client exists for it.
            facts = Facts(now=now, loa=LoaFacts(), claimed_by=claimed_by, campaign_not_allowed=not_allowed,
                          annotations=parse_annotations(annotations), generation=generation)
            return Observed(facts, None)
        loa = await self.loa_facts(spec, namespace)
        resolved, numbers_problem = spec, None
        if spec.numbers_from is not None:
            found = await self._kube.read_numbers_config_map(namespace, spec.numbers_from.config_map_key_ref.name)
            resolved, numbers_problem = numbers_from_config_map(spec, namespace, found)
        clients: PartnerClients | None = None
        credentials_problem: str | None = None
        credentials_reason: str | None = None
        try:
            clients = await self._partners.for_spec(
                spec, namespace,
                trust_unlabeled=status is not None and unlabeled_secrets_allowed(status, generation),
            )
        except CredentialsProblem as problem:
            credentials_problem, credentials_reason = str(problem), problem.reason
        cutover_problem = None
        if cutover is not None and self._cutover is not None and (status is None or status.infobip_campaign_id is None):
            cutover_problem = await self._cutover.readiness(cutover, namespace)  # before submission only
        facts = Facts(
            now=now,
            loa=loa,
            cutover_problem=cutover_problem,
            credentials_problem=credentials_problem,
            credentials_reason=credentials_reason,
            annotations=parse_annotations(annotations),
            dry_run=self._dry_run or is_true(annotations.get(ANNOTATION_DRY_RUN)),
            generation=generation,
            numbers_problem=numbers_problem,
        )
        return Observed(facts, clients, resolved if resolved is not spec else None)

    async def _policy(self, namespace: str, campaign_id: str) -> str | None:
        if not self._namespace_policy:
            return None
        return namespace_policy(namespace, await self._kube.namespace_annotations(namespace), campaign_id)

    async def loa_facts(self, spec: CampaignMigrationSpec, namespace: str) -> LoaFacts:
        ref = spec.loa_secret_ref
        return read_loa(ref, await self._kube.read_secret(namespace, ref.name), namespace)
