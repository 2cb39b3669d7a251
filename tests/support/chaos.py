"""Building blocks of the chaos suite (tests/chaos/): restarting kube-apiserver, scenarios, invariants.

- `ApiServerRestarter` restarts the dev cluster's kube-apiserver with exactly the arguments it was
  started with (read back from `/proc/<pid>/cmdline`), without touching `tendlc_dev.devcluster`: the
  PID comes from the cluster's `state.json`, the new PID is written back there, and `stop()` ends
  the new process (the `DevCluster` object only knows the old PID).
- `CampaignPlan` says what one chaos campaign is and what it must end as; `plan_campaigns` draws a
  reproducible mix from a seed.
- `check_invariants` compares the cluster and the sandbox once the run is over.
- `FaultTally` adds up the sandbox's injected-fault counters across `PUT /_admin/faults` (a PUT
  resets them).
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import signal
import string
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from support.cluster import Cluster
from support.sandbox import Sandbox

# --------------------------------------------------------------------------- kube-apiserver restart


class ApiServerRestartUnsupported(RuntimeError):
    """The cluster was not started by tendlc_dev.devcluster in this session (e.g. TENDLC_TEST_KUBECONFIG)."""


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with contextlib.suppress(ChildProcessError):
        finished, _ = os.waitpid(pid, os.WNOHANG)
        if finished:
            return False
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


@dataclass
class ApiServerRestarter:
    """Stops the dev cluster's kube-apiserver by PID and starts it again with the same arguments."""

    cluster: Cluster
    started: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def directory(self) -> Path:
        return Path(self.cluster.kubeconfig).resolve().parent

    @property
    def state_file(self) -> Path:
        return self.directory / "state.json"

    def supported(self) -> bool:
        if os.environ.get("TENDLC_TEST_KUBECONFIG") or not self.state_file.exists():
            return False
        try:
            return _pid_alive(self._pid())
        except (KeyError, ValueError, OSError):
            return False

    def _pid(self) -> int:
        return int(json.loads(self.state_file.read_text())["pids"]["kube-apiserver"])

    def restart(self, *, grace: float = 15.0, ready_timeout: float = 90.0) -> float:
        """SIGTERM (SIGKILL after `grace`), re-spawn with the same argv, wait for /readyz; returns seconds down."""
        if not self.supported():
            raise ApiServerRestartUnsupported("kube-apiserver was not started by tendlc_dev.devcluster here")
        pid = self._pid()
        argv = [part.decode() for part in Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0") if part]
        started = time.monotonic()
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + grace
        while _pid_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        if _pid_alive(pid):
            os.kill(pid, signal.SIGKILL)
            while _pid_alive(pid):
                time.sleep(0.05)
        log = (self.directory / "kube-apiserver.log").open("ab")
        process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                   start_new_session=True)
        log.close()
        self.started.append(process)
        state = json.loads(self.state_file.read_text())
        state["pids"]["kube-apiserver"] = process.pid
        self.state_file.write_text(json.dumps(state))
        deadline = time.monotonic() + ready_timeout
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"restarted kube-apiserver exited with {process.returncode}; see its log")
            ready = self.cluster.kubectl("get", "--raw", "/readyz", check=False, timeout=10)
            if ready.returncode == 0 and ready.stdout.strip() == "ok":
                return time.monotonic() - started
            time.sleep(0.3)
        raise RuntimeError("restarted kube-apiserver did not become ready in time")

    def stop(self) -> None:
        """Ends the processes this object started (the session's DevCluster only knows the old PID)."""
        for process in self.started:
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(15)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
        self.started.clear()


# --------------------------------------------------------------------------- scenarios


@dataclass(frozen=True)
class Expectation:
    phase: str
    reason: str  # of the Ready condition
    migrate_cnp: int  # successful migrateCnp POSTs at TCR
    migrate: int  # successful migrate POSTs at Infobip
    stage: str | None  # the Infobip stage the status and the sandbox must agree on (None: no campaign)


