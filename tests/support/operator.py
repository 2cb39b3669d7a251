"""Running the tendlc operator in tests: in-process with Kopf's KopfRunner, or as a real process.

Both read the same `TENDLC_*` settings a user would set. In-process runs load the handlers file
by path into a fresh Kopf registry, so handlers of other test operators never leak in; the
process variant exists for what a thread cannot do: being SIGKILLed mid-flight.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import kopf
from kopf.testing import KopfRunner

import tendlc.handlers
from support.sandbox import Sandbox
from tendlc_dev.devcluster import free_port

HANDLERS_FILE = str(Path(tendlc.handlers.__file__).resolve())
INFOBIP_SECRET = "partner-infobip"
TCR_SECRET = "partner-tcr"


def operator_env(sandbox: Sandbox, namespace: str, **overrides: str) -> dict[str, str]:
    """Settings for an operator that watches one namespace and talks to the sandbox, fast.

    The partner allow-list holds exactly the sandbox's `http://127.0.0.1:<port>`: every other
    loopback port (an attacker's listener, a test's proxy) is refused unless a test adds it.
    """
    env = {
        "TENDLC_INFOBIP_BASE_URL": sandbox.infobip_url,
        "TENDLC_TCR_BASE_URL": sandbox.tcr_url,
        "TENDLC_ALLOWED_PARTNER_HOSTS": json.dumps([sandbox.url]),
        "TENDLC_WEBHOOK_ALLOW_HTTP": "true",  # the receiver is on plain loopback http in tests
        "TENDLC_INFOBIP_CREDENTIALS_SECRET__NAME": INFOBIP_SECRET,
        "TENDLC_TCR_CREDENTIALS_SECRET__NAME": TCR_SECRET,
        "TENDLC_OPERATOR_NAMESPACE": namespace,
        "TENDLC_WATCH_NAMESPACES": json.dumps([namespace]),
        "TENDLC_BACKOFF_INITIAL_SECONDS": "0.2",
        # The sandbox runs 600 times faster than real time; the D24 window is scaled with it (60 s / 600).
        "TENDLC_ABSENCE_WINDOW_SECONDS": "0.1",
        "TENDLC_BACKOFF_MAX_SECONDS": "1",
        "TENDLC_RECHECK_PARKED_SECONDS": "1",
        "TENDLC_REQUEST_TIMEOUT_SECONDS": "5",
        "TENDLC_SECRET_MAX_AGE_SECONDS": "0.5",
        "TENDLC_LIVENESS_PORT": "0",
        "TENDLC_BIND_ADDRESS": "127.0.0.1",
        "TENDLC_METRICS_PORT": str(free_port()),
        "TENDLC_WEBHOOK_PORT": str(free_port()),
    }
    env.update(overrides)
    return env


@contextmanager
def patched_environ(values: Mapping[str, str]) -> Iterator[None]:
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@contextmanager
def operator_in_process(namespace: str, env: Mapping[str, str], timeout: float = 120) -> Iterator[KopfRunner]:
    """The operator on a Kopf thread of this process, watching `namespace`."""
    args = ["run", "--standalone", f"--namespace={namespace}", HANDLERS_FILE]
    with patched_environ(env), KopfRunner(args, timeout=timeout, registry=kopf.OperatorRegistry()) as runner:
        yield runner
    if runner.exception is not None:
        raise runner.exception


class OperatorProcess:
    """`python -m tendlc` as a separate process, so a test can SIGKILL it like a node failure would."""

    def __init__(self, env: Mapping[str, str], log_path: Path) -> None:
        self.env = {**os.environ, **env}
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> OperatorProcess:
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tendlc"], env=self.env, stdout=log, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        return self

    def kill(self) -> None:
        """SIGKILL: no cleanup, no status write, exactly like a crashed node."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")
