"""`python -m bench.large_campaign`: one 35,000-number pooled campaign from a ConfigMap (issue 17).

Starts its own control plane, the sandbox at the partners' *documented* rate limits (scale 1; only
the partners' schedule is compressed, `--time-scale`), the operator as a process, and one
CampaignMigration whose numbers live in a labeled ConfigMap (`numbersFrom`, D62). It measures:

  time     import (350 requests of 100 at 1/s), registration, and adding the 34,800 numbers the
           migration could not carry (7 add-numbers requests of 5,000 at 1/s) — each against the
           minimum the documented limits allow;
  memory   the operator's RSS (before the resource, peak, after), and its CPU seconds;
  writes   the resource's status updates as its watchers receive them: one raw watch, the bytes of
           each event (what etcd stores and every watcher is sent per update), and the same status
           written on the same campaign with its 35,000 numbers inline, for comparison;
  calls    partner requests per endpoint from the sandbox's ledger (attempts, 429s).

Writes bench/results/<timestamp>-large-<N>.json. Everything runs on 127.0.0.1 and is stopped by PID.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

from bench.stack import NAMESPACE, Sampler, SandboxAdmin, Stack, run_and_save, log, machine
from tendlc_dev.devcluster import bin_dir

RESULTS = Path(__file__).resolve().parent / "results"
NAME = "large"
CONFIG_MAP = "large-numbers"
IMPORT_BATCH, ADD_BATCH, MIGRATED = 100, 5_000, 200
"""D1's import batch, the published add-numbers maximum, what a migrate carries (D3)."""


def _numbers(count: int) -> list[str]:
    return [f"1{6_000_000_000 + i:010d}" for i in range(count)]


def _resource(campaign_id: str, **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "tendlc.io/v1alpha1", "kind": "CampaignMigration",
            "metadata": {"name": NAME, "namespace": NAMESPACE},
            "spec": {"campaignId": campaign_id, "numberPoolId": "bench-pool", "loaSecretRef": {"name": "bench-loa"},
                     **spec}}


class RawWatch:
    """`kubectl get --raw …?watch=1` on one resource: the size of every event as the server sends it."""

    def __init__(self, stack: Stack, namespace: str, name: str) -> None:
        assert stack.cluster is not None
        path = (f"/apis/tendlc.io/v1alpha1/namespaces/{namespace}/campaignmigrations"
                f"?watch=1&fieldSelector=metadata.name%3D{name}")
        self.process = subprocess.Popen(
            [str(bin_dir() / "kubectl"), f"--kubeconfig={stack.cluster.kubeconfig}", "get", "--raw", path],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
        )
        self.events: list[tuple[float, str, int, dict[str, Any]]] = []
        self._thread = threading.Thread(target=self._read, daemon=True, name="bench-raw-watch")
        self._thread.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            event = json.loads(line)
            self.events.append((time.time(), event["type"], len(line), event["object"].get("status") or {}))

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(10)
        self._thread.join(5)


def _seconds(status: dict[str, Any], start: str, end: str) -> float | None:
    def at(key: str) -> dt.datetime | None:
        value = status
        for part in key.split("."):
            value = value.get(part) if isinstance(value, dict) else None  # type: ignore[assignment]
        return dt.datetime.fromisoformat(str(value).replace("Z", "+00:00")) if value else None

    first, last = at(start), at(end)
    return round((last - first).total_seconds(), 1) if first and last else None