EXPECTATIONS: dict[str, Expectation] = {
    # prefix → what the sandbox does (docs/sandbox.md) → what the resource must end as
    "happy": Expectation("Registered", "Registered", 1, 1, "REGISTERED"),
    "tcr_temporary": Expectation("Registered", "Registered", 1, 1, "REGISTERED"),  # CTF: 591, 630, then OK
    "own_nnid": Expectation("Registered", "Registered", 1, 1, "REGISTERED"),  # after the test's confirmation
    "rejected": Expectation("Failed", "CampaignRejected", 1, 1, "REJECTED"),
    "declined": Expectation("Failed", "ElectionDeclined", 1, 0, None),  # the election happened, then DECLINED
    "expired": Expectation("Failed", "CampaignExpired", 0, 0, None),  # migrateCnp answers 518: nothing happens
}
PREFIXES = {"happy": "CH", "tcr_temporary": "CTF", "own_nnid": "CON", "rejected": "CRJ", "declined": "CDC",
            "expired": "CEX"}
WEIGHTS = {"happy": 8, "tcr_temporary": 2, "own_nnid": 2, "rejected": 2, "declined": 1, "expired": 1}


@dataclass(frozen=True)
class CampaignPlan:
    name: str
    campaign_id: str
    scenario: str
    numbers: tuple[str, ...]

    @property
    def expected(self) -> Expectation:
        return EXPECTATIONS[self.scenario]

    @property
    def own_nnid(self) -> bool:
        return self.scenario == "own_nnid"


def plan_campaigns(count: int, rng: random.Random) -> list[CampaignPlan]:
    """`count` campaigns: every scenario at least once (when count allows), the rest drawn by weight."""
    scenarios = list(EXPECTATIONS)[:count]
    names = list(WEIGHTS)
    scenarios += rng.choices(names, weights=[WEIGHTS[n] for n in names], k=max(0, count - len(scenarios)))
    rng.shuffle(scenarios)
    alphabet = string.ascii_uppercase + string.digits
    used_ids: set[str] = set()
    used_numbers: set[str] = set()
    plans = []
    for index, scenario in enumerate(scenarios):
        prefix = PREFIXES[scenario]
        while True:
            campaign_id = prefix + "".join(rng.choices(alphabet, k=7 - len(prefix)))
            if campaign_id not in used_ids:
                break
        used_ids.add(campaign_id)
        numbers: list[str] = []
        wanted = rng.randint(1, 3)
        while len(numbers) < wanted:
            number = "1" + "".join(rng.choices(string.digits, k=10))
            if number not in used_numbers and not number.startswith("1555403"):
                used_numbers.add(number)
                numbers.append(number)
        plans.append(CampaignPlan(f"c{index:03d}-{campaign_id.lower()}", campaign_id, scenario, tuple(numbers)))
    return plans


# --------------------------------------------------------------------------- faults


@dataclass
class FaultTally:
    """Adds up `GET /_admin/faults` `injected` counts across reconfigurations."""

    sandbox: Sandbox
    totals: dict[str, int] = field(default_factory=dict)

    def _collect(self) -> None:
        current = self.sandbox.admin("GET", "/faults").get("injected", {})
        for kind, count in current.items():
            self.totals[kind] = self.totals.get(kind, 0) + int(count)

    def configure(self, config: dict[str, Any]) -> None:
        self._collect()
        self.sandbox.admin("PUT", "/faults", json=config)

    def finish(self) -> dict[str, int]:
        self._collect()
        self.sandbox.admin("PUT", "/faults", json={})
        return dict(sorted(self.totals.items()))


# --------------------------------------------------------------------------- invariants


def _ready(status: dict[str, Any]) -> dict[str, Any]:
    return next((c for c in status.get("conditions", []) if c.get("type") == "Ready"), {})


