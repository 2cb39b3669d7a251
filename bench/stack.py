"""The benchmark's moving parts: control plane, sandbox, operator, and the instruments around them.

Everything runs on 127.0.0.1 under one temporary directory and is stopped by PID in `Stack.close()`
(called from `finally` and on SIGTERM/Ctrl-C). Every wait has a deadline. Nothing here imports from
`tests/`; the patterns (operator settings, request counting) mirror tests/support on purpose.
"""

from __future__ import annotations

import concurrent.futures
import datetime as dt
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import kubernetes.client
import kubernetes.config
import kubernetes.watch
import psutil

from tendlc.events import event_manifest
from tendlc.workflow import Event
from tendlc_dev.devcluster import REPO_ROOT, DevCluster, bin_dir, free_port

GROUP, VERSION, PLURAL = "tendlc.io", "v1alpha1", "campaignmigrations"
CRD = REPO_ROOT / "crds" / "campaignmigrations.tendlc.io.yaml"
NAMESPACE = "bench"
INFOBIP_SECRET = "partner-infobip"
TCR_SECRET = "partner-tcr"
LOA_SECRET = "bench-loa"
INFOBIP_API_KEY = "sandbox-infobip-key"
TCR_API_KEY = "sandbox-tcr-key"
TCR_API_SECRET = "sandbox-tcr-secret"
FINAL_PHASES = frozenset({"Registered", "Failed"})


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt  # SIGTERM stops a run as cleanly as Ctrl-C


def install_signal_handlers() -> None:
    signal.signal(signal.SIGTERM, _interrupt)


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


RESULTS = Path(__file__).resolve().parent / "results"


def run_and_save(
    run: Callable[[], dict[str, Any]], out: Callable[[dict[str, Any]], Path | str], show: Callable[[dict[str, Any]], str],
) -> dict[str, Any] | None:
    """Every benchmark's main: run with SIGTERM stopping it like Ctrl-C, write the results file
    (`out` of the result: a path, or a file name under bench/results), print the headline.

    None when interrupted (everything started was stopped).
    """
    install_signal_handlers()
    try:
        result = run()
    except KeyboardInterrupt:
        log("interrupted: everything started was stopped")
        return None
    RESULTS.mkdir(parents=True, exist_ok=True)
    target = out(result)
    path = target if isinstance(target, Path) else RESULTS / target
    path.write_text(json.dumps(result, indent=1) + "\n")
    print(show(result))
    print(f"results: {path}")
    return result


# --- the resources a run applies --------------------------------------------------------------------


def campaign_id(index: int, prefix: str = "CB") -> str:
    """A TCR campaign ID (`^C[A-Z0-9]{6}$`) unique per index; the prefix picks the sandbox scenario."""
    alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    digits, value = "", index
    for _ in range(7 - len(prefix)):
        digits = alphabet[value % 36] + digits
        value //= 36
    if value:
        raise ValueError(f"index {index} does not fit after prefix {prefix}")
    return prefix + digits


def phone_numbers(index: int, per_migration: int) -> list[str]:
    return [f"1{2_000_000_000 + index * per_migration + k:010d}" for k in range(per_migration)]


def migration_name(index: int) -> str:
    return f"bench-{index:05d}"


def migration(index: int, prefix: str, numbers_per_migration: int, namespace: str = NAMESPACE) -> dict[str, Any]:
    return {
        "apiVersion": f"{GROUP}/{VERSION}", "kind": "CampaignMigration",
        "metadata": {"name": migration_name(index), "namespace": namespace},
        "spec": {
            "campaignId": campaign_id(index, prefix),
            "numbers": phone_numbers(index, numbers_per_migration),
            "loaSecretRef": {"name": LOA_SECRET},  # one shared LOA Secret (loaSecretRef is per resource)
        },
    }


# --- processes ---------------------------------------------------------------------------------------


