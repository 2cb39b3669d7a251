"""The status store's write rule (D18) and the webhook inbox's routing, on in-memory parts."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from support.loop_driver import InMemoryStatusApi
from tendlc.api.status import MigrationStatus, Phase
from tendlc.controller.inbox import WebhookInbox
from tendlc.controller.resource import Resource
from tendlc.controller.store import StatusStore
from tendlc.kube import ResourceGone, StatusConflict
from tendlc.webhooks.payload import STATUS_UPDATE, WebhookEvent

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def resource(campaign_id: str = "COJD655", status: MigrationStatus | None = None) -> Resource:
    status = status or MigrationStatus()
    return Resource(namespace="ns", name=campaign_id.lower(), uid="u1", body={"spec": {"campaignId": campaign_id}},
                    status=status, written=status)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_a_patch_of_only_check_times_is_held_back_until_the_refresh_interval() -> None:
    api, clock, seen = InMemoryStatusApi(), Clock(), []
    store = StatusStore(api, refresh_seconds=300, on_written=lambda r, before: seen.append(before), monotonic=clock)
    item = resource()
    item.status = MigrationStatus(phase=Phase.IN_MIGRATION, next_check_at=T0)
    assert await store.write(item)
    item.status = item.status.model_copy(update={"next_check_at": T0 + timedelta(minutes=1), "attempts": 1})
    assert not await store.write(item)  # only volatile keys, written a moment ago
    clock.now += 301
    assert await store.write(item)
    assert [set(patch) for patch in api.patches] == [{"phase", "nextCheckAt"}, {"nextCheckAt", "attempts"}]
    assert len(seen) == 2


async def test_a_forced_write_and_any_real_change_are_never_held_back() -> None:
    api, clock = InMemoryStatusApi(), Clock()
    store = StatusStore(api, refresh_seconds=300, monotonic=clock)
    item = resource()
    item.status = MigrationStatus(next_check_at=T0)
    assert await store.write(item)
    item.status = item.status.model_copy(update={"next_check_at": T0 + timedelta(seconds=5)})
    assert await store.write(item, force=True)
    item.status = item.status.model_copy(update={"attempts": 3, "phase": Phase.IN_MIGRATION})
    assert await store.write(item)
    assert not await store.write(item)  # nothing changed: no request
    assert len(api.patches) == 3


def event(infobip_id: str, tcr_id: str | None = None) -> WebhookEvent:
    return WebhookEvent(kind=STATUS_UPDATE, infobip_campaign_id=infobip_id, status="REGISTERED", received_at=T0,
                        event_id=f"e-{infobip_id}", tcr_id=tcr_id)


async def test_an_event_is_answered_only_after_its_resource_wrote_it() -> None:
    inbox = WebhookInbox(clock=lambda: T0)
    item = resource(status=MigrationStatus(infobip_campaign_id="uuid-1"))
    inbox.index(item)
    delivery = asyncio.ensure_future(inbox.deliver(event("uuid-1")))
    await asyncio.sleep(0)
    assert item.wake.is_set()
    assert not delivery.done()
    writes: list[MigrationStatus] = []

    async def update(target: Resource, fold: Callable[[MigrationStatus], MigrationStatus]) -> None:
        target.status = fold(target.status)
        writes.append(target.status)

    await inbox.take(item, update)
    assert await delivery == "applied"
    assert writes[0].webhook is not None
    assert writes[0].webhook.stage == "REGISTERED"


async def test_a_failed_write_fails_the_delivery_so_infobip_retries() -> None:
    inbox = WebhookInbox(clock=lambda: T0)
    item = resource(status=MigrationStatus(infobip_campaign_id="uuid-1"))
    inbox.index(item)
    delivery = asyncio.ensure_future(inbox.deliver(event("uuid-1")))
    await asyncio.sleep(0)

    async def broken(target: Resource, fold: Callable[[MigrationStatus], MigrationStatus]) -> None:
        raise RuntimeError("API server unavailable")

    with pytest.raises(RuntimeError):
        await inbox.take(item, broken)
    with pytest.raises(RuntimeError):
        await delivery


async def test_unknown_and_forgotten_campaigns_are_answered_at_once() -> None:
    inbox = WebhookInbox(clock=lambda: T0)
    assert await inbox.deliver(event("uuid-unknown")) == "unknown_campaign"
    item = resource(status=MigrationStatus(infobip_campaign_id="uuid-1"))
    inbox.index(item)
    pending = asyncio.ensure_future(inbox.deliver(event("uuid-1")))
    await asyncio.sleep(0)
    inbox.forget(item)
    assert await pending == "unknown_campaign"
    assert await inbox.deliver(event("uuid-1")) == "unknown_campaign"


async def test_before_a_uuid_is_known_the_tcr_id_finds_the_resource() -> None:
    inbox = WebhookInbox(clock=lambda: T0)
    item = resource("CAB1234")
    inbox.index(item)
    pending = asyncio.ensure_future(inbox.deliver(event("uuid-new", tcr_id="CAB1234")))
    await asyncio.sleep(0)
    assert [queued.infobip_campaign_id for queued, _ in item.inbox] == ["uuid-new"]
    inbox.forget(item)
    assert await pending == "unknown_campaign"


async def test_a_write_fenced_off_by_another_writer_raises_and_reload_takes_the_servers_status() -> None:
    api = InMemoryStatusApi()
    store = StatusStore(api, refresh_seconds=0)
    item = resource()
    item.resource_version = str(api.version)
    item.status = MigrationStatus(phase=Phase.ELECTING_CNP)
    assert await store.write(item)
    assert item.resource_version == str(api.version)
    api.stored = {"phase": "SubmittingMigration", "infobipCampaignId": "uuid-other-writer"}
    api.touch()  # another replica wrote meanwhile
    item.status = MigrationStatus(phase=Phase.SUBMITTING_MIGRATION)
    with pytest.raises(StatusConflict):
        await store.write(item)
    assert len(api.patches) == 1
    await store.reload(item)
    assert item.status.infobip_campaign_id == "uuid-other-writer"
    assert item.written == item.status
    assert item.resource_version == str(api.version)


async def test_a_reload_that_finds_another_uid_ends_the_old_loop() -> None:
    api = InMemoryStatusApi()
    store = StatusStore(api, refresh_seconds=0)
    item = resource()
    item.uid = "an-older-incarnation"
    with pytest.raises(ResourceGone):
        await store.reload(item)


async def test_update_folds_again_on_the_newer_status_after_a_lost_write() -> None:
    api = InMemoryStatusApi()
    store = StatusStore(api, refresh_seconds=0)
    item = resource()
    item.resource_version = "stale"
    api.stored = {"infobipCampaignId": "uuid-1"}
    seen: list[str | None] = []

    def fold(status: MigrationStatus) -> MigrationStatus:
        seen.append(status.infobip_campaign_id)
        return status.model_copy(update={"infobip_stage": "IN_MIGRATION"})

    await store.update(item, fold)
    assert seen == [None, "uuid-1"]  # folded on our stale view, fenced off, folded again on the server's
    assert api.stored == {"infobipCampaignId": "uuid-1", "infobipStage": "IN_MIGRATION"}


async def test_fields_another_version_wrote_are_rewritten_by_the_next_write() -> None:
    api = InMemoryStatusApi(stored={"phase": "PhaseOfTheFuture", "attempts": "many"})
    status, unreadable = MigrationStatus.from_body_lenient(api.object())
    assert unreadable == ("attempts", "phase")
    item = resource(status=status)
    item.unreadable = unreadable
    item.status = status.model_copy(update={"phase": Phase.PENDING})
    store = StatusStore(api, refresh_seconds=300)
    assert await store.write(item)
    assert api.stored == {"phase": "Pending", "attempts": 0}
    assert item.unreadable == ()


async def test_a_status_just_loaded_from_the_server_counts_as_just_written() -> None:
    """After a restart the first poll of a still-waiting campaign sends nothing (bench F9)."""
    api, clock = InMemoryStatusApi(), Clock()
    clock.now = 86_400.0 * 3  # monotonic time counts from boot: days on a node
    store = StatusStore(api, refresh_seconds=300, monotonic=clock)
    item = resource(status=MigrationStatus(phase=Phase.IN_MIGRATION, next_check_at=T0, attempts=4))
    store.loaded(item)
    item.status = item.status.model_copy(update={"next_check_at": T0 + timedelta(minutes=15), "attempts": 5,
                                                 "last_checked_at": T0})
    assert not await store.write(item)
    assert api.patches == []
    clock.now += 301
    assert await store.write(item)
    assert [set(patch) for patch in api.patches] == [{"nextCheckAt", "attempts", "lastCheckedAt"}]


async def test_the_registry_marks_a_resource_it_starts_from_a_watch_event_as_loaded() -> None:
    from tendlc.controller.reconcile import PassResult
    from tendlc.controller.registry import Registry

    class Idle:
        async def run(self, target: Resource) -> PassResult:
            return PassResult(None, None)

    clock = Clock()
    clock.now = 86_400.0
    store = StatusStore(InMemoryStatusApi(), refresh_seconds=300, monotonic=clock)
    registry = Registry(Idle(), store, WebhookInbox(clock=lambda: T0), lambda body, event: None)  # type: ignore[arg-type]
    registry.on_watch_event(None, {"metadata": {"namespace": "ns", "name": "m", "uid": "u1", "resourceVersion": "3"},
                                   "spec": {"campaignId": "COJD655"}, "status": {"phase": "InMigration"}})
    started = registry.resources[("ns", "m")]
    assert started.written_at == clock.now
    await registry.shutdown(1.0)
