"""The executor: observe → decide → act → record, for one CampaignMigration at a time.

`tendlc.workflow` decides; this room does what it decides. It gathers the facts (Secrets,
annotations, the clock), asks `decide`, performs the chosen partner call through the clients,
folds the outcome back with `record`, and writes the status subresource. It writes the status
*before* every non-idempotent partner call (the exactly-once marker) and once at the end of each
pass, only when something changed. It waits by awaiting a per-resource wake-up signal with a
timeout — never by sleeping — so a webhook, an annotation or a spec change is acted on at once.

No Kopf here: the Kopf glue (`handlers.py`) feeds every watch event to `observe` and hands in a
`post_event` callback for Kubernetes Events.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

from pydantic import ValidationError

from tendlc.api.constants import ConditionType, Reason
from tendlc.api.spec import CampaignMigrationSpec
from tendlc.api.status import MigrationStatus, Phase
from tendlc.clients.models import InfobipCampaign, NumberImportResult
from tendlc.config import Settings
from tendlc.kube import KubeApi, ResourceGone
from tendlc.logs import resource_logger
from tendlc.metrics import Metrics
from tendlc.partner_errors import PartnerError, PartnerProblem, PartnerRejected, PartnerUnavailable
from tendlc.partners import CredentialsProblem, PartnerClients, Partners
from tendlc.webhooks.payload import WebhookEvent as IncomingEvent
from tendlc.webhooks.receiver import DispatchResult
from tendlc.workflow import (
    Act,
    Action,
    Annotations,
    CampaignObserved,
    Decision,
    Done,
    ElectCnp,
    ElectionObserved,
    Event,
    Facts,
    Fail,
    ImportNumbers,
    ImportResult,
    LoaFacts,
    MigrationNotFound,
    ObserveElection,
    ObserveMigration,
    OsrConfirmation,
    Outcome,
    Park,
    PollCampaign,
    SubmitMigration,
    Wait,
    decide,
    get_condition,
    record,
    set_condition,
)
from tendlc.workflow import Settings as WorkflowSettings
from tendlc.workflow.webhooks import apply_webhook

ANNOTATION_PREFIX = "tendlc.io/"
OSR_UPDATED = "tendlc.io/osr-updated"
RETRY = "tendlc.io/retry"
SUSPEND = "tendlc.io/suspend"
DRY_RUN = "tendlc.io/dry-run"
CONTROL_ANNOTATIONS = (OSR_UPDATED, RETRY, SUSPEND, DRY_RUN)
ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
TRUE_WORDS = frozenset({"true", "yes", "1", "on"})
MAX_ACTIONS_PER_PASS = 16  # a guard against a decide/record loop that never settles
# Status fields that change on every poll of a campaign that is still waiting; a patch of only
# these is written at most every `status_refresh_seconds` (D18), the rest at once.
VOLATILE_STATUS_KEYS = frozenset({"lastCheckedAt", "nextCheckAt", "attempts"})

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


def workflow_settings(settings: Settings) -> WorkflowSettings:
    return WorkflowSettings(
        loa_max_age=settings.loa_max_age,
        backoff_initial=settings.backoff_initial,
        backoff_max=settings.backoff_max,
        stall_after=settings.stall_after,
        max_observe_attempts=settings.max_observe_attempts,
        park_recheck=timedelta(seconds=settings.recheck_parked_seconds),
    )


def parse_annotations(annotations: Mapping[str, str]) -> Annotations:
    osr: OsrConfirmation | None = None
    if OSR_UPDATED in annotations:
        value = annotations[OSR_UPDATED]
        at: datetime | None
        try:
            at = datetime.fromisoformat(value.replace("Z", "+00:00"))
            at = at if at.tzinfo else at.replace(tzinfo=UTC)
        except ValueError:
            at = None
        osr = OsrConfirmation(value=value, at=at)
    return Annotations(
        osr_updated=osr,
        retry=annotations.get(RETRY) or None,
        suspend=annotations.get(SUSPEND, "").strip().lower() in TRUE_WORDS,
    )


def wake_key(body: Mapping[str, Any]) -> tuple[Any, ...]:
    """What, when it changes, deserves an immediate new pass (status-only changes do not)."""
    metadata = body.get("metadata", {})
    annotations = metadata.get("annotations") or {}
    return (metadata.get("generation"), *(annotations.get(name) for name in CONTROL_ANNOTATIONS))


KEPT_METADATA = ("name", "namespace", "uid", "generation", "resourceVersion", "annotations")


def slim_body(body: Mapping[str, Any]) -> dict[str, Any]:
    """What a pass and an Event need of a watched object: never its status or managedFields.

    The watch delivers the whole object (status and managedFields are most of it, growing with
    every write); holding it for each of thousands of resources was a third of the operator's
    memory per resource (docs/performance.md, F5). Status lives in `Resource.status` instead.
    """
    metadata = body.get("metadata") or {}
    return {
        "apiVersion": body.get("apiVersion"),
        "kind": body.get("kind"),
        "metadata": {key: metadata[key] for key in KEPT_METADATA if key in metadata},
        "spec": body.get("spec"),
    }


def rejection_message(campaign: InfobipCampaign) -> str | None:
    feedback = campaign.campaign_feedback
    if feedback is None:
        return None
    parts = [reason for reason in feedback.rejection_reasons if reason]
    for detail in feedback.rejection_details:
        text = ": ".join(p for p in (detail.error_code, detail.description) if p)
        if detail.recommended_action:
            text += f" (recommended action: {detail.recommended_action})"
        if text:
            parts.append(text)
    return "; ".join(parts) or None


def campaign_observed(campaign: InfobipCampaign, *, created: bool = False) -> CampaignObserved:
    return CampaignObserved(
        infobip_campaign_id=campaign.id,
        stage=campaign.stage or "UNKNOWN",
        rejection_message=rejection_message(campaign),
        created=created,
        created_at=campaign.created_date,
    )


def import_incomplete(result: NumberImportResult, requested: tuple[str, ...]) -> PartnerRejected:
    """A 2xx import that did not take every number is a refusal the user must see, number by number."""
    problems = [PartnerProblem(code=entry.status, description=f"{entry.number}: {entry.status}", field="numbers")
                for entry in result.failed]
    problems += [PartnerProblem(code="NOT_REPORTED", description=f"{number}: not in Infobip's answer",
                                field="numbers") for number in result.missing(requested)]
    shown = "; ".join(problem.description for problem in problems[:5])
    more = f" and {len(problems) - 5} more" if len(problems) > 5 else ""
    return PartnerRejected("Infobip", "numbers.import", f"numbers not imported: {shown}{more}",
                           problems=tuple(problems))


async def perform(action: Action, clients: PartnerClients) -> Outcome:
    """Makes the partner call(s) of one action; a partner failure is returned, not raised."""
    try:
        match action:
            case ImportNumbers():
                result = await clients.infobip.import_numbers(action.numbers, skip_osr_update=action.skip_osr_update)
                if not result.all_succeeded(action.numbers):
                    return import_incomplete(result, action.numbers)
                return ImportResult(count=len(result.succeeded))
            case ObserveElection():
                sharing = await clients.tcr.get_sharing(action.campaign_id)
                mine = sharing.shared_by_me
                if mine is None:
                    return ElectionObserved(upstream_cnp_id=None, sharing_status=None)
                return ElectionObserved(mine.upstream_cnp_id, mine.sharing_status, mine.explanation)
            case ElectCnp():
                election = await clients.tcr.elect_cnp(action.campaign_id, action.upstream_cnp_id)
                return ElectionObserved(election.upstream_cnp_id or action.upstream_cnp_id, election.sharing_status)
            case ObserveMigration():
                found = await clients.infobip.find_migrated_campaign(
                    action.campaign_id, name=action.name, number=action.number
                )
                return MigrationNotFound() if found is None else campaign_observed(found)
            case SubmitMigration():
                campaign = await clients.infobip.submit_migration(
                    name=action.name,
                    external_campaign_id=action.campaign_id,
                    numbers=action.numbers,
                    number_pool_id=action.number_pool_id,
                    is_client_manage_nnid=action.is_client_manage_nnid,
                )
                return campaign_observed(campaign, created=True)
            case PollCampaign():
                return campaign_observed(await clients.infobip.get_campaign(action.infobip_campaign_id))
    except PartnerError as error:
        return error
    raise AssertionError(f"unknown action {action!r}")  # pragma: no cover - exhaustive match


def _seconds(start: datetime | None, end: datetime | None) -> float | None:
    if start is None or end is None:
        return None
    return max((end - start).total_seconds(), 0.0)


def observe_transition(metrics: Metrics, before: MigrationStatus, after: MigrationStatus) -> None:
    """Feeds the duration metrics from what a status write changed (each fact is seen once)."""
    for step, previous, current, since in (
        ("import_numbers", before.numbers_imported_at, after.numbers_imported_at, None),
        ("elect_cnp", before.cnp_elected_at, after.cnp_elected_at, after.numbers_imported_at),
        ("submit_migration", before.migration_submitted_at, after.migration_submitted_at, after.cnp_elected_at),
    ):
        duration = _seconds(since, current)
        if previous is None and current is not None and duration is not None:
            metrics.step_finished(step, duration)
    for outcome, previous, current in (
        ("registered", before.registered_at, after.registered_at),
        ("failed", before.failed_at, after.failed_at),
    ):
        duration = _seconds(after.migration_submitted_at, current)
        if previous is None and current is not None and duration is not None:
            metrics.in_migration_finished(outcome, duration)
    downtime = _seconds(after.downtime_started_at, after.downtime_ended_at)
    if before.downtime_ended_at is None and downtime is not None:
        metrics.downtime_observed(downtime)


@dataclass(slots=True)
class Resource:
    """One watched CampaignMigration: its latest (slimmed) body, its status as we know it, its task."""

    namespace: str
    name: str
    uid: str
    body: Mapping[str, Any]
    status: MigrationStatus
    written: MigrationStatus
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    stopping: bool = False
    last_wake_key: tuple[Any, ...] = ()
    written_at: float = 0.0
    task: asyncio.Task[None] | None = None
    inbox: list[tuple[IncomingEvent, asyncio.Future[DispatchResult]]] = field(default_factory=list)
    logger: logging.Logger | logging.LoggerAdapter[logging.Logger] = field(
        default_factory=lambda: logging.getLogger("tendlc.reconciler")
    )


PostEvent = Callable[[Mapping[str, Any], Event], None]


class Reconciler:
    """Keeps one task per resource, started by the first watch event and cancelled by deletion.

    Deliberately no Kopf daemon: daemons need a finalizer, and a finalizer left behind by a stopped
    or uninstalled operator blocks the deletion of the resource and its namespace. Nothing here
    needs to run before a resource is deleted (a migration is never undone), so no finalizer is set.
    """

    def __init__(
        self,
        settings: Settings,
        kube: KubeApi,
        partners: Partners,
        *,
        post_event: PostEvent,
        metrics: Metrics | None = None,
        clock: Clock = utc_now,
        logger: logging.Logger | None = None,
    ) -> None:
        self.settings = settings
        self.metrics = metrics
        self.workflow_settings = workflow_settings(settings)
        self.kube = kube
        self.partners = partners
        self.post_event = post_event
        self.clock = clock
        self.logger = logger or logging.getLogger("tendlc.reconciler")
        self.resources: dict[tuple[str, str], Resource] = {}
        # Webhooks name campaigns by Infobip UUID (or TCR ID): an in-memory index fed by the watch
        # and by our own writes, so a lookup never lists the API and sees a UUID before the watch does.
        self.by_infobip_id: dict[str, tuple[str, str]] = {}
        self.by_campaign_id: dict[str, tuple[str, str]] = {}
        if metrics is not None:
            metrics.set_phase_source(self.phase_counts)

    def phase_counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for resource in self.resources.values():
            phase = str(resource.status.phase or "Pending")
            counts[phase] = counts.get(phase, 0) + 1
        return counts

    def _index(self, resource: Resource) -> None:
        key = (resource.namespace, resource.name)
        if resource.status.infobip_campaign_id:
            self.by_infobip_id[resource.status.infobip_campaign_id] = key
        campaign_id = (resource.body.get("spec") or {}).get("campaignId")
        if campaign_id:
            self.by_campaign_id[campaign_id] = key

    # --- webhooks -------------------------------------------------------------------------------

    async def deliver(self, event: IncomingEvent) -> DispatchResult:
        """The receiver's dispatch: hands the event to its resource's loop and waits until recorded.

        Raises when the status could not be written, so the receiver answers 500 and Infobip retries.
        """
        key = self.by_infobip_id.get(event.infobip_campaign_id)
        if key is None and event.tcr_id:
            key = self.by_campaign_id.get(event.tcr_id)
        resource = self.resources.get(key) if key is not None else None
        if resource is None:
            self.logger.warning("webhook for unknown campaign %s (tcrId %s) ignored",
                                event.infobip_campaign_id, event.tcr_id)
            return "unknown_campaign"
        outcome: asyncio.Future[DispatchResult] = asyncio.get_running_loop().create_future()
        resource.inbox.append((event, outcome))
        resource.wake.set()
        return await outcome

    async def _take_webhooks(self, resource: Resource) -> None:
        if not resource.inbox:
            return
        taken, resource.inbox = resource.inbox, []
        results: list[DispatchResult] = []
        for event, _ in taken:
            resource.status, applied = apply_webhook(resource.status, event, self.clock())
            results.append(applied)
        try:
            await self._write(resource)
        except BaseException as error:
            for _, outcome in taken:
                if not outcome.done():
                    outcome.set_exception(error if isinstance(error, Exception) else RuntimeError(str(error)))
            raise
        for (_, outcome), result in zip(taken, results, strict=True):
            if not outcome.done():
                outcome.set_result(result)

    # --- the lifecycle --------------------------------------------------------------------------

    def observe(self, event_type: str | None, body: Mapping[str, Any]) -> None:
        """Called with every watch event (None: the initial listing). Never blocks."""
        metadata = body["metadata"]
        key = (metadata["namespace"], metadata["name"])
        resource = self.resources.get(key)
        if resource is not None and (event_type == "DELETED" or resource.uid != metadata.get("uid")):
            self._forget(resource)
            resource = None
        if event_type == "DELETED":
            return
        if resource is None:
            status = MigrationStatus.from_body(body)
            resource = Resource(
                namespace=key[0], name=key[1], uid=metadata.get("uid", ""), body=slim_body(body), status=status,
                written=status, last_wake_key=wake_key(body),
                logger=resource_logger(self.logger, key[0], key[1], (body.get("spec") or {}).get("campaignId")),
            )
            self.resources[key] = resource
            self._index(resource)
            resource.task = asyncio.create_task(
                # A fresh context: by default the task would copy Kopf's handler context of this
                # resource's first watch event, keeping that event's body, patch and logger alive
                # (~6 KB) as long as the loop runs (docs/performance.md, F5). Nothing here needs it.
                self._run(resource), name=f"tendlc {key[0]}/{key[1]}", context=contextvars.Context()
            )
            return
        resource.body = slim_body(body)
        changed = wake_key(body)
        if changed != resource.last_wake_key:
            resource.last_wake_key = changed
            resource.wake.set()

    def _forget(self, resource: Resource) -> None:
        key = (resource.namespace, resource.name)
        if self.resources.get(key) is resource:
            del self.resources[key]
        for index, indexed in (
            (self.by_infobip_id, resource.status.infobip_campaign_id),
            (self.by_campaign_id, (resource.body.get("spec") or {}).get("campaignId")),
        ):
            if indexed and index.get(indexed) == key:
                del index[indexed]
        for _, outcome in resource.inbox:
            if not outcome.done():
                outcome.set_result("unknown_campaign")  # deleted meanwhile: nothing left to update
        resource.inbox.clear()
        resource.stopping = True
        resource.wake.set()
        if resource.task is not None:
            resource.task.cancel()

    async def shutdown(self, grace: float = 5.0) -> None:
        """Lets every loop finish the call it is in (up to `grace` seconds), then cancels the rest."""
        resources = list(self.resources.values())
        for resource in resources:
            resource.stopping = True
            resource.wake.set()
        tasks = [r.task for r in resources if r.task is not None]
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=grace)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        self.resources.clear()

    async def _run(self, resource: Resource) -> None:
        """Drives one resource until it is deleted or the operator stops."""
        while not resource.stopping:
            resource.wake.clear()
            started = time.monotonic()
            error: BaseException | None = None
            try:
                await self._take_webhooks(resource)
                delay = await self.reconcile_once(resource)
            except ResourceGone:
                return
            except asyncio.CancelledError:
                raise
            except Exception as failure:  # a bug or an API outage must not end the loop silently
                error = failure
                resource.logger.exception("reconcile failed")
                message = f"{type(failure).__name__}: {failure}"
                self.post_event(resource.body, Event("Warning", "ReconcileError", message))
                delay = self.workflow_settings.backoff_initial
            if self.metrics is not None:
                self.metrics.reconcile_pass(time.monotonic() - started, error)
            await self._wait(resource, delay)

    async def _wait(self, resource: Resource, delay: timedelta | None) -> None:
        """Sleeps until woken (watch, webhook, stop) or `delay` passes: one timer, no extra task.

        Whoever sets `stopping` sets `wake` too, so waiting on `wake` alone is enough; with thousands of
        resources waiting, two helper tasks each (the former asyncio.wait on both events) were
        a measurable share of the memory per resource (docs/performance.md, F5).
        """
        if resource.stopping:
            return
        timer = None
        if delay is not None:
            timer = asyncio.get_running_loop().call_later(max(delay.total_seconds(), 0.0), resource.wake.set)
        try:
            await resource.wake.wait()
        finally:
            if timer is not None:
                timer.cancel()

    # --- one pass -------------------------------------------------------------------------------

    async def reconcile_once(self, resource: Resource) -> timedelta | None:
        """One observe → decide → act → record pass; returns how long to wait (None: until woken)."""
        body = resource.body
        try:
            spec = CampaignMigrationSpec.from_body(body)
        except ValidationError as error:
            # The CRD schema rejects bad specs; this only happens when the schema installed in the
            # cluster is older or looser than this operator's model. Say so on the resource.
            await self._report_invalid_spec(resource, error)
            return None
        facts, clients = await self._observe(spec, body)
        status = resource.status
        for _ in range(MAX_ACTIONS_PER_PASS):
            decision = decide(spec, status, facts, self.workflow_settings)
            if decision.event is not None:
                resource.logger.info("%s: %s", decision.event.reason, decision.event.message)
                self.post_event(body, decision.event)
            if not isinstance(decision, Act):
                resource.status = decision.status
                await self._write(resource)
                return self._delay(decision)
            if clients is None:  # decide parks on credentials problems; this is only a guard
                raise AssertionError("decide asked for a partner call without usable credentials")
            resource.status = decision.status
            if not decision.action.idempotent:
                await self._write(resource)  # the exactly-once marker, before the call
            resource.logger.debug("performing %s", type(decision.action).__name__)
            outcome = await perform(decision.action, clients)
            if self.metrics is not None and isinstance(outcome, PartnerUnavailable):
                reason = "rate_limited" if outcome.rate_limited else "unavailable"
                self.metrics.retry_scheduled(outcome.partner, outcome.endpoint, reason)
            facts = replace(facts, now=self.clock())
            status = record(spec, decision.status, decision.action, outcome, facts, self.workflow_settings)
            resource.status = status
        await self._write(resource)
        resource.logger.warning("no settled decision after %d actions; will look again", MAX_ACTIONS_PER_PASS)
        return self.workflow_settings.backoff_initial

    async def _report_invalid_spec(self, resource: Resource, error: ValidationError) -> None:
        problems = "; ".join(
            f"spec.{'.'.join(str(part) for part in detail['loc'])}: {detail['msg']}"
            for detail in error.errors(include_input=False, include_url=False)
        )
        message = f"the spec does not validate for this operator version ({problems}); fix it or update the CRD"
        generation = int(resource.body["metadata"].get("generation") or 1)
        before = get_condition(resource.status.conditions, ConditionType.READY)
        status = resource.status.model_copy(deep=True)
        status.phase = status.phase or Phase.PENDING
        status.observed_generation = generation
        status.conditions = set_condition(status.conditions, ConditionType.READY, "False", Reason.INVALID_SPEC,
                                          message, generation, self.clock())
        resource.status = status
        await self._write(resource)
        if before is None or before.reason != Reason.INVALID_SPEC:
            resource.logger.error("%s", message)
            self.post_event(resource.body, Event("Warning", Reason.INVALID_SPEC, message))

    def _delay(self, decision: Decision) -> timedelta | None:
        match decision:
            case Wait():
                return decision.delay
            case Park():
                return decision.recheck_after or self.workflow_settings.park_recheck
            case Done() | Fail():
                return None
        return None  # pragma: no cover

    async def _write(self, resource: Resource) -> None:
        patch = resource.status.to_patch(resource.written)
        if not patch:
            return
        if set(patch) <= VOLATILE_STATUS_KEYS and (
            time.monotonic() - resource.written_at < self.settings.status_refresh_seconds
        ):
            return  # only "when did we last/next look" changed, and it was shown recently enough
        await self.kube.patch_status(resource.namespace, resource.name, patch)
        resource.written_at = time.monotonic()
        if self.metrics is not None:
            observe_transition(self.metrics, resource.written, resource.status)
        resource.written = resource.status
        self._index(resource)

    async def _observe(
        self, spec: CampaignMigrationSpec, body: Mapping[str, Any]
    ) -> tuple[Facts, PartnerClients | None]:
        metadata = body["metadata"]
        namespace = metadata["namespace"]
        annotations = metadata.get("annotations") or {}
        loa = await self._loa_facts(spec, namespace)
        clients: PartnerClients | None = None
        credentials_problem: str | None = None
        try:
            clients = await self.partners.for_spec(spec, namespace)
        except CredentialsProblem as problem:
            credentials_problem = str(problem)
        facts = Facts(
            now=self.clock(),
            loa=loa,
            credentials_problem=credentials_problem,
            annotations=parse_annotations(annotations),
            dry_run=self.settings.dry_run or annotations.get(DRY_RUN, "").strip().lower() in TRUE_WORDS,
            generation=int(metadata.get("generation") or 1),
        )
        return facts, clients

    async def _loa_facts(self, spec: CampaignMigrationSpec, namespace: str) -> LoaFacts:
        ref = spec.loa_secret_ref
        secret = await self.kube.read_secret(namespace, ref.name)
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
