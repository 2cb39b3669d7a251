"""`make demo`: the whole product on one machine, in about two minutes.

Starts a local control plane (`tendlc_dev.devcluster`), the Infobip/TCR sandbox (time compressed so
partner-side steps of minutes take seconds), installs the CRDs from the Helm chart, runs the
operator as its own process, applies the three campaigns in `examples/` and the fleet in
`examples/wave/` (ten campaigns, a canary, a maintenance window that opens a few seconds later, one
member Infobip rejects, the traffic switched through a routing ConfigMap), and shows their progress
until each reaches a final phase and the wave is Complete. It plays the customer for the own-NNID
campaign (updates the OSR in the sandbox and annotates the resource). Then it prints what to try
next and keeps everything running until Ctrl-C, when it stops exactly what it started.
`--exit-when-done` stops right after (for tests).

Development tooling shipped with the product; the operator never imports it.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx
import yaml

from tendlc_dev.devcluster import REPO_ROOT, DevCluster, bin_dir, free_port

EXAMPLES = REPO_ROOT / "examples"
WAVE_EXAMPLES = EXAMPLES / "wave"
WAVE = "spring"
ROUTING = "sms-routing"
WINDOW_DELAY_SECONDS = 10.0
"""The demo's window opens this long after the wave is applied: members import and elect meanwhile."""
CHART = REPO_ROOT / "helm" / "tendlc"
FINAL_PHASES = {"Registered", "Failed"}
NAMESPACE = "default"