@dataclass
class Verdict:
    problems: list[str] = field(default_factory=list)
    duplicates: int = 0  # non-idempotent POSTs received after one took effect, or successes beyond the expected
    lost: int = 0  # campaigns that did not end as expected, or expected POSTs that never succeeded
    final: dict[str, int] = field(default_factory=dict)


def check_invariants(plans: list[CampaignPlan], resources: dict[str, dict[str, Any]], sandbox: Sandbox) -> Verdict:
    """Every campaign against its expectation: phase, reason, exactly-once attempts, status vs sandbox."""
    verdict = Verdict()
    attempts = sandbox.admin("GET", "/attempts")["byCampaign"]
    for plan in plans:
        expected = plan.expected
        body = resources.get(plan.name)
        if body is None:
            verdict.problems.append(f"{plan.name}: resource missing")
            verdict.lost += 1
            continue
        status = body.get("status") or {}
        phase = status.get("phase")
        verdict.final[str(phase)] = verdict.final.get(str(phase), 0) + 1
        where = f"{plan.name} ({plan.campaign_id}, {plan.scenario})"
        lost = False
        if phase != expected.phase:
            verdict.problems.append(f"{where}: phase {phase!r}, expected {expected.phase!r}; "
                                    f"Ready={_ready(status)}; lastError={status.get('lastError')}")
            lost = True
        elif _ready(status).get("reason") != expected.reason:
            verdict.problems.append(f"{where}: Ready reason {_ready(status).get('reason')!r}, "
                                    f"expected {expected.reason!r}")
        for operation, want in (("tcr.migrate_cnp", expected.migrate_cnp), ("infobip.migrate", expected.migrate)):
            counted = (attempts.get(plan.campaign_id) or {}).get(operation) or {}
            got = int(counted.get("successes", 0))
            # Requests received after the first one took effect are resends, whatever their answer
            # (a refused duplicate, a 429): retries after answers that said "nothing happened" are not.
            resent = int(counted.get("attemptsAfterSuccess", 0))
            if got > want or resent:
                verdict.duplicates += max(got - want, 0) + resent
                verdict.problems.append(f"{where}: {operation} succeeded {got} times (expected {want}), "
                                        f"{resent} attempt(s) after the first success; {counted}")
            elif got < want:
                lost = True
                verdict.problems.append(f"{where}: {operation} succeeded {got} times, expected {want}; {counted}")
        verdict.lost += int(lost)
        metadata = body.get("metadata", {})
        if metadata.get("finalizers"):
            verdict.problems.append(f"{where}: finalizers {metadata['finalizers']}")
        if status.get("pendingOperation"):
            verdict.problems.append(f"{where}: pendingOperation left: {status['pendingOperation']}")
        infobip = sandbox.campaign(plan.campaign_id).get("infobipCampaigns") or []
        if expected.stage is None:
            if infobip:
                verdict.problems.append(f"{where}: Infobip has {len(infobip)} campaign(s), expected none")
            if status.get("infobipCampaignId"):
                verdict.problems.append(f"{where}: infobipCampaignId set without an Infobip campaign")
            continue
        if len(infobip) != 1:
            verdict.problems.append(f"{where}: Infobip has {len(infobip)} campaigns, expected 1")
            continue
        if status.get("infobipCampaignId") != infobip[0]["id"]:
            verdict.problems.append(f"{where}: infobipCampaignId {status.get('infobipCampaignId')!r} is not the "
                                    f"sandbox's {infobip[0]['id']!r}")
        if not (status.get("infobipStage") == infobip[0]["stage"] == expected.stage):
            verdict.problems.append(f"{where}: stage status={status.get('infobipStage')!r} "
                                    f"sandbox={infobip[0]['stage']!r} expected={expected.stage!r}")
    return verdict


def canary_leaks(canaries: dict[str, str], texts: dict[str, str]) -> list[str]:
    """'<canary> in <where>' for every canary value found in any of the texts."""
    return [f"{name} in {where}" for where, text in texts.items() for name, value in canaries.items()
            if value in text]