@dataclass
class Stack:
    """A control plane, a sandbox and (optionally) the operator, all stopped by `close()`."""

    keep_dir: bool = False
    directory: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="tendlc-bench-")))
    cluster: DevCluster | None = None
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    sandbox_url: str = ""
    kube: Kube | None = None

    def start_cluster(self) -> None:
        log(f"starting the control plane under {self.directory}")
        self.cluster = DevCluster(self.directory / "cluster")
        self.cluster.start()
        self.kube = Kube(self.cluster.kubeconfig)
        self.kubectl("apply", "--server-side", "-f", str(CRD))
        for attempt in range(10):  # right after the apply the CRD may have no conditions yet: kubectl errors
            try:
                self.kubectl("wait", "--for=condition=Established", f"crd/{PLURAL}.{GROUP}", "--timeout=60s")
                break
            except RuntimeError as error:
                if "accessor error" not in str(error) or attempt == 9:
                    raise
                time.sleep(0.5)
        self.kube.ensure_namespace(NAMESPACE)
        self.kube.secret(INFOBIP_SECRET, {"apiKey": INFOBIP_API_KEY})
        self.kube.secret(TCR_SECRET, {"apiKey": TCR_API_KEY, "apiSecret": TCR_API_SECRET})
        import datetime as dt

        self.kube.secret(LOA_SECRET, {"loa.pdf": "%PDF-1.7 benchmark LOA", "signedDate": dt.date.today().isoformat()},
                         labels={"tendlc.io/usage": "loa"})

    def kubectl(self, *args: str, input: str | None = None, timeout: float = 120) -> str:
        assert self.cluster is not None
        result = subprocess.run(
            [str(bin_dir() / "kubectl"), f"--kubeconfig={self.cluster.kubeconfig}", *args],
            input=input, capture_output=True, text=True, timeout=timeout, check=False,
        )
        if result.returncode != 0:
            raise RuntimeError(f"kubectl {' '.join(args)}: {result.stderr.strip()}")
        return result.stdout

    def spawn(self, name: str, args: list[str], env: Mapping[str, str] | None = None) -> subprocess.Popen[bytes]:
        logfile = (self.directory / f"{name}.log").open("ab")
        process = subprocess.Popen(
            args, stdout=logfile, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            env={**os.environ, **(env or {})}, start_new_session=True,  # Ctrl-C reaches us, we stop them
        )
        logfile.close()
        self.processes[name] = process
        return process

    def start_sandbox(self, args: Iterable[str]) -> str:
        port = free_port()
        self.sandbox_url = f"http://127.0.0.1:{port}"
        process = self.spawn("sandbox", [sys.executable, "-m", "tendlc_dev.sandbox", "--host", "127.0.0.1",
                                         "--port", str(port), "--quiet", *args])
        wait_http(f"{self.sandbox_url}/_admin/health", process, "sandbox", self.directory / "sandbox.log")
        return self.sandbox_url

    def operator_env(
        self, rate_limit_scale: float, extra: Mapping[str, str], time_scale: float | None = None,
    ) -> dict[str, str]:
        assert self.cluster is not None
        env = {
            "KUBECONFIG": str(self.cluster.kubeconfig),
            "TENDLC_INFOBIP_BASE_URL": f"{self.sandbox_url}/infobip",
            "TENDLC_TCR_BASE_URL": f"{self.sandbox_url}/tcr/v2",
            "TENDLC_ALLOWED_PARTNER_HOSTS": json.dumps([self.sandbox_url]),
            "TENDLC_INFOBIP_CREDENTIALS_SECRET__NAME": INFOBIP_SECRET,
            "TENDLC_TCR_CREDENTIALS_SECRET__NAME": TCR_SECRET,
            "TENDLC_OPERATOR_NAMESPACE": NAMESPACE,
            "TENDLC_WATCH_NAMESPACES": json.dumps([NAMESPACE]),
            "TENDLC_RATE_LIMIT_SCALE": f"{rate_limit_scale:g}",
            "TENDLC_REQUEST_TIMEOUT_SECONDS": "10",
            # The D24 search window models Infobip's list lag, which passes in partner time: with the
            # sandbox's clock `time_scale` times faster, 60 s of it (TCR's election decision, 60
            # sandbox seconds by default, then comes after the window as it would at full scale).
            "TENDLC_ABSENCE_WINDOW_SECONDS": f"{60 / (time_scale or rate_limit_scale):g}",
            "TENDLC_LIVENESS_PORT": str(free_port()),
            "TENDLC_LOG_FORMAT": "json",
        }
        env.update(extra)
        return env

    def start_operator(self, env: Mapping[str, str], wrapper: list[str] | None = None) -> subprocess.Popen[bytes]:
        args = [*(wrapper or []), operator_python(), "-m", "tendlc"]
        process = self.spawn("operator", args, env)
        port = env["TENDLC_LIVENESS_PORT"]
        wait_http(f"http://127.0.0.1:{port}/healthz", process, "operator", self.directory / "operator.log")
        return process

    def operator_pid(self) -> int:
        """The Python interpreter running the operator (the wrapper's child when one is used)."""
        process = self.processes["operator"]
        proc = psutil.Process(process.pid)
        for candidate in [proc, *proc.children(recursive=True)]:
            try:
                if any(part == "tendlc" or part.endswith("tendlc") for part in candidate.cmdline()[-2:]):
                    return candidate.pid
            except psutil.Error:
                continue
        return process.pid

    def stop_process(self, name: str, grace: float = 20) -> None:
        process = self.processes.pop(name, None)
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGINT if name == "operator-profiled" else signal.SIGTERM)
        try:
            process.wait(grace)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)

    def close(self) -> None:
        for name in reversed(list(self.processes)):
            try:
                self.stop_process(name)
            except Exception as error:  # keep stopping the rest
                log(f"stopping {name}: {error}")
        if self.kube is not None:
            self.kube.close()
        if self.cluster is not None:
            self.cluster.stop()
            self.cluster = None
        if self.keep_dir:
            log(f"kept {self.directory}")
        else:
            shutil.rmtree(self.directory, ignore_errors=True)

    def __enter__(self) -> Stack:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


