"""What tests use to reach the cluster: the kubeconfig, the server URL and the built kubectl."""

from __future__ import annotations

import json
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Cluster:
    """How tests reach the cluster: the kubeconfig, the server URL and the built kubectl."""

    kubeconfig: Path
    server: str
    kubectl_path: str

    def kubectl(
        self, *args: str, input: str | None = None, check: bool = True, timeout: float = 60,
        kubeconfig: Path | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """Runs the real kubectl as a user would; raises with kubectl's stderr when `check`."""
        result = subprocess.run(
            [self.kubectl_path, f"--kubeconfig={kubeconfig or self.kubeconfig}", *args],
            input=input, capture_output=True, text=True, timeout=timeout, check=False,
        )
        if check and result.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} failed ({result.returncode}): {result.stderr}")
        return result

    def get_json(self, *args: str, **kwargs: Any) -> Any:
        return json.loads(self.kubectl("get", *args, "-o", "json", **kwargs).stdout)

    def wait_for(self, predicate: Any, *, timeout: float = 60, interval: float = 0.2, what: str = "") -> Any:
        """Polls `predicate()` until it returns a truthy value; fails with `what` after `timeout`."""
        deadline = time.monotonic() + timeout
        last: Any = None
        while time.monotonic() < deadline:
            last = predicate()
            if last:
                return last
            time.sleep(interval)
        raise AssertionError(f"timed out after {timeout} s waiting for {what or predicate}; last: {last!r}")


def request_counts(cluster: Cluster, resource: str) -> dict[tuple[str, str], int]:
    """kube-apiserver's own count of requests for one resource, by (verb, subresource)."""
    counts: dict[tuple[str, str], int] = {}
    for line in cluster.kubectl("get", "--raw", "/metrics").stdout.splitlines():
        if not line.startswith("apiserver_request_total{") or f'resource="{resource}"' not in line:
            continue
        labels = dict(part.split("=", 1) for part in line[line.index("{") + 1 : line.index("}")].split(","))
        key = (labels["verb"].strip('"'), labels["subresource"].strip('"'))
        counts[key] = counts.get(key, 0) + int(float(line.rsplit(" ", 1)[1]))
    return counts


def writes_between(before: dict[tuple[str, str], int], after: dict[tuple[str, str], int]) -> dict[str, int]:
    """Updates (PUT/PATCH) in `after` but not in `before`, keyed "VERB[/subresource]".

    Creates and deletes are left out: the test makes those itself, and the namespace controller
    deletes objects of other tests' namespaces meanwhile (the server's counters are cluster-wide).
    """
    writes: dict[str, int] = {}
    for (verb, subresource), count in after.items():
        delta = count - before.get((verb, subresource), 0)
        if verb in {"PUT", "PATCH"} and delta:
            writes[verb + (f"/{subresource}" if subresource else "")] = delta
    return writes
