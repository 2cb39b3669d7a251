"""How the operator uses Kopf: only watch-event handlers, so nothing needs Kopf's diff base.

`tendlc.handlers.NoDiffBase` skips building the diff base of every event; that is only right
while no change-detecting (create/update/resume/delete/field) or spawning (daemon/timer) handler
exists. Registering one must fail here, not silently see every change as "no change".
"""

from __future__ import annotations

import kopf

from tendlc import handlers
from tendlc.api.constants import GROUP, PLURAL, VERSION, WAVE_PLURAL


def resources() -> list[kopf.Resource]:
    return [kopf.Resource(GROUP, VERSION, plural, namespaced=True) for plural in (PLURAL, WAVE_PLURAL)]


def test_only_watch_event_handlers_are_registered() -> None:
    registry = kopf.get_default_registry()
    for resource in resources():
        assert registry._watching.has_handlers(resource=resource)
        assert not registry._changing.has_handlers(resource=resource)
        assert not registry._spawning.has_handlers(resource=resource)


def test_the_diff_base_is_empty_and_never_stored() -> None:
    body = kopf.Body({"metadata": {"name": "x", "annotations": {"a": "b"}}, "spec": {"k": 1}, "status": {"s": 2}})
    storage = handlers.NoDiffBase()
    assert storage.build(body=body) == {}
    assert storage.fetch(body=body) is None
    patch = kopf.Patch()
    storage.store(body=body, patch=patch, essence=kopf.BodyEssence())
    assert not patch
