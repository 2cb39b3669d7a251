"""LeaderElector against an in-memory Lease API in virtual time: acquire, renew, lose, respect, take over,
release, and exactly one leader when candidates race. Requests are counted as received (attempts)."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

import pytest

from support.leader_fakes import MemoryLeases, VirtualTime
from tendlc.leader import LeaderElector, LeaseTimings, process_identity

NAMESPACE, NAME = "ops", "tendlc"


@dataclass
class Harness:
    time: VirtualTime
    leases: MemoryLeases
    electors: list[LeaderElector] = field(default_factory=list)
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    changes: list[tuple[str, str, float]] = field(default_factory=list)

    def elector(self, identity: str, *, jitter: Callable[[], float] = lambda: 0.0) -> LeaderElector:
        elector = LeaderElector(
            self.leases, NAMESPACE, NAME, identity, clock=self.time.clock, wall_clock=self.time.wall,
            sleep=self.time.sleep, jitter=jitter,
            on_started_leading=lambda: self.changes.append((identity, "started", self.time.now)),
            on_stopped_leading=lambda: self.changes.append((identity, "stopped", self.time.now)),
        )
        self.electors.append(elector)
        return elector

    def start(self, elector: LeaderElector) -> asyncio.Task[None]:
        task = asyncio.ensure_future(elector.run())
        self.tasks.append(task)
        return task

    def leaders(self) -> list[str]:
        return [elector.identity for elector in self.electors if elector.is_leader]


@pytest.fixture
async def harness() -> AsyncIterator[Harness]:
    time = VirtualTime()
    running = Harness(time, MemoryLeases(time))
    yield running
    for task in running.tasks:
        task.cancel()
    await asyncio.gather(*running.tasks, return_exceptions=True)


def at_most_one_leader(harness: Harness, samples: list[int]) -> Callable[[], None]:
    def check() -> None:
        leaders = harness.leaders()
        assert len(leaders) <= 1, f"two leaders at t={harness.time.now}: {leaders}"
        samples.append(len(leaders))
    return check


async def test_a_free_lease_is_created_and_held(harness: Harness) -> None:
    a = harness.elector("a")
    harness.start(a)
    await harness.time.advance(0)
    assert a.is_leader
    assert a.leading.is_set()
    assert not a.not_leading.is_set()
    spec = harness.leases.spec()
    assert spec["holderIdentity"] == "a"
    assert spec["leaseDurationSeconds"] == 15
    assert spec["leaseTransitions"] == 0
    assert spec["acquireTime"] == spec["renewTime"] == "2026-01-01T00:01:40.000000Z"
    assert harness.changes == [("a", "started", 100.0)]
    assert harness.leases.requests == {"get": 1, "create": 1}


async def test_the_holder_renews_every_retry_period_with_one_update_each(harness: Harness) -> None:
    a = harness.elector("a")
    harness.start(a)
    await harness.time.advance(0)
    first = dict(harness.leases.spec())
    for _ in range(30):
        await harness.time.advance(1.0)
        assert a.is_leader
    spec = harness.leases.spec()
    assert spec["renewTime"] == "2026-01-01T00:02:10.000000Z"  # renewed at t=130
    assert spec["acquireTime"] == first["acquireTime"]
    assert spec["leaseTransitions"] == 0
    # 15 renewals in 30 s, each a single conditional PUT (no read first: the fast path)
    assert harness.leases.requests == {"get": 1, "create": 1, "update": 15}
    assert harness.changes == [("a", "started", 100.0)]


async def test_a_holder_that_cannot_renew_stops_leading_at_the_renew_deadline(harness: Harness) -> None:
    a = harness.elector("a")
    harness.start(a)
    await harness.time.advance(0)  # renewed at 100 (the create)
    await harness.time.advance(4.0)  # renewed at 102 and 104
    harness.leases.failing = True
    await harness.time.advance(9.9)  # 113.9: the last success started at 104
    assert a.is_leader
    attempts_before = harness.leases.requests["update"] + harness.leases.requests["get"]
    await harness.time.advance(0.1)  # 114.0 = 104 + renew deadline
    assert not a.is_leader
    assert not a.leading.is_set()
    assert a.not_leading.is_set()
    assert harness.changes == [("a", "started", 100.0), ("a", "stopped", 114.0)]
    assert harness.leases.requests["update"] + harness.leases.requests["get"] > attempts_before - 1
    # it keeps campaigning, and the record still names it: back as soon as the API answers
    harness.leases.failing = False
    await harness.time.advance(2.0)
    assert a.is_leader
    assert harness.leases.spec()["leaseTransitions"] == 0


async def test_leadership_is_counted_from_when_a_renewal_started_not_when_it_was_answered(
    harness: Harness,
) -> None:
    a = harness.elector("a")
    harness.start(a)
    await harness.time.advance(0)
    harness.leases.latency = lambda: 3.0  # the renewal sent at 102 is answered (successfully) at 105
    await harness.time.advance(5.0)
    assert a.is_leader
    assert harness.leases.requests["update"] == 1
    harness.leases.latency, harness.leases.failing = (lambda: 0.0), True
    await harness.time.advance(6.9)  # 111.9
    assert a.is_leader
    await harness.time.advance(0.1)  # 112 = 102 + renew deadline (the answer came at 105)
    assert not a.is_leader


async def test_a_renewal_hung_on_the_wire_does_not_extend_leadership(harness: Harness) -> None:
    a = harness.elector("a")
    harness.start(a)
    await harness.time.advance(2.0)  # last success started at 102
    harness.leases.hanging = True
    await harness.time.advance(9.99)
    assert a.is_leader
    await harness.time.advance(0.01)
    assert not a.is_leader  # by the clock alone, the request still unanswered
    assert harness.changes[-1] == ("a", "stopped", 112.0)
    harness.leases.release_hanging()


async def test_another_holders_lease_is_respected_while_it_keeps_changing(harness: Harness) -> None:
    harness.leases.put({"holderIdentity": "other", "leaseDurationSeconds": 15, "renewTime": "1999-01-01T00:00:00Z"})
    b = harness.elector("b")
    harness.start(b)
    for second in range(60):
        if second % 5 == 0:  # the other holder renews every 5 s (its renewTime is irrelevant to us)
            harness.leases.put(harness.leases.spec() | {"renewTime": f"1999-01-01T00:00:{second:02d}Z"})
        await harness.time.advance(1.0)
        assert not b.is_leader
    assert harness.leases.spec()["holderIdentity"] == "other"
    assert harness.leases.requests["update"] == 0
    assert harness.leases.requests["create"] == 0
    assert b.holder == "other"


async def test_an_expired_lease_is_taken_over_after_its_duration_by_our_clock(harness: Harness) -> None:
    # renewTime far in the future: a candidate comparing wall clocks would wait for ever
    harness.leases.put({"holderIdentity": "crashed", "leaseDurationSeconds": 15,
                        "renewTime": "2099-01-01T00:00:00.000000Z", "leaseTransitions": 3})
    b = harness.elector("b")
    harness.start(b)
    await harness.time.advance(14.0)  # first seen at 100, unchanged since: still valid until 115
    assert not b.is_leader
    assert harness.leases.requests["update"] == 0
    await harness.time.advance(2.0)  # the attempt at 116
    assert b.is_leader
    spec = harness.leases.spec()
    assert spec["holderIdentity"] == "b"
    assert spec["leaseTransitions"] == 4
    assert spec["renewTime"] == spec["acquireTime"] == "2026-01-01T00:01:56.000000Z"


async def test_the_holders_own_lease_duration_is_honoured(harness: Harness) -> None:
    harness.leases.put({"holderIdentity": "slow", "leaseDurationSeconds": 40})
    b = harness.elector("b")
    harness.start(b)
    await harness.time.advance(38.0)
    assert not b.is_leader
    await harness.time.advance(4.0)
    assert b.is_leader


async def test_release_frees_the_lease_and_a_successor_takes_over_within_a_retry_period(harness: Harness) -> None:
    a, b = harness.elector("a"), harness.elector("b")
    harness.start(a)
    await harness.time.advance(0)
    harness.start(b)
    await harness.time.advance(5.0)
    assert a.is_leader
    assert not b.is_leader
    assert await a.release()
    released_at = harness.time.now
    spec = harness.leases.spec()
    assert spec["holderIdentity"] == ""
    assert spec["leaseDurationSeconds"] == 1
    assert not a.is_leader
    assert a.not_leading.is_set()
    samples: list[int] = []
    harness.time.on_tick = at_most_one_leader(harness, samples)
    while not b.is_leader:
        await harness.time.advance(0.1)
    assert harness.time.now - released_at <= b.timings.retry_period + 0.1
    assert harness.leases.spec()["leaseTransitions"] == 1
    await harness.time.advance(30.0)
    assert harness.leaders() == ["b"]  # a's loop ended with the release: it does not campaign again
    assert ("a", "stopped", released_at) in harness.changes


async def test_release_by_a_non_holder_writes_nothing(harness: Harness) -> None:
    harness.leases.put({"holderIdentity": "other", "leaseDurationSeconds": 15})
    b = harness.elector("b")
    harness.start(b)
    await harness.time.advance(3.0)
    assert await b.release()
    assert harness.leases.requests["update"] == 0
    assert harness.leases.spec()["holderIdentity"] == "other"


async def test_cancelling_the_loop_stops_leading_without_releasing(harness: Harness) -> None:
    a = harness.elector("a")
    task = harness.start(a)
    await harness.time.advance(3.0)
    updates = harness.leases.requests["update"]
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    assert not a.is_leader
    assert harness.leases.spec()["holderIdentity"] == "a"  # a crash: successors wait out the duration
    assert harness.leases.requests["update"] == updates


async def test_a_write_by_someone_else_is_re_read_not_overwritten(harness: Harness) -> None:
    a = harness.elector("a")
    harness.start(a)
    await harness.time.advance(1.0)
    # kubectl annotates the Lease: the holder's next fast-path PUT conflicts, it reads, renews
    lease = harness.leases.objects[(NAMESPACE, NAME)]
    lease["metadata"]["annotations"] = {"note": "hello"}
    lease["metadata"]["resourceVersion"] = "999"
    await harness.time.advance(1.0)
    assert a.is_leader
    assert harness.leases.objects[(NAMESPACE, NAME)]["metadata"]["annotations"] == {"note": "hello"}
    assert harness.leases.requests["get"] == 2  # the first read, and the one after the conflict


async def test_a_holder_that_finds_another_holder_stops_leading_at_once(harness: Harness) -> None:
    a = harness.elector("a")
    harness.start(a)
    await harness.time.advance(1.0)
    harness.leases.put(harness.leases.spec() | {"holderIdentity": "usurper"})
    await harness.time.advance(1.0)
    assert not a.is_leader
    assert harness.changes[-1] == ("a", "stopped", 102.0)


async def test_candidates_racing_for_a_free_lease_elect_exactly_one(harness: Harness) -> None:
    electors = [harness.elector(name) for name in ("a", "b", "c")]
    for elector in electors:
        harness.start(elector)
    samples: list[int] = []
    harness.time.on_tick = at_most_one_leader(harness, samples)
    await harness.time.advance(0)
    assert len(harness.leaders()) == 1
    assert harness.leases.requests["create"] == 3  # all three tried; two got 409
    for _ in range(60):
        await harness.time.advance(1.0)
        assert len(harness.leaders()) == 1
    assert harness.leases.spec()["leaseTransitions"] == 0


async def test_candidates_racing_for_an_expired_lease_elect_exactly_one(harness: Harness) -> None:
    harness.leases.put({"holderIdentity": "gone", "leaseDurationSeconds": 15, "leaseTransitions": 0})
    for name in ("a", "b", "c"):
        harness.start(harness.elector(name))
    samples: list[int] = []
    harness.time.on_tick = at_most_one_leader(harness, samples)
    await harness.time.advance(16.0)
    assert len(harness.leaders()) == 1
    assert harness.leases.spec()["leaseTransitions"] == 1  # one takeover, not three


async def test_never_two_leaders_under_failures_latency_and_crashes(harness: Harness) -> None:
    """Three replicas, an API that fails a third of the time and answers in 0 to 4 s, and a leader
    killed now and then: at every wake-up of virtual time at most one `is_leader` is true."""
    chance = random.Random(13)
    harness.leases.latency = lambda: chance.uniform(0, 4)
    samples: list[int] = []
    harness.time.on_tick = at_most_one_leader(harness, samples)
    names = iter(f"replica-{n}" for n in range(100))
    running = {harness.start(harness.elector(next(names), jitter=chance.random)) for _ in range(3)}
    for step in range(400):
        harness.leases.failing = chance.random() < 0.33
        await harness.time.advance(0.5)
        if step % 80 == 79:  # kill the leader's task (no release); a new replica starts
            for elector, task in zip(harness.electors, harness.tasks, strict=True):
                if elector.is_leader and task in running:
                    task.cancel()
                    running.discard(task)
            running.add(harness.start(harness.elector(next(names), jitter=chance.random)))
    assert max(samples) == 1
    assert samples.count(1) > len(samples) // 3  # and somebody led much of the time


def test_timings_are_checked_as_client_go_checks_them() -> None:
    assert LeaseTimings() == LeaseTimings(15.0, 10.0, 2.0)
    with pytest.raises(ValueError, match="lease_duration must be greater"):
        LeaseTimings(lease_duration=10, renew_deadline=10)
    with pytest.raises(ValueError, match=r"1\.2 times"):
        LeaseTimings(renew_deadline=2.4, retry_period=2)
    with pytest.raises(ValueError, match="whole number"):
        LeaseTimings(lease_duration=15.5)
    with pytest.raises(ValueError, match="positive"):
        LeaseTimings(retry_period=0)


def test_identities_are_unique_per_process_start() -> None:
    first, second = process_identity("tendlc-7d9f-abcde"), process_identity("tendlc-7d9f-abcde")
    assert first.startswith("tendlc-7d9f-abcde_")
    assert first != second