class Demo:
    def __init__(self, state_dir: Path, time_scale: float) -> None:
        self.state_dir = state_dir
        self.time_scale = time_scale
        self.cluster = DevCluster(state_dir / "cluster")
        self.processes: list[subprocess.Popen[bytes]] = []
        self.sandbox_url = ""
        self.started = time.monotonic()

    def say(self, message: str) -> None:
        print(f"[{time.monotonic() - self.started:5.1f}s] {message}", flush=True)

    def kubectl(self, *args: str, input: str | None = None, check: bool = True) -> str:
        result = subprocess.run(
            [str(bin_dir() / "kubectl"), f"--kubeconfig={self.cluster.kubeconfig}", *args],
            input=input, capture_output=True, text=True, check=False,
        )
        if check and result.returncode != 0:
            raise RuntimeError(f"kubectl {' '.join(args)}: {result.stderr.strip()}")
        return result.stdout

    def _spawn(self, name: str, args: list[str], env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
        log = (self.state_dir / f"{name}.log").open("ab")
        process = subprocess.Popen(
            args, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            env={**os.environ, **(env or {})}, start_new_session=True,
        )
        self.processes.append(process)
        return process

    def start(self) -> None:
        if self.cluster.state_file.exists():  # a previous demo that was killed: stop what it left
            DevCluster.attach(self.cluster.directory).stop()
        shutil.rmtree(self.cluster.directory, ignore_errors=True)
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.say("starting the control plane (etcd, kube-apiserver, kube-controller-manager)…")
        self.cluster.start()
        self.say(f"control plane up at {self.cluster.server}")
        port = free_port()
        self.sandbox_url = f"http://127.0.0.1:{port}"
        self._spawn("sandbox", [sys.executable, "-m", "tendlc_dev.sandbox", "--port", str(port),
                                "--time-scale", str(self.time_scale)])
        self._wait_http(f"{self.sandbox_url}/_admin/health", "sandbox")
        self.say(f"Infobip/TCR sandbox up at {self.sandbox_url} (time compressed {self.time_scale:g} times)")
        # The chart's crds/ folder, exactly what `helm install` creates (and `helm show crds` prints);
        # read directly so that the demo needs no helm binary.
        crds = "\n".join(path.read_text() for path in sorted((CHART / "crds").glob("*.yaml")))
        self.kubectl("apply", "--server-side", "-f", "-", input=crds)
        for crd in ("campaignmigrations.tendlc.io", "migrationwaves.tendlc.io"):
            self.kubectl("wait", "--for=condition=Established", f"crd/{crd}", "--timeout=60s")
        self.say("CampaignMigration and MigrationWave CRDs installed from the Helm chart's crds/ folder")
        self._partner_secrets()
        self._spawn("operator", [sys.executable, "-m", "tendlc"], env={
            "KUBECONFIG": str(self.cluster.kubeconfig),
            "TENDLC_INFOBIP_BASE_URL": f"{self.sandbox_url}/infobip",
            "TENDLC_TCR_BASE_URL": f"{self.sandbox_url}/tcr/v2",
            "TENDLC_ALLOWED_PARTNER_HOSTS": json.dumps([self.sandbox_url]),
            "TENDLC_INFOBIP_CREDENTIALS_SECRET__NAME": "infobip-credentials",
            "TENDLC_TCR_CREDENTIALS_SECRET__NAME": "tcr-credentials",
            "TENDLC_OPERATOR_NAMESPACE": NAMESPACE,
            "TENDLC_BACKOFF_INITIAL_SECONDS": "1",
            "TENDLC_BACKOFF_MAX_SECONDS": "5",
            # The D24 search window, scaled like the sandbox's compressed time (60 s at real speed).
            "TENDLC_ABSENCE_WINDOW_SECONDS": f"{60 / self.time_scale:g}",
            "TENDLC_RECHECK_PARKED_SECONDS": "5",
            "TENDLC_LIVENESS_PORT": str(free_port()),
            "TENDLC_BIND_ADDRESS": "127.0.0.1",
            "TENDLC_METRICS_PORT": str(free_port()),
            "TENDLC_WEBHOOK_PORT": "0",
        })
        self.say(f"operator started (log: {self.state_dir / 'operator.log'})")

    def _partner_secrets(self) -> None:
        for name, values in (
            ("infobip-credentials", {"apiKey": "sandbox-infobip-key"}),
            ("tcr-credentials", {"apiKey": "sandbox-tcr-key", "apiSecret": "sandbox-tcr-secret"}),
        ):
            self._apply_secret(name, values)

    def _apply_secret(self, name: str, values: dict[str, str], usage: str | None = None) -> None:
        metadata: dict[str, Any] = {"name": name, "namespace": NAMESPACE}
        if usage is not None:  # the opt-in a tenant's Secret needs (docs/security.md)
            metadata["labels"] = {"tendlc.io/usage": usage}
        secret = {"apiVersion": "v1", "kind": "Secret", "metadata": metadata, "stringData": values}
        self.kubectl("apply", "-f", "-", input=json.dumps(secret))

    def _wait_http(self, url: str, what: str, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if httpx.get(url, timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)  # start-up polling in tooling, not in the operator
        raise RuntimeError(f"{what} did not come up; see {self.state_dir}")

    def apply_examples(self) -> list[str]:
        names: list[str] = []
        today = dt.date.today().isoformat()
        for manifest in sorted(EXAMPLES.glob("*.yaml")):
            document: dict[str, Any] = yaml.safe_load(manifest.read_text())
            secret_name = document["spec"]["loaSecretRef"]["name"]
            self._apply_secret(secret_name, {"loa.pdf": "%PDF-1.7 (demo) signed LOA", "signedDate": today}, usage="loa")
            self.kubectl("apply", "-n", NAMESPACE, "-f", str(manifest))
            names.append(document["metadata"]["name"])
            self.say(f"applied {manifest.relative_to(REPO_ROOT)} (LOA Secret {secret_name}, signed {today})")
        return names

    def apply_wave(self) -> list[str]:
        """The fleet of examples/wave/: its routing table, its members' LOA Secrets, the wave (its
        first window moved to open WINDOW_DELAY_SECONDS from now), then the members."""
        today = dt.date.today().isoformat()
        self.kubectl("apply", "-n", NAMESPACE, "-f", str(WAVE_EXAMPLES / "00-routing.yaml"))
        wave: dict[str, Any] = yaml.safe_load((WAVE_EXAMPLES / "01-wave.yaml").read_text())
        opens = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=WINDOW_DELAY_SECONDS)
        wave["spec"]["windows"][0] = {"start": _rfc3339(opens), "end": _rfc3339(opens + dt.timedelta(hours=1))}
        self.kubectl("apply", "-n", NAMESPACE, "-f", "-", input=json.dumps(wave))
        members = list(yaml.safe_load_all((WAVE_EXAMPLES / "02-campaigns.yaml").read_text()))
        for member in members:
            secret = member["spec"]["loaSecretRef"]["name"]
            self._apply_secret(secret, {"loa.pdf": "%PDF-1.7 (demo) signed LOA", "signedDate": today}, usage="loa")
        self.kubectl("apply", "-n", NAMESPACE, "-f", str(WAVE_EXAMPLES / "02-campaigns.yaml"))
        self.say(f"applied examples/wave/: MigrationWave {WAVE!r} (canary 1, maxInFlight 5, maxFailed 2, "
                 f"window opens at {opens:%H:%M:%S} UTC, cut-over via ConfigMap {ROUTING}) and its "
                 f"{len(members)} members")
        return [member["metadata"]["name"] for member in members]

    def wave_done(self) -> bool:
        status = json.loads(self.kubectl("get", "mwave", WAVE, "-n", NAMESPACE, "-o", "json")).get("status") or {}
        return any(c.get("type") == "Complete" and c.get("status") == "True" for c in status.get("conditions") or [])

    def watch(self, names: list[str], timeout: float) -> dict[str, str]:
        deadline = time.monotonic() + timeout
        last_table = ""
        confirmed: set[str] = set()
        phases: dict[str, str] = {}
        seen_events: set[str] = set()
        while time.monotonic() < deadline:
            self._wave_events(seen_events)
            table = self.kubectl("get", "mwave", "-n", NAMESPACE) + self.kubectl(
                "get", "cmig", "-n", NAMESPACE, "-o", "wide")
            without_age = "\n".join(line.rsplit(None, 1)[0] for line in table.splitlines() if line.strip())
            if without_age != last_table:  # print on progress, not every time AGE ticks
                print(table.rstrip(), flush=True)
                last_table = without_age
            items = json.loads(self.kubectl("get", "cmig", "-n", NAMESPACE, "-o", "json"))["items"]
            phases = {item["metadata"]["name"]: (item.get("status") or {}).get("phase", "") for item in items}
            for item in items:
                name = item["metadata"]["name"]
                if phases[name] == "AwaitingOsrConfirmation" and name not in confirmed:
                    self._confirm_osr(name, item["spec"]["campaignId"])
                    confirmed.add(name)
            if all(phases.get(name) in FINAL_PHASES for name in names) and self.wave_done():
                return phases
            time.sleep(1)  # a terminal dashboard's refresh, not the operator's waiting
        return phases

    def _wave_events(self, seen: set[str]) -> None:
        """Prints the wave's Events as they arrive: canary passed, window opened, members released…"""
        listed = json.loads(self.kubectl("get", "events", "-n", NAMESPACE, "-o", "json",
                                         "--field-selector", "involvedObject.kind=MigrationWave"))
        for event in sorted(listed["items"], key=lambda e: e.get("lastTimestamp") or e.get("eventTime") or ""):
            uid = event["metadata"]["uid"]
            if uid not in seen:
                seen.add(uid)
                self.say(f"wave {WAVE!r} Event {event.get('type')}/{event.get('reason')}: {event.get('message')}")

    def _confirm_osr(self, name: str, campaign_id: str) -> None:
        self.say(f"{name}: playing the customer — updating the OSR records (sandbox) and confirming:")
        httpx.post(f"{self.sandbox_url}/_admin/campaigns/{campaign_id}/osr-updated", timeout=10).raise_for_status()
        now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        print(f"    kubectl annotate cmig {name} tendlc.io/osr-updated={now}", flush=True)
        self.kubectl("annotate", "-n", NAMESPACE, f"cmig/{name}", f"tendlc.io/osr-updated={now}", "--overwrite")

    def stop(self) -> None:
        for process in reversed(self.processes):
            if process.poll() is None:
                process.terminate()
        for process in self.processes:
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self.processes.clear()
        self.cluster.stop()


def _rfc3339(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt  # SIGTERM stops the demo as cleanly as Ctrl-C


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tendlc_dev.demo", description=__doc__.split("\n\n")[0])
    parser.add_argument("--dir", type=Path, default=REPO_ROOT / ".cache" / "demo")
    parser.add_argument("--time-scale", type=float, default=60.0, help="sandbox seconds per real second")
    parser.add_argument("--timeout", type=float, default=180.0, help="seconds to wait for final phases")
    parser.add_argument("--exit-when-done", action="store_true", help="stop everything once all are final")
    args = parser.parse_args(argv)
    demo = Demo(args.dir, args.time_scale)
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        demo.start()
        names = demo.apply_examples() + demo.apply_wave()
        phases = demo.watch(names, args.timeout)
        done = all(phases.get(name) in FINAL_PHASES for name in names) and demo.wave_done()
        elapsed = time.monotonic() - demo.started
        demo.say(f"{'all migrations final' if done else 'timed out'} after {elapsed:.0f} s: {phases}")
        if not done:
            return 1
        demo.say(f"wave {WAVE!r}: Complete — "
                 + demo.kubectl("get", "mwave", WAVE, "-n", NAMESPACE, "-o",
                                "jsonpath={.status.conditions[?(@.type==\"Halted\")].message}"))
        routing = json.loads(demo.kubectl("get", "configmap", ROUTING, "-n", NAMESPACE, "-o", "json"))["data"]
        demo.say(f"routing table {ROUTING} after the cut-overs: {dict(sorted(routing.items()))}")
        print(f"""
What to try next (in another terminal; the first line puts the kubectl that `make demo` built on PATH):
  export PATH="{bin_dir().resolve()}:$PATH" KUBECONFIG={demo.cluster.kubeconfig}
  kubectl get cmig -o wide                      # the columns: CAMPAIGN, PHASE, READY, NUMBERS, INFOBIP-ID
  kubectl describe cmig cojd655                 # conditions and Events (SwitchTraffic)
  kubectl get cmig crj0042 -o jsonpath='{{.status.conditions[?(@.type=="Ready")].message}}'
  kubectl explain campaignmigration.spec
  kubectl get mwave {WAVE} -o wide              # PHASE, MEMBERS, IN-FLIGHT, REGISTERED, FAILED, NEXT-WINDOW
  kubectl describe mwave {WAVE}                 # the canary, the releases, the failure that spent the budget
  kubectl get configmap {ROUTING} -o yaml       # each registered member switched to infobip
  curl -s {demo.sandbox_url}/_admin/counters     # exactly one migrate per campaign
Press Ctrl-C to stop everything.""", flush=True)
        if args.exit_when_done:
            return 0
        while True:
            signal.pause()
    except KeyboardInterrupt:
        print("\nstopping…", flush=True)
        return 0
    finally:
        demo.stop()
        print("demo stopped: control plane, sandbox and operator are down", flush=True)


if __name__ == "__main__":
    sys.exit(main())