def _inline_comparison(stack: Stack, status: dict[str, Any], numbers: list[str], campaign_id: str) -> dict[str, Any]:
    """The same campaign with its numbers inline, in a namespace no operator watches: one status write."""
    namespace = "bench-inline"
    assert stack.kube is not None
    stack.kube.ensure_namespace(namespace)
    inline = _resource(campaign_id, numbers=numbers)
    inline["metadata"]["namespace"] = namespace
    stack.kubectl("apply", "--server-side", "-f", "-", input=json.dumps(inline))
    watch = RawWatch(stack, namespace, NAME)
    time.sleep(1.0)
    kept = {k: v for k, v in status.items() if k not in ("conditions",)}
    stack.kube.patch_status(namespace, NAME, kept)
    deadline = time.monotonic() + 30
    while len(watch.events) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    watch.stop()
    stored = json.loads(stack.kubectl("get", "--raw",
                                      f"/apis/tendlc.io/v1alpha1/namespaces/{namespace}/campaignmigrations/{NAME}"))
    return {
        "objectBytes": len(json.dumps(stored, separators=(",", ":"))),
        "managedFieldsBytes": len(json.dumps(stored["metadata"].get("managedFields"), separators=(",", ":"))),
        "specBytes": len(json.dumps(stored["spec"], separators=(",", ":"))),
        "watchEventBytes": [size for _, _, size, _ in watch.events],
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    numbers = _numbers(args.numbers)
    campaign_id = "CBIG035"
    with Stack(keep_dir=args.keep) as stack:
        stack.start_cluster()
        assert stack.kube is not None
        stack.start_sandbox(["--time-scale", f"{args.time_scale:g}"])
        admin = SandboxAdmin(stack.sandbox_url)
        labels = {"tendlc.io/usage": "numbers"}
        config_map = {"apiVersion": "v1", "kind": "ConfigMap",
                      "metadata": {"name": CONFIG_MAP, "namespace": NAMESPACE, "labels": labels},
                      "data": {"numbers": "\n".join(numbers) + "\n"}}
        stack.kubectl("apply", "--server-side", "-f", "-", input=json.dumps(config_map))
        config_map_bytes = len(stack.kubectl("get", "--raw", f"/api/v1/namespaces/{NAMESPACE}/configmaps/{CONFIG_MAP}"))
        env = stack.operator_env(1.0, {
            "TENDLC_ABSENCE_WINDOW_SECONDS": f"{60 / args.time_scale:g}",
            "TENDLC_ADD_NUMBERS_ABSENCE_WINDOW_SECONDS": f"{600 / args.time_scale:g}",
            "TENDLC_BACKOFF_INITIAL_SECONDS": "1", "TENDLC_BACKOFF_MAX_SECONDS": "8",
            "TENDLC_LOG_LEVEL": "WARNING",
        })
        stack.start_operator(env)
        sampler = Sampler({"operator": stack.operator_pid()}).start()
        time.sleep(3)
        idle_rss = sampler.samples["operator"][-1][2]
        watch = RawWatch(stack, NAMESPACE, NAME)
        started = time.time()
        stack.kubectl("apply", "-f", "-", input=json.dumps(_resource(
            campaign_id, numbersFrom={"configMapKeyRef": {"name": CONFIG_MAP, "key": "numbers"}})))
        log(f"applied {NAME}: {len(numbers)} numbers from ConfigMap {CONFIG_MAP} ({config_map_bytes} bytes)")
        status: dict[str, Any] = {}
        deadline = started + args.timeout
        while time.time() < deadline:
            got = json.loads(stack.kubectl("get", "--raw", f"/apis/tendlc.io/v1alpha1/namespaces/{NAMESPACE}/"
                                           f"campaignmigrations/{NAME}"))
            status = got.get("status") or {}
            if status.get("phase") in ("Registered", "Failed"):
                break
            time.sleep(2)
        finished = time.time()
        time.sleep(2)
        watch.stop()
        sampler.stop()
        after_rss = sampler.samples["operator"][-1][2]
        ledger = admin.ledger()
        inline = _inline_comparison(stack, status, numbers, campaign_id)
    calls = Counter(entry["endpoint"] for entry in ledger)
    statuses = Counter(f"{entry['endpoint']} {entry['status']}" for entry in ledger)
    to_add = max(len(numbers) - MIGRATED, 0)
    updates = [size for _, kind, size, _ in watch.events if kind == "MODIFIED"]
    return {
        "timestamp": time.strftime("%Y%m%dT%H%M%S"),
        "numbers": len(numbers),
        "reached": status.get("phase") == "Registered",
        "phase": status.get("phase"),
        "wallSeconds": round(finished - started, 1),
        "time": {
            "applyToImported": round(_epoch(status.get("numbersImportedAt")) - started, 1),
            "importMinimumSeconds": -(-len(numbers) // IMPORT_BATCH) - 1,
            "importedToRegistered": _seconds(status, "numbersImportedAt", "registeredAt"),
            "registeredToAllNumbers": _seconds(status, "registeredAt", "numbers.completedAt"),
            "firstBatchToLastBatch": _seconds(status, "numbers.addStartedAt", "numbers.lastBatchAt"),
            "addMinimumSeconds": -(-to_add // ADD_BATCH) - 1,
            "addNumbersRequests": calls.get("infobip.add_numbers", 0),
        },
        "memory": {
            "operatorIdleRssMiB": round(idle_rss / 2**20, 1),
            "operatorPeakRssMiB": round(sampler.peak_rss("operator") / 2**20, 1),
            "operatorAfterRssMiB": round(after_rss / 2**20, 1),
            "operatorCpuSeconds": round(sampler.cpu_between("operator", started, finished), 1),
        },
        "writes": {
            "configMapBytes": config_map_bytes,
            "statusUpdates": len(updates),
            "watchEventBytesWithConfigMap": {"median": sorted(updates)[len(updates) // 2] if updates else None,
                                             "max": max(updates, default=None), "total": sum(updates)},
            "inline": inline,
        },
        "partnerCalls": dict(sorted(calls.items())),
        "partnerAnswers": dict(sorted(statuses.items())),
        "status": {key: status.get(key) for key in ("numbers", "numberCount", "registeredAt", "downtimeEndedAt")},
        "machine": machine(None),
    }


def _epoch(value: Any) -> float:
    return dt.datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp() if value else float("nan")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.large_campaign", description=__doc__.split("\n\n")[0])
    parser.add_argument("--numbers", type=int, default=35_000)
    parser.add_argument("--time-scale", type=float, default=600.0, help="sandbox seconds per real second")
    parser.add_argument("--timeout", type=float, default=1800.0)
    parser.add_argument("--keep", action="store_true", help="keep the temp dir (logs) after the run")
    args = parser.parse_args(argv)
    result = run_and_save(lambda: run(args), lambda r: f"{r['timestamp']}-large-{args.numbers}.json",
                          lambda r: json.dumps({k: r[k] for k in ("reached", "wallSeconds", "time", "memory")}, indent=1))
    if result is None:
        return 130
    return 0 if result["reached"] else 1


if __name__ == "__main__":
    sys.exit(main())
