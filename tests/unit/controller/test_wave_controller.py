"""The wave controller's own rules: what it counts of a member, and when it plans first."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from tendlc.api.status import MigrationStatus, Phase
from tendlc.controller.resource import Resource
from tendlc.controller.waves import WaveController, member_view

T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def member(spec: dict[str, Any] | None = None, **status: Any) -> Resource:
    state = MigrationStatus.model_validate(status)
    body = {"metadata": {"namespace": "ns", "name": "m1", "uid": "u1",
                         "creationTimestamp": "2026-12-01T11:00:00Z"}, "spec": spec or {}}
    return Resource(namespace="ns", name="m1", uid="u1", body=body, status=state, written=state)


def test_a_registered_member_whose_traffic_is_not_switched_is_not_final() -> None:
    """Its downtime goes on: it keeps its place in flight, and a canary is not passed by it."""
    routing = {"cutover": {"configMap": {"name": "routing"}}}
    assert member_view(member(phase=Phase.REGISTERED)).registered
    assert not member_view(member(routing, phase=Phase.REGISTERED)).registered
    assert not member_view(member(phase=Phase.REGISTERED), wave_cutover=True).final
    switched = member(routing, phase=Phase.REGISTERED, traffic_switched_at=T0)
    assert member_view(switched).registered


class _Api:
    def __init__(self) -> None:
        self.patches: list[dict[str, Any]] = []

    async def patch_status(self, namespace: str, name: str, status: dict[str, Any], *,
                           resource_version: str | None = None, plural: str = "") -> dict[str, Any]:
        self.patches.append(status)
        return {"metadata": {"resourceVersion": str(len(self.patches))}}

    async def read_object(self, namespace: str, name: str, plural: str = "") -> dict[str, Any]:
        raise AssertionError("no conflict expected")


async def test_the_first_plan_waits_for_the_members_listed_at_start_up() -> None:
    """A plan made before the members arrived would say Pending (0 members) of a Complete wave."""
    pending = {"ns": True}
    api = _Api()
    waves = WaveController(api, lambda namespace: [], lambda resource: None, lambda body, event: None,
                           clock=lambda: T0, loa_max_age=timedelta(days=30), min_interval=0.0,
                           members_pending=lambda namespace: pending[namespace], first_pass_wait=30.0)
    waves.on_watch_event(None, {"metadata": {"namespace": "ns", "name": "w", "uid": "w1", "generation": 1,
                                             "resourceVersion": "1"},
                                "spec": {"selector": {"matchLabels": {"tendlc.io/wave": "w"}}}})
    await asyncio.sleep(0.3)
    assert api.patches == []
    pending["ns"] = False
    for _ in range(50):
        if api.patches:
            break
        await asyncio.sleep(0.05)
    assert api.patches, "the wave planned once its members were listed"
    await waves.shutdown(1.0)


def test_the_wave_looks_again_when_a_member_is_switched_not_only_when_its_phase_changes() -> None:
    """The demo's canary stayed "registered 0" after its cut-over: the phase had not changed."""
    from tendlc.controller.waves import wave_sees_change

    registered = MigrationStatus.model_validate({"phase": Phase.REGISTERED})
    switched = registered.model_copy(update={"traffic_switched_at": T0})
    assert wave_sees_change(registered, switched)
    assert not wave_sees_change(switched, switched.model_copy(update={"attempts": 3}))
