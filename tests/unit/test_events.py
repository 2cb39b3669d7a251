"""Event posting: the manifest kubectl shows, retries of transient failures, drops of refusals, close."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from tendlc.events import MAX_MESSAGE_BYTES, EventPoster, event_manifest, shorten
from tendlc.kube import KubeApiError
from tendlc.workflow import Event

NOW = datetime(2026, 11, 27, 3, 0, 0, 123456, tzinfo=UTC)
BODY = {
    "apiVersion": "tendlc.io/v1alpha1",
    "kind": "CampaignMigration",
    "metadata": {"name": "cojd655", "namespace": "team-a", "uid": "u-1", "resourceVersion": "7"},
}


class Sink:
    def __init__(self, failures: list[KubeApiError] | None = None) -> None:
        self.failures = failures or []
        self.created: list[tuple[str, Mapping[str, Any]]] = []
        self.attempts = 0

    async def create_event(self, namespace: str, manifest: Mapping[str, Any]) -> None:
        self.attempts += 1
        if self.failures:
            raise self.failures.pop(0)
        self.created.append((namespace, manifest))


def test_the_manifest_names_the_object_and_is_stamped_when_it_happened() -> None:
    manifest = event_manifest(BODY, Event("Normal", "InMigration", "submitted"), NOW)
    assert manifest["metadata"] == {"namespace": "team-a", "generateName": "cojd655."}
    assert manifest["involvedObject"] == {
        "apiVersion": "tendlc.io/v1alpha1", "kind": "CampaignMigration", "name": "cojd655", "namespace": "team-a",
        "uid": "u-1", "resourceVersion": "7",
    }
    assert (manifest["type"], manifest["reason"], manifest["message"]) == ("Normal", "InMigration", "submitted")
    assert manifest["source"] == {"component": "tendlc"}
    assert manifest["firstTimestamp"] == manifest["lastTimestamp"] == "2026-11-27T03:00:00.123456+00:00"
    assert manifest["eventTime"] == "2026-11-27T03:00:00.123456Z"


def test_long_messages_keep_head_and_tail_within_the_limit() -> None:
    message = "A" * 700 + "B" * 700
    short = shorten(message)
    assert len(short.encode()) <= MAX_MESSAGE_BYTES
    assert short.startswith("AAA")
    assert short.endswith("BBB")
    assert "..." in short
    assert shorten("fine") == "fine"


async def test_a_transient_failure_is_retried_and_the_event_posted() -> None:
    sink = Sink([KubeApiError("connection refused"), KubeApiError("busy", status=503)])
    poster = EventPoster(sink, clock=lambda: NOW, retry_delays=(0.01, 0.01))
    poster.post(BODY, Event("Normal", "ImportingNumbers", "importing"))
    await poster.close(grace=2)
    assert sink.attempts == 3
    assert [m["reason"] for _, m in sink.created] == ["ImportingNumbers"]
    assert (poster.posted, poster.dropped) == (1, 0)


async def test_a_refusal_is_dropped_at_once_and_a_persistent_failure_after_the_retries() -> None:
    sink = Sink([KubeApiError("forbidden", status=403)] + [KubeApiError("down")] * 3)
    poster = EventPoster(sink, clock=lambda: NOW, retry_delays=(0.01, 0.01), workers=1)
    poster.post(BODY, Event("Warning", "LoaExpired", "renew the LOA"))
    poster.post(BODY, Event("Normal", "InMigration", "submitted"))
    await poster.close(grace=2)
    assert sink.attempts == 1 + 3
    assert sink.created == []
    assert poster.dropped == 2


async def test_post_never_blocks_and_close_flushes_the_queue() -> None:
    sink = Sink()
    poster = EventPoster(sink, clock=lambda: NOW, workers=2)
    for i in range(50):
        poster.post(BODY, Event("Normal", f"R{i}", "m"))
    assert sink.created == []  # nothing posted until the loop runs the workers
    await poster.close(grace=2)
    assert len(sink.created) == 50
    await asyncio.sleep(0)


def test_a_multibyte_message_is_cut_on_bytes_not_characters() -> None:
    short = shorten("é" * 800)  # 1,600 bytes
    assert len(short.encode()) <= MAX_MESSAGE_BYTES
    assert short.startswith("éé")
    assert short.endswith("éé")


async def test_an_unexpected_error_is_dropped_and_the_worker_lives_on() -> None:
    class Broken(Sink):
        async def create_event(self, namespace: str, manifest: Mapping[str, Any]) -> None:
            self.attempts += 1
            if self.attempts <= 3:
                raise RuntimeError("login failed in a way nobody planned for")
            self.created.append((namespace, manifest))

    sink = Broken()
    poster = EventPoster(sink, clock=lambda: NOW, retry_delays=(0.01, 0.01), workers=1)
    poster.post(BODY, Event("Normal", "A", "m"))
    poster.post(BODY, Event("Normal", "B", "m"))
    await poster.close(grace=2)
    assert [m["reason"] for _, m in sink.created] == ["B"]
    assert poster.dropped == 1


async def test_a_full_queue_drops_new_events_instead_of_growing(monkeypatch: Any) -> None:
    monkeypatch.setattr("tendlc.events.MAX_QUEUED", 3)
    poster = EventPoster(Sink(), clock=lambda: NOW, workers=1)
    for i in range(5):
        poster.post(BODY, Event("Warning", "ReconcileError", f"{i}"))
    assert poster.dropped == 2
    await poster.close(grace=2)
    assert poster.posted == 3
