"""The base of a status merge patch: what the server holds now, whoever wrote it last."""

from __future__ import annotations

from datetime import UTC, datetime

from support.loop_driver import InMemoryStatusApi
from tendlc.api.status import MigrationStatus, Phase
from tendlc.controller.resource import Resource
from tendlc.controller.store import StatusStore

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def resource() -> Resource:
    status = MigrationStatus()
    return Resource(namespace="ns", name="cojd655", uid="u1", body={"spec": {"campaignId": "COJD655"}},
                    status=status, written=status)


async def test_the_next_patch_is_against_the_status_written_last_even_when_another_writer_replaced_it() -> None:
    api = InMemoryStatusApi()
    store = StatusStore(api, refresh_seconds=0)
    item = resource()
    item.status = MigrationStatus(phase=Phase.IMPORTING_NUMBERS)
    assert await store.write(item)
    # Another writer's status adopted (as Resource.adopt_foreign or StatusStore.reload do): it is the base now.
    theirs = MigrationStatus(phase=Phase.IN_MIGRATION, infobip_campaign_id="uuid-1")
    item.status = item.written = theirs
    item.status = theirs.model_copy(update={"attempts": 2})
    assert await store.write(item)
    assert api.patches[-1] == {"attempts": 2}
    item.status = item.status.model_copy(update={"next_check_at": T0})
    assert await store.write(item)
    assert api.patches[-1] == {"nextCheckAt": "2026-11-20T09:00:00Z"}
