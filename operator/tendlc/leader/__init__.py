"""Leader election by a `coordination.k8s.io/v1` Lease, the way client-go's `tools/leaderelection` does it.

This room answers one question for the rest of the operator: *may this replica act now?* A
candidate takes the Lease when it is free or when the holder's record has not changed for the
holder's lease duration *as measured by our own monotonic clock since we last saw it change*
(wall-clock timestamps in the Lease are written for people and never compared across machines);
the holder renews every retry period and gives up when no renewal has succeeded within the renew
deadline. Every write carries the resourceVersion it read, so a 409 means "somebody else wrote
first": re-read and decide again, never overwrite. `is_leader` is true only while this replica's
last successful renewal *started* less than the renew deadline ago, which ends our leadership at
least `lease_duration - renew_deadline` before any other candidate can take over — that margin is
what tolerates clock-rate differences and slow requests. It does not fence partner calls by
itself: callers check `is_leader` right before each one (a call already on the wire when the
lease is lost cannot be recalled). It makes no partner calls, reads no Secrets and imports no Kopf.

RBAC: in the Lease's namespace only, `get`, `create` and `update` on `leases` in the API group
`coordination.k8s.io` (a Role, not a ClusterRole). `get` and `update` can be restricted with
`resourceNames: [<lease name>]`; `create` cannot be (the name is not known to RBAC before the
object exists), so it needs a rule of its own without `resourceNames`. No `watch`, `list`, `patch`
or `delete` is used.

Defaults are client-go's and controller-runtime's: lease duration 15 s, renew deadline 10 s,
retry period 2 s; candidates retry every retry period plus up to 1.2 times it at random.
`records` builds the Lease objects (pure), `elector` runs the loop.
"""

from tendlc.leader.elector import LeaderElector
from tendlc.leader.records import (
    JITTER_FACTOR,
    LEASE_DURATION,
    RENEW_DEADLINE,
    RETRY_PERIOD,
    LeaseApi,
    LeaseTimings,
    process_identity,
)

__all__ = [
    "JITTER_FACTOR",
    "LEASE_DURATION",
    "RENEW_DEADLINE",
    "RETRY_PERIOD",
    "LeaderElector",
    "LeaseApi",
    "LeaseTimings",
    "process_identity",
]