RUNTIME_PYTHON = REPO_ROOT / ".cache" / "venv-runtime" / "bin" / "python"


def operator_python() -> str:
    """The runtime-only venv `make bench` builds (what the image installs), else this interpreter.

    It matters: Kopf imports the `kubernetes` package whenever it is installed, and the test/bench
    venv has it (the harness uses it), the image does not.
    """
    return str(RUNTIME_PYTHON) if RUNTIME_PYTHON.exists() else sys.executable


def wait_http(url: str, process: subprocess.Popen[bytes], what: str, logfile: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = logfile.read_text(errors="replace")[-2000:] if logfile.exists() else ""
            raise RuntimeError(f"{what} exited with {process.returncode}:\n{tail}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{what} not healthy at {url} within {timeout} s; see {logfile}")


# --- Kubernetes --------------------------------------------------------------------------------------


class Kube:
    """The harness's own Kubernetes client; it counts its requests so they can be subtracted."""

    def __init__(self, kubeconfig: Path, threads: int = 8) -> None:
        configuration = kubernetes.client.Configuration()
        kubernetes.config.load_kube_config(config_file=str(kubeconfig), client_configuration=configuration)
        configuration.connection_pool_maxsize = threads
        self.api = kubernetes.client.ApiClient(configuration)
        self.core = kubernetes.client.CoreV1Api(self.api)
        self.custom = kubernetes.client.CustomObjectsApi(self.api)
        self.threads = threads
        self.own_requests: dict[str, int] = {}
        self._lock = threading.Lock()

    def _count(self, key: str, n: int = 1) -> None:
        with self._lock:
            self.own_requests[key] = self.own_requests.get(key, 0) + n

    def close(self) -> None:
        self.api.close()

    def ensure_namespace(self, name: str) -> None:
        try:
            self.core.create_namespace({"metadata": {"name": name}})
        except kubernetes.client.ApiException as error:
            if error.status != 409:
                raise

    def secret(self, name: str, values: Mapping[str, str], labels: Mapping[str, str] | None = None) -> None:
        body = {"metadata": {"name": name, "namespace": NAMESPACE, "labels": dict(labels or {})},
                "stringData": dict(values)}
        self.core.create_namespaced_secret(NAMESPACE, body)

    def create_all(self, objects: list[dict[str, Any]]) -> list[float]:
        """Creates every object as fast as `threads` connections allow (the 'apply N at once').

        Returns when each create was answered (epoch seconds): the earliest an operator could act on it.
        """
        def create(obj: dict[str, Any]) -> float:
            namespace = obj["metadata"]["namespace"]
            self.custom.create_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, obj)
            return time.time()

        with concurrent.futures.ThreadPoolExecutor(self.threads) as pool:
            created = [future.result() for future in [pool.submit(create, obj) for obj in objects]]
        self._count("POST campaignmigrations", len(objects))
        return created

    def patch_status(self, namespace: str, name: str, status: Mapping[str, Any]) -> None:
        self.custom.patch_namespaced_custom_object_status(GROUP, VERSION, namespace, PLURAL, name,
                                                          {"status": dict(status)})

    def post_event(self, namespace: str, name: str, reason: str, message: str) -> None:
        """A Normal Event about a CampaignMigration, built by the operator's own `event_manifest`."""
        body = {"apiVersion": f"{GROUP}/{VERSION}", "kind": "CampaignMigration",
                "metadata": {"name": name, "namespace": namespace}}
        manifest = event_manifest(body, Event("Normal", reason, message), dt.datetime.now(dt.UTC),
                                  component="bench-baseline")
        self.core.create_namespaced_event(namespace, manifest)

    def list_migrations(self) -> tuple[list[dict[str, Any]], str]:
        self._count("LIST campaignmigrations")
        result = self.custom.list_namespaced_custom_object(GROUP, VERSION, NAMESPACE, PLURAL)
        return result["items"], result["metadata"]["resourceVersion"]

    def request_totals(self) -> dict[str, int]:
        """kube-apiserver's `apiserver_request_total`, summed over codes: {"resource|subresource|VERB": n}."""
        self._count("GET /metrics")
        response = self.api.call_api("GET", f"{self.api.configuration.host}/metrics",
                                     header_params={"Accept": "text/plain"})
        response.read()
        text = response.data.decode()
        totals: dict[str, int] = {}
        for line in text.splitlines():
            if not line.startswith("apiserver_request_total{"):
                continue
            inner = line[line.index("{") + 1 : line.rindex("}")]
            labels = {}
            for part in inner.split('",'):
                key, _, value = part.partition("=")
                labels[key.strip(",")] = value.strip('"')
            key = f"{labels.get('resource', '')}|{labels.get('subresource', '')}|{labels.get('verb', '')}"
            totals[key] = totals.get(key, 0) + int(float(line.rsplit(" ", 1)[1]))
        return totals

    def server_version(self) -> str:
        version = kubernetes.client.VersionApi(self.api).get_code()
        return str(version.git_version)


