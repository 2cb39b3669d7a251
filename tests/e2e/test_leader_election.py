"""Leader election against the real API server: electors in one process share one Lease.

Sampled every 20 ms: never two leaders at once, exactly one in steady state; a released lease is
taken over without waiting out the lease duration; a leader killed without releasing is replaced
only after the lease duration (and not before: that is the safety property). Short timings (lease
5 s, renew deadline 3 s, retry 0.5 s) keep the run to about fifteen seconds.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest

from support.cluster import Cluster
from tendlc.kube import KubeApi
from tendlc.leader import LeaderElector, LeaseTimings, process_identity

pytestmark = pytest.mark.e2e

TIMINGS = LeaseTimings(lease_duration=5, renew_deadline=3, retry_period=0.5)
LEASE = "tendlc-leader"
SAMPLE_EVERY = 0.02


@dataclass
class Replicas:
    namespace: str
    electors: dict[str, LeaderElector] = field(default_factory=dict)
    tasks: dict[str, asyncio.Task[None]] = field(default_factory=dict)
    apis: list[KubeApi] = field(default_factory=list)
    samples: list[tuple[float, tuple[str, ...]]] = field(default_factory=list)

    def start(self, label: str) -> LeaderElector:
        api = KubeApi()  # $KUBECONFIG from the cluster fixture, as the operator logs in
        self.apis.append(api)
        elector = LeaderElector(api, self.namespace, LEASE, process_identity(label), timings=TIMINGS)
        self.electors[label] = elector
        self.tasks[label] = asyncio.ensure_future(elector.run())
        return elector

    def leaders(self) -> tuple[str, ...]:
        return tuple(label for label, elector in self.electors.items() if elector.is_leader)

    async def sample(self) -> None:
        while True:
            self.samples.append((time.monotonic(), self.leaders()))
            await asyncio.sleep(SAMPLE_EVERY)

    async def until(self, predicate: object, within: float) -> float:
        """Seconds until `predicate()` holds (checked every sample)."""
        assert callable(predicate)
        started = time.monotonic()
        while not predicate():
            if time.monotonic() - started > within:
                raise AssertionError(f"not within {within} s; leaders: {self.leaders()}")
            await asyncio.sleep(SAMPLE_EVERY)
        return time.monotonic() - started

    def between(self, start: float, end: float) -> list[tuple[str, ...]]:
        return [leaders for moment, leaders in self.samples if start <= moment <= end]


@pytest.fixture
async def replicas(namespace: str) -> AsyncIterator[Replicas]:
    running = Replicas(namespace)
    yield running
    for task in running.tasks.values():
        task.cancel()
    await asyncio.gather(*running.tasks.values(), return_exceptions=True)
    for api in running.apis:
        await api.close()


async def test_one_leader_at_a_time_release_hands_over_fast_a_crash_after_the_lease_duration(
    cluster: Cluster, namespace: str, replicas: Replicas
) -> None:
    sampler = asyncio.ensure_future(replicas.sample())
    try:
        replicas.start("a")
        replicas.start("b")
        await replicas.until(lambda: len(replicas.leaders()) == 1, within=10)
        steady_from = time.monotonic()
        await asyncio.sleep(3.0)  # six retry periods of renewals
        [first] = replicas.leaders()
        assert set(replicas.between(steady_from, time.monotonic())) == {(first,)}
        lease = cluster.get_json("lease", LEASE, "-n", namespace)
        assert lease["spec"]["holderIdentity"] == replicas.electors[first].identity
        assert lease["spec"]["leaseDurationSeconds"] == 5

        # the leader releases: the other one takes over without waiting out the lease duration
        second = "b" if first == "a" else "a"
        assert await replicas.electors[first].release()
        released = time.monotonic()
        handover_after_release = await replicas.until(lambda: replicas.leaders() == (second,), within=10)
        assert handover_after_release < TIMINGS.lease_duration

        # a new replica joins; the leader's task is killed without releasing (a crash)
        replicas.start("c")
        await asyncio.sleep(1.0)  # c has read the Lease and is waiting for it
        assert replicas.leaders() == (second,)
        replicas.tasks[second].cancel()
        killed = time.monotonic()
        handover_after_crash = await replicas.until(
            lambda: replicas.leaders() == ("c",), within=3 * TIMINGS.lease_duration
        )
        # c may only take over once the record stood unchanged for the lease duration by its clock;
        # the killed leader's last renewal was at most a retry period (plus a request) before the kill
        assert handover_after_crash >= TIMINGS.lease_duration - TIMINGS.retry_period - 0.5
        steady_again = time.monotonic()
        await asyncio.sleep(1.0)
    finally:
        sampler.cancel()
        await asyncio.gather(sampler, return_exceptions=True)

    counts = [len(leaders) for _, leaders in replicas.samples]
    assert max(counts) == 1, "two leaders at once"
    assert set(replicas.between(released + handover_after_release + 0.05, killed)) == {(second,)}
    assert set(replicas.between(steady_again, time.monotonic())) == {("c",)}
    lease = cluster.get_json("lease", LEASE, "-n", namespace)
    assert lease["spec"]["holderIdentity"] == replicas.electors["c"].identity
    assert lease["spec"]["leaseTransitions"] == 2
    print(
        f"\nleader election: {len(counts)} samples, max leaders {max(counts)}; "
        f"handover after release {handover_after_release:.2f} s, after a crash {handover_after_crash:.2f} s "
        f"(lease {TIMINGS.lease_duration:g} s, retry {TIMINGS.retry_period:g} s)"
    )
