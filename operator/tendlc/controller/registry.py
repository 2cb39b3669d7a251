"""The registry: one task per watched CampaignMigration, started by the watch and ended by deletion.

`on_watch_event(type, body)` is all the Kopf glue calls. The first event of a resource creates
its `Resource` and a task that runs the pass (`Pass.run`) in a loop; later events replace the
slimmed body and wake the loop when something it acts on changed (spec generation, a control
annotation); a deletion — or a new uid under the same name — cancels the task. Between passes
the loop waits on the resource's wake-up signal with the pass's delay as a timer, never a sleep,
so a webhook (`WebhookInbox`), an annotation or a spec change is acted on at once.

Every event also feeds the campaign claims (`tendlc.workflow.claims.CampaignClaims`): the oldest
live resource of a campaign ID claims it, the others park with `CampaignClaimedElsewhere` until
the claimant goes, and then they are woken. `seed` fills the claims from one listing before the
watch starts, so after a restart no younger resource acts before its older sibling is seen.

Deliberately no Kopf daemon: daemons need a finalizer, and a finalizer left behind by a stopped
or uninstalled operator blocks the deletion of the resource and its namespace. Nothing here needs
to run before a resource is deleted (a migration is never undone), so no finalizer is set.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import timedelta
from typing import Any

from tendlc.api.constants import Reason
from tendlc.api.status import MigrationStatus
from tendlc.controller.inbox import WebhookInbox
from tendlc.controller.leadership import Gate
from tendlc.controller.reconcile import EventSink, Pass
from tendlc.controller.resource import Key, Resource, slim_body, version_of, wake_key
from tendlc.controller.store import StatusStore
from tendlc.kube import ResourceGone
from tendlc.logs import resource_logger
from tendlc.metrics import Metrics
from tendlc.workflow import Event
from tendlc.workflow.claims import CampaignClaims, ClaimCandidate


class Registry:
    """Keeps one task per resource (see the module docstring)."""

    def __init__(
        self,
        reconcile: Pass,
        store: StatusStore,
        inbox: WebhookInbox,
        events: EventSink,
        *,
        metrics: Metrics | None = None,
        logger: logging.Logger | None = None,
        gate: Gate | None = None,
        claims: CampaignClaims | None = None,
        on_change: Callable[[Resource], None] | None = None,
    ) -> None:
        self._on_change = on_change
        self._gate = gate or Gate()
        self._pass = reconcile
        self._store = store
        self._inbox = inbox
        self._events = events
        self._metrics = metrics
        self._logger = logger or logging.getLogger("tendlc.controller")
        self.resources: dict[Key, Resource] = {}
        self.claims = claims if claims is not None else CampaignClaims()
        self._unseen: set[Key] = set()
        """Listed by `seed` and not yet delivered by the watch: a wave waits for these before planning."""

    def phase_counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for resource in self.resources.values():
            phase = str(resource.status.phase or "Pending")
            counts[phase] = counts.get(phase, 0) + 1
        return counts

    def seed(self, items: Iterable[Mapping[str, Any]]) -> None:
        """Feeds the claims from a listing (metadata and spec of each CampaignMigration)."""
        for item in items:
            metadata = item.get("metadata") or {}
            if metadata.get("namespace") and metadata.get("name"):
                self._unseen.add((metadata["namespace"], metadata["name"]))
            candidate = ClaimCandidate.from_body(item)
            if candidate is not None:
                self.claims.observe(candidate)

    def listing_pending(self, namespace: str) -> bool:
        """Whether a CampaignMigration of `namespace` listed at start-up has not reached the registry yet."""
        return any(key[0] == namespace for key in self._unseen)

    def on_watch_event(self, event_type: str | None, body: Mapping[str, Any]) -> None:
        """Called with every watch event (None: the initial listing). Never blocks."""
        metadata = body["metadata"]
        key = (metadata["namespace"], metadata["name"])
        self._unseen.discard(key)
        self._claim(event_type, key, body)
        resource = self.resources.get(key)
        if resource is not None and (event_type == "DELETED" or resource.uid != metadata.get("uid")):
            self._forget(resource)
            self._changed(resource)
            resource = None
        if event_type == "DELETED":
            return
        if resource is None:
            self._changed(self._start(key, body))
            return
        resource.body = slim_body(body)
        if resource.follow(body):
            resource.wake.set()
        changed = wake_key(body)
        if changed != resource.last_wake_key:
            resource.last_wake_key = changed
            resource.wake.set()
            self._changed(resource)

    def _changed(self, resource: Resource) -> None:
        if self._on_change is not None:
            self._on_change(resource)

    def in_namespace(self, namespace: str) -> list[Resource]:
        return [resource for resource in self.resources.values() if resource.namespace == namespace]

    def _claim(self, event_type: str | None, key: Key, body: Mapping[str, Any]) -> None:
        """Updates the claims; when a campaign's claimant changes, every resource naming it is woken."""
        candidate = ClaimCandidate.from_body(body)
        if candidate is None:
            return
        before = self.claims.claimant(candidate.campaign_id)
        if event_type == "DELETED":
            self.claims.forget(key)
        else:
            self.claims.observe(candidate)
        if self.claims.claimant(candidate.campaign_id) != before:
            self._wake_contenders(candidate.campaign_id)

    def _wake_contenders(self, campaign_id: str) -> None:
        for contender in self.claims.contenders(campaign_id):
            waiting = self.resources.get(contender)
            if waiting is not None:
                waiting.wake.set()

    def _start(self, key: Key, body: Mapping[str, Any]) -> Resource:
        status, unreadable = MigrationStatus.from_body_lenient(body)
        resource = Resource(
            namespace=key[0], name=key[1], uid=body["metadata"].get("uid", ""), body=slim_body(body),
            status=status, written=status, last_wake_key=wake_key(body), unreadable=unreadable,
            resource_version=version_of(body),
            logger=resource_logger(self._logger, key[0], key[1], (body.get("spec") or {}).get("campaignId")),
        )
        self._store.loaded(resource)
        if unreadable:
            message = (f"status field(s) {', '.join(unreadable)} could not be read by this operator version and "
                       "are rebuilt; the migration goes on (see the StatusReadable condition)")
            resource.logger.warning("%s", message)
            self._events(resource.body, Event("Warning", Reason.UNREADABLE_STATUS, message))
        self.resources[key] = resource
        self._inbox.index(resource)
        resource.task = asyncio.create_task(
            # A fresh context: by default the task would copy Kopf's handler context of this
            # resource's first watch event, keeping that event's body, patch and logger alive
            # (~6 KB) as long as the loop runs (docs/performance.md, F5). Nothing here needs it.
            self._run(resource), name=f"tendlc {key[0]}/{key[1]}", context=contextvars.Context()
        )
        return resource

    def _forget(self, resource: Resource) -> None:
        if self.resources.get(resource.key) is resource:
            del self.resources[resource.key]
        self._inbox.forget(resource)
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
        """Drives one resource until it is deleted or the operator stops; only while this replica leads."""
        while not resource.stopping:
            if not self._gate.is_open():
                await self._gate.wait_open()  # another replica acts; the watch keeps the status current
                continue
            resource.wake.clear()
            started = time.monotonic()
            error: BaseException | None = None
            try:
                await self._inbox.take(resource, self._store.update)
                delay = (await self._pass.run(resource)).delay
            except ResourceGone:
                return
            except asyncio.CancelledError:
                raise
            except Exception as failure:  # a bug or an API outage must not end the loop silently
                error = failure
                resource.logger.exception("reconcile failed")
                message = f"{type(failure).__name__}: {failure}"
                self._events(resource.body, Event("Warning", Reason.RECONCILE_ERROR, message))
                delay = self._pass.policy.backoff_initial
            if self._metrics is not None:
                self._metrics.reconcile_pass(time.monotonic() - started, error)
            await self._wait(resource, delay)

    async def _wait(self, resource: Resource, delay: timedelta | None) -> None:
        """Sleeps until woken (watch, webhook, stop) or `delay` passes: one timer, no extra task.

        Whoever sets `stopping` sets `wake` too, so waiting on `wake` alone is enough; with
        thousands of resources waiting, a helper task per wait would be a measurable share of the
        memory per resource (docs/performance.md, F5).
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