class PhaseWatch:
    """Follows every CampaignMigration's phase through one watch; records when each phase was first seen."""

    def __init__(self, kube: Kube) -> None:
        self.kube = kube
        self.phases: dict[str, str] = {}
        self.first_seen: dict[str, dict[str, float]] = {}  # name → phase → wall time
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="bench-watch", daemon=True)
        self._changed = threading.Condition()
        self.error: BaseException | None = None

    def start(self) -> PhaseWatch:
        self._thread.start()
        return self

    def _record(self, obj: Mapping[str, Any], deleted: bool = False) -> None:
        name = obj["metadata"]["name"]
        phase = (obj.get("status") or {}).get("phase") or ""
        with self._changed:
            if deleted:
                self.phases.pop(name, None)
            else:
                self.phases[name] = phase
                self.first_seen.setdefault(name, {}).setdefault(phase, time.time())
            self._changed.notify_all()

    def _run(self) -> None:
        try:
            items, rv = self.kube.list_migrations()
            for item in items:
                self._record(item)
            while not self._stop.is_set():
                watch = kubernetes.watch.Watch()
                self.kube._count("WATCH campaignmigrations")
                try:
                    for event in watch.stream(self.kube.custom.list_namespaced_custom_object, GROUP, VERSION,
                                              NAMESPACE, PLURAL, resource_version=rv, timeout_seconds=30,
                                              allow_watch_bookmarks=True):
                        obj = event["object"]
                        rv = obj["metadata"]["resourceVersion"]
                        if event["type"] == "BOOKMARK":
                            continue
                        self._record(obj, deleted=event["type"] == "DELETED")
                        if self._stop.is_set():
                            watch.stop()
                            break
                except kubernetes.client.ApiException as error:
                    if error.status != 410:
                        raise
                    items, rv = self.kube.list_migrations()
                    for item in items:
                        self._record(item)
        except BaseException as error:  # surfaced by wait_until
            self.error = error

    def count(self, predicate: Callable[[str], bool]) -> int:
        with self._changed:
            return sum(1 for phase in self.phases.values() if predicate(phase))

    def wait_until(self, predicate: Callable[[dict[str, str]], bool], timeout: float,
                   progress: Callable[[dict[str, str]], None] | None = None) -> bool:
        deadline = time.monotonic() + timeout
        last_report = 0.0
        with self._changed:
            while time.monotonic() < deadline:
                if self.error is not None:
                    raise RuntimeError(f"watch failed: {self.error!r}")
                if predicate(self.phases):
                    return True
                if progress is not None and time.monotonic() - last_report > 5:
                    progress(dict(self.phases))
                    last_report = time.monotonic()
                self._changed.wait(timeout=min(1.0, max(0.0, deadline - time.monotonic())))
        return False

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)  # a blocked stream ends with the client (daemon thread)


