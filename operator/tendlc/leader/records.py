"""The Lease record: timings, holder identities, and the objects the elector writes (pure values).

This room builds and reads `coordination.k8s.io/v1` Lease objects the way client-go's resource
lock does (`holderIdentity`, `leaseDurationSeconds`, `acquireTime`, `renewTime`,
`leaseTransitions`; fields it does not know are kept as read). Wall-clock times are written for
people (`kubectl get lease`) and never read back for a decision. No I/O, no clock of its own.
"""

from __future__ import annotations

import copy
import os
import socket
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

LEASE_DURATION = 15.0
RENEW_DEADLINE = 10.0
RETRY_PERIOD = 2.0
JITTER_FACTOR = 1.2
"""A candidate waits `retry_period * (1 + JITTER_FACTOR * random())` between attempts (client-go's
`wait.JitterUntil`), so replicas started together do not hit the API server in lock step."""


class LeaseApi(Protocol):
    """The three Lease calls the elector needs (tendlc.kube.KubeApi implements them)."""

    async def get_lease(self, namespace: str, name: str) -> dict[str, Any] | None: ...

    async def create_lease(self, namespace: str, lease: Mapping[str, Any]) -> dict[str, Any]: ...

    async def replace_lease(self, namespace: str, name: str, lease: Mapping[str, Any]) -> dict[str, Any]: ...


@dataclass(frozen=True)
class LeaseTimings:
    """How long a lease lasts, how long a holder keeps trying to renew it, how often anyone tries.

    Checked as client-go checks them: lease duration > renew deadline > 1.2 times the retry period > 0.
    The lease duration is written to the Lease in whole seconds (`leaseDurationSeconds`), so it
    must be a whole number of seconds.
    """

    lease_duration: float = LEASE_DURATION
    renew_deadline: float = RENEW_DEADLINE
    retry_period: float = RETRY_PERIOD

    def __post_init__(self) -> None:
        if not self.retry_period > 0:
            raise ValueError("retry_period must be positive")
        if not self.renew_deadline > JITTER_FACTOR * self.retry_period:
            raise ValueError(f"renew_deadline must be greater than {JITTER_FACTOR} times retry_period")
        if not self.lease_duration > self.renew_deadline:
            raise ValueError("lease_duration must be greater than renew_deadline")
        if self.lease_duration != int(self.lease_duration):
            raise ValueError("lease_duration must be a whole number of seconds (leaseDurationSeconds)")


DEFAULT_TIMINGS = LeaseTimings()


def process_identity(hostname: str | None = None) -> str:
    """A holder identity unique to this process: the Pod's name (HOSTNAME) plus a random suffix.

    The suffix (controller-runtime does the same) makes a restarted container a *new* candidate:
    it cannot mistake the lease its previous incarnation held for its own and renew it at once.
    """
    host = hostname or os.environ.get("POD_NAME") or os.environ.get("HOSTNAME") or socket.gethostname()
    return f"{host}_{uuid.uuid4().hex[:12]}"


def micro_time(moment: datetime) -> str:
    """A `metav1.MicroTime` as the API server writes it."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def spec_of(lease: Mapping[str, Any] | None) -> dict[str, Any]:
    spec = lease.get("spec") if lease is not None else None
    return dict(spec) if isinstance(spec, Mapping) else {}


def holder_of(lease: Mapping[str, Any] | None) -> str:
    """The holder identity; "" for a free lease (or none at all)."""
    holder = spec_of(lease).get("holderIdentity")
    return holder if isinstance(holder, str) else ""


def _count(value: object, default: int) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else default


def declared_duration(lease: Mapping[str, Any] | None, default: float) -> int:
    """The holder's own `leaseDurationSeconds` (honoured as client-go does), else ours."""
    return _count(spec_of(lease).get("leaseDurationSeconds"), int(default))


def new_lease(namespace: str, name: str, identity: str, timings: LeaseTimings, now: datetime) -> dict[str, Any]:
    """A Lease held by `identity` from `now`, for a create."""
    stamp = micro_time(now)
    return {
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "holderIdentity": identity,
            "leaseDurationSeconds": int(timings.lease_duration),
            "acquireTime": stamp,
            "renewTime": stamp,
            "leaseTransitions": 0,
        },
    }


def _copy(current: Mapping[str, Any]) -> dict[str, Any]:
    """`current` for a replace: same resourceVersion, without managedFields (the server keeps them)."""
    lease = copy.deepcopy(dict(current))
    metadata = lease.get("metadata")
    if isinstance(metadata, dict):
        metadata.pop("managedFields", None)
    return lease


def claimed(current: Mapping[str, Any], identity: str, timings: LeaseTimings, now: datetime) -> dict[str, Any]:
    """`current` with `identity` as holder: a renewal keeps acquireTime and the transition count,
    a takeover stamps acquireTime and counts one more transition."""
    lease = _copy(current)
    transitions = _count(spec_of(current).get("leaseTransitions"), 0)
    renewing = holder_of(current) == identity
    stamp = micro_time(now)
    spec = lease.setdefault("spec", {})
    spec["holderIdentity"] = identity
    spec["leaseDurationSeconds"] = int(timings.lease_duration)
    spec["renewTime"] = stamp
    if renewing:
        spec.setdefault("acquireTime", stamp)
        spec["leaseTransitions"] = transitions
    else:
        spec["acquireTime"] = stamp
        spec["leaseTransitions"] = transitions + 1
    return lease


def released(current: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    """`current` freed as client-go's release frees it: no holder, a one-second duration."""
    lease = _copy(current)
    stamp = micro_time(now)
    lease.setdefault("spec", {}).update(holderIdentity="", leaseDurationSeconds=1, acquireTime=stamp, renewTime=stamp)
    return lease
