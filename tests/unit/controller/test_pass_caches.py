"""What a pass keeps between passes to save work: each must never hand back something stale."""

from __future__ import annotations

from datetime import UTC, datetime

from support.loop_driver import InMemoryStatusApi
from tendlc.api.status import MigrationStatus, Phase
from tendlc.controller.reconcile import spec_of_resource
from tendlc.controller.resource import Resource
from tendlc.controller.store import StatusStore

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
SPEC = {"campaignId": "COJD655", "numbers": ["12025550101"],
        "loaSecretRef": {"name": "loa", "documentKey": "loa.pdf", "signedDateKey": "signedDate"}}


def resource(spec: dict[str, object] | None = None) -> Resource:
    status = MigrationStatus()
    return Resource(namespace="ns", name="cojd655", uid="u1", body={"spec": spec or SPEC}, status=status,
                    written=status)


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


def test_a_spec_is_parsed_again_only_when_the_raw_spec_changed() -> None:
    item = resource()
    first = spec_of_resource(item, "OPMKT")
    item.body = {"spec": dict(SPEC), "metadata": {"resourceVersion": "2"}}  # an echo: another dict, same spec
    assert spec_of_resource(item, "OPMKT") is first
    item.body = {"spec": SPEC | {"numbers": ["12025550101", "12025550102"]}}
    edited = spec_of_resource(item, "OPMKT")
    assert list(edited.numbers) == ["12025550101", "12025550102"]
    assert first.upstream_cnp_id == edited.upstream_cnp_id == "OPMKT"