# --- process sampling ---------------------------------------------------------------------------------


class Sampler:
    """Samples CPU seconds and RSS of named PIDs every `interval` seconds, in a thread."""

    def __init__(self, pids: Mapping[str, int], interval: float = 0.5) -> None:
        self.procs = {name: psutil.Process(pid) for name, pid in pids.items()}
        self.interval = interval
        self.samples: dict[str, list[tuple[float, float, int]]] = {name: [] for name in pids}  # (wall, cpu s, rss)
        # kernel-side CPU per sample (wall, system s): on loopback the sender's send() runs the
        # receiver's TCP path too, so the share of system time says how much is the request count
        self.system: dict[str, list[tuple[float, float]]] = {name: [] for name in pids}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="bench-sampler", daemon=True)

    def start(self) -> Sampler:
        self.sample()
        self._thread.start()
        return self

    def sample(self) -> None:
        now = time.time()
        for name, proc in self.procs.items():
            try:
                with proc.oneshot():
                    times = proc.cpu_times()
                    rss = proc.memory_info().rss
            except psutil.Error:
                continue
            self.samples[name].append((now, times.user + times.system, rss))
            self.system[name].append((now, times.system))

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.sample()

    def cpu_between(self, name: str, start: float, end: float) -> float:
        """CPU seconds of `name` between two wall times (nearest samples)."""
        return _growth([(s[0], s[1]) for s in self.samples[name]], start, end)

    def system_between(self, name: str, start: float, end: float) -> float:
        """System (kernel) CPU seconds of `name` between two wall times (nearest samples)."""
        return _growth(self.system[name], start, end)

    def peak_rss(self, name: str) -> int:
        return max((s[2] for s in self.samples[name]), default=0)

    def summary(self, start: float, end: float) -> dict[str, Any]:
        return {
            name: {
                "cpuSeconds": round(self.cpu_between(name, start, end), 3),
                "systemCpuSeconds": round(self.system_between(name, start, end), 3),
                "peakRssMiB": round(self.peak_rss(name) / 2**20, 1),
            }
            for name in self.procs
        }


def _growth(samples: list[tuple[float, float]], start: float, end: float) -> float:
    """How much a counter sampled as (wall, value) grew between two wall times (nearest samples)."""
    if not samples:
        return 0.0
    before = max((s for s in samples if s[0] <= start), key=lambda s: s[0], default=samples[0])
    after = min((s for s in samples if s[0] >= end), key=lambda s: s[0], default=samples[-1])
    return after[1] - before[1]


# --- the sandbox's admin API ----------------------------------------------------------------------------


class SandboxAdmin:
    def __init__(self, url: str) -> None:
        self.url = url
        self.client = httpx.Client(timeout=60)

    def get(self, path: str, **params: Any) -> Any:
        response = self.client.get(f"{self.url}/_admin{path}", params=params)
        response.raise_for_status()
        return response.json()

    def ledger(self) -> list[dict[str, Any]]:
        """Every ledger entry (paged, bounded)."""
        entries: list[dict[str, Any]] = []
        since = 0
        for _ in range(100):
            page = self.get("/ledger", since=since, limit=100_000)
            entries += page["entries"]
            if not page["entries"]:
                break
            since = page["lastSeq"]
        return entries

    def close(self) -> None:
        self.client.close()


# --- the machine ----------------------------------------------------------------------------------------


def machine(kube: Kube | None) -> dict[str, Any]:
    cpu_model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "nproc": os.cpu_count(),
        "cpuModel": cpu_model,
        "memoryGiB": round(psutil.virtual_memory().total / 2**30, 1),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "kubeVersion": kube.server_version() if kube else None,
        "loadAverage1m": round(os.getloadavg()[0], 2),
    }
