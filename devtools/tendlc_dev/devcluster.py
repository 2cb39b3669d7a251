"""A real, local Kubernetes control plane for tests, the demo and rehearsals.

It runs etcd, kube-apiserver (RBAC on, ServiceAccount tokens signed so `TokenRequest` works) and
kube-controller-manager (so namespaces finish deleting and owner references garbage-collect) as
plain processes bound to 127.0.0.1 on free ports, with freshly generated PKI under one directory.
The binaries come from `hack/controlplane.sh` (built from Go modules). Processes are stopped by
the PIDs this module started, never by name, so a developer's other clusters are never touched.

This module is development tooling shipped with the product (the demo uses it); the operator
itself never imports it.
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import ipaddress
import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_BIN_DIR = REPO_ROOT / ".cache" / "bin"
DEFAULT_STATE_DIR = REPO_ROOT / ".cache" / "devcluster"
SERVICE_ACCOUNT_ISSUER = "https://kubernetes.default.svc.cluster.local"
COMPONENTS = ("etcd", "kube-apiserver", "kube-controller-manager")


class DevClusterError(RuntimeError):
    """The control plane could not be started; the message names the component and its log."""


def bin_dir() -> Path:
    return Path(os.environ.get("TENDLC_BIN_DIR", str(DEFAULT_BIN_DIR)))


def binary(name: str) -> Path:
    """Path of a built control-plane binary; a clear error if `make controlplane` was not run."""
    path = bin_dir() / name
    if not path.exists():
        raise DevClusterError(f"{path} is missing: run `make controlplane` first")
    return path


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


# --- PKI ---------------------------------------------------------------------------------------


def _key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _pem_key(key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _pem_cert(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


@dataclass(frozen=True)
class _Issued:
    cert: x509.Certificate
    key: ec.EllipticCurvePrivateKey


def _issue(
    common_name: str,
    *,
    issuer: _Issued | None = None,
    organization: str | None = None,
    server_names: Sequence[str] = (),
    server_ips: Sequence[str] = (),
    client: bool = False,
) -> _Issued:
    key = _key()
    name_parts = [x509.NameAttribute(NameOID.COMMON_NAME, common_name)]
    if organization:
        name_parts.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization))
    subject = x509.Name(name_parts)
    now = dt.datetime.now(dt.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer.cert.subject if issuer else subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=30))
    )
    if issuer is None:
        builder = builder.add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        builder = builder.add_extension(
            x509.KeyUsage(
                digital_signature=True, key_cert_sign=True, crl_sign=True, content_commitment=False,
                key_encipherment=False, data_encipherment=False, key_agreement=False,
                encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
    else:
        builder = builder.add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        usages = [ExtendedKeyUsageOID.CLIENT_AUTH] if client else [ExtendedKeyUsageOID.SERVER_AUTH]
        builder = builder.add_extension(x509.ExtendedKeyUsage(usages), critical=False)
        alt_names: list[x509.GeneralName] = [x509.DNSName(n) for n in server_names]
        alt_names += [x509.IPAddress(ipaddress.ip_address(ip)) for ip in server_ips]
        if alt_names:
            builder = builder.add_extension(x509.SubjectAlternativeName(alt_names), critical=False)
    cert = builder.sign(issuer.key if issuer else key, hashes.SHA256())
    return _Issued(cert=cert, key=key)


@dataclass(frozen=True)
class Pki:
    """Paths of the generated certificates and keys."""

    ca_cert: Path
    serving_cert: Path
    serving_key: Path
    admin_cert: Path
    admin_key: Path
    sa_public: Path
    sa_private: Path

    @classmethod
    def generate(cls, directory: Path) -> Pki:
        directory.mkdir(parents=True, exist_ok=True)
        ca = _issue("tendlc-devcluster-ca")
        serving = _issue(
            "kube-apiserver",
            issuer=ca,
            server_names=("localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc"),
            server_ips=("127.0.0.1", "10.0.0.1"),
        )
        admin = _issue("tendlc-admin", issuer=ca, organization="system:masters", client=True)
        sa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pki = cls(
            ca_cert=directory / "ca.crt",
            serving_cert=directory / "apiserver.crt",
            serving_key=directory / "apiserver.key",
            admin_cert=directory / "admin.crt",
            admin_key=directory / "admin.key",
            sa_public=directory / "sa.pub",
            sa_private=directory / "sa.key",
        )
        files = {
            pki.ca_cert: _pem_cert(ca.cert),
            pki.serving_cert: _pem_cert(serving.cert),
            pki.serving_key: _pem_key(serving.key),
            pki.admin_cert: _pem_cert(admin.cert),
            pki.admin_key: _pem_key(admin.key),
            pki.sa_private: _pem_key(sa_key),
            pki.sa_public: sa_key.public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            ),
        }
        for path, data in files.items():
            path.write_bytes(data)
            path.chmod(0o600)
        return pki


@dataclass(frozen=True)
class ServingCertificate:
    """A CA and a serving certificate issued by it (PEM files): for a local HTTPS endpoint in tests and demos."""

    ca_cert: Path
    cert: Path
    key: Path

    @classmethod
    def generate(cls, directory: Path, *, names: Sequence[str] = ("localhost",),
                 ips: Sequence[str] = ("127.0.0.1",)) -> ServingCertificate:
        directory.mkdir(parents=True, exist_ok=True)
        ca = _issue("tendlc-local-ca")
        serving = _issue(names[0] if names else "localhost", issuer=ca, server_names=names, server_ips=ips)
        issued = cls(ca_cert=directory / "ca.crt", cert=directory / "tls.crt", key=directory / "tls.key")
        for path, data in ((issued.ca_cert, _pem_cert(ca.cert)), (issued.cert, _pem_cert(serving.cert)),
                           (issued.key, _pem_key(serving.key))):
            path.write_bytes(data)
            path.chmod(0o600)
        return issued


def write_kubeconfig(
    path: Path, server: str, ca_cert: Path, *, client_cert: Path | None = None,
    client_key: Path | None = None, token: str | None = None, user: str = "tendlc-admin",
    namespace: str | None = None,
) -> Path:
    """Writes a self-contained kubeconfig (data embedded) for one user of the dev cluster."""
    credentials: dict[str, str] = {}
    if client_cert and client_key:
        credentials["client-certificate-data"] = base64.b64encode(client_cert.read_bytes()).decode()
        credentials["client-key-data"] = base64.b64encode(client_key.read_bytes()).decode()
    if token:
        credentials["token"] = token
    context: dict[str, str] = {"cluster": "tendlc-dev", "user": user}
    if namespace:
        context["namespace"] = namespace
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{
            "name": "tendlc-dev",
            "cluster": {
                "server": server,
                "certificate-authority-data": base64.b64encode(ca_cert.read_bytes()).decode(),
            },
        }],
        "users": [{"name": user, "user": credentials}],
        "contexts": [{"name": "tendlc-dev", "context": context}],
        "current-context": "tendlc-dev",
    }
    path.write_text(json.dumps(config, indent=2))
    path.chmod(0o600)
    return path


# --- processes ---------------------------------------------------------------------------------


@dataclass
class DevCluster:
    """etcd + kube-apiserver + kube-controller-manager under one directory.

    `start()` returns once `/readyz` answers ok and the controller manager is healthy;
    `stop()` ends exactly the processes it started.
    """

    directory: Path
    pids: dict[str, int] = field(default_factory=dict)
    server: str = ""
    kubeconfig: Path = field(init=False)

    def __post_init__(self) -> None:
        self.directory = self.directory.resolve()
        self.kubeconfig = self.directory / "kubeconfig"

    @property
    def state_file(self) -> Path:
        return self.directory / "state.json"

    def _spawn(self, name: str, args: list[str]) -> subprocess.Popen[bytes]:
        log = (self.directory / f"{name}.log").open("ab")
        process = subprocess.Popen(
            [str(binary(name)), *args],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # a Ctrl-C in the terminal must not kill it mid-write
        )
        self.pids[name] = process.pid
        self._save_state()
        return process

    def _save_state(self) -> None:
        self.state_file.write_text(json.dumps({"pids": self.pids, "server": self.server}))

    def start(self, timeout: float = 120.0, attempts: int = 3) -> DevCluster:
        """Starts etcd, kube-apiserver and kube-controller-manager on free loopback ports.

        A free port is only free when it was looked at: another process (a parallel test run)
        may take it before a component binds it. A start that failed that way is stopped and
        tried again on other ports; any other failure is raised at once.
        """
        for attempt in range(1, attempts + 1):
            try:
                return self._start_once(timeout)
            except DevClusterError:
                self.stop()
                if attempt == attempts or not self._lost_a_port():
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    def _lost_a_port(self) -> bool:
        return any("address already in use" in path.read_text(errors="replace")
                   for path in self.directory.glob("*.log"))

    def _start_once(self, timeout: float) -> DevCluster:
        self.directory.mkdir(parents=True, exist_ok=True)
        for log in self.directory.glob("*.log"):
            log.unlink()  # a retry judges only its own attempt
        pki = Pki.generate(self.directory / "pki")
        etcd_port, etcd_peer_port, api_port, kcm_port = (free_port() for _ in range(4))
        self.server = f"https://127.0.0.1:{api_port}"
        deadline = time.monotonic() + timeout

        etcd = self._spawn("etcd", [
            "--name=default",
            f"--data-dir={self.directory / 'etcd'}",
            f"--listen-client-urls=http://127.0.0.1:{etcd_port}",
            f"--advertise-client-urls=http://127.0.0.1:{etcd_port}",
            f"--listen-peer-urls=http://127.0.0.1:{etcd_peer_port}",
            f"--initial-advertise-peer-urls=http://127.0.0.1:{etcd_peer_port}",
            f"--initial-cluster=default=http://127.0.0.1:{etcd_peer_port}",
            "--unsafe-no-fsync",  # throwaway data: fsync only slows tests down
            "--log-level=warn",
        ])
        self._wait_http(f"http://127.0.0.1:{etcd_port}/health", deadline, etcd, "etcd")

        apiserver = self._spawn("kube-apiserver", [
            f"--etcd-servers=http://127.0.0.1:{etcd_port}",
            "--bind-address=127.0.0.1",
            "--advertise-address=127.0.0.1",
            f"--secure-port={api_port}",
            f"--cert-dir={self.directory / 'apiserver-certs'}",
            f"--tls-cert-file={pki.serving_cert}",
            f"--tls-private-key-file={pki.serving_key}",
            f"--client-ca-file={pki.ca_cert}",
            "--authorization-mode=RBAC",
            f"--service-account-issuer={SERVICE_ACCOUNT_ISSUER}",
            f"--service-account-key-file={pki.sa_public}",
            f"--service-account-signing-key-file={pki.sa_private}",
            "--service-cluster-ip-range=10.0.0.0/24",
            "--enable-priority-and-fairness=false",
            "--profiling=false",
            "--v=1",
        ])
        self._write_admin_kubeconfig(pki)
        self._wait_http(f"{self.server}/readyz", deadline, apiserver, "kube-apiserver", pki)

        controller_manager = self._spawn("kube-controller-manager", [
            f"--kubeconfig={self.kubeconfig}",
            f"--authentication-kubeconfig={self.kubeconfig}",
            f"--authorization-kubeconfig={self.kubeconfig}",
            "--bind-address=127.0.0.1",
            f"--secure-port={kcm_port}",
            f"--cert-dir={self.directory / 'kcm-certs'}",
            f"--service-account-private-key-file={pki.sa_private}",
            f"--root-ca-file={pki.ca_cert}",
            "--leader-elect=false",
            "--use-service-account-credentials=false",
            "--controllers=*,-nodeipam,-nodelifecycle,-cloud-node-lifecycle,-route,-service",
            "--v=1",
        ])
        self._wait_http(f"https://127.0.0.1:{kcm_port}/healthz", deadline, controller_manager,
                        "kube-controller-manager", insecure=True)
        return self

    def _write_admin_kubeconfig(self, pki: Pki) -> None:
        write_kubeconfig(self.kubeconfig, self.server, pki.ca_cert,
                         client_cert=pki.admin_cert, client_key=pki.admin_key)

    def _wait_http(
        self, url: str, deadline: float, process: subprocess.Popen[bytes], name: str,
        pki: Pki | None = None, *, insecure: bool = False,
    ) -> None:
        context: ssl.SSLContext | None = None
        if url.startswith("https"):
            if insecure:
                context = ssl._create_unverified_context()  # self-signed health endpoint only
            else:
                assert pki is not None
                context = ssl.create_default_context(cafile=str(pki.ca_cert))
                context.load_cert_chain(str(pki.admin_cert), str(pki.admin_key))
        last = ""
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise DevClusterError(
                    f"{name} exited with {process.returncode}; see {self.directory / (name + '.log')}"
                )
            try:
                with urllib.request.urlopen(url, context=context, timeout=2) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, OSError) as error:
                last = str(error)
            time.sleep(0.2)  # start-up polling in tooling, not in the operator
        raise DevClusterError(f"{name} not healthy at {url} in time ({last}); see its log")

    def stop(self, grace: float = 10.0) -> None:
        """Stops the recorded PIDs, newest component first: SIGTERM, then SIGKILL after `grace`."""
        for name in reversed([n for n in COMPONENTS if n in self.pids]):
            _terminate(self.pids[name], grace)
        self.pids.clear()
        if self.state_file.exists():
            self.state_file.unlink()

    @classmethod
    def attach(cls, directory: Path) -> DevCluster:
        """A handle on a cluster started earlier by `up`, read from its state file."""
        cluster = cls(directory)
        state = json.loads(cluster.state_file.read_text())
        cluster.pids = {k: int(v) for k, v in state["pids"].items()}
        cluster.server = state["server"]
        return cluster


def _terminate(pid: int, grace: float) -> None:
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        try:
            finished, _ = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:  # not our child (started by `up` in another process)
            finished = 0
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return
        if finished:
            return
        time.sleep(0.1)
    try:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    except (ProcessLookupError, ChildProcessError):
        pass


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tendlc_dev.devcluster", description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=("up", "down", "kubeconfig"))
    parser.add_argument("--dir", type=Path, default=DEFAULT_STATE_DIR, help="state directory")
    args = parser.parse_args(argv)
    directory: Path = args.dir
    if args.command == "up":
        if (directory / "state.json").exists():
            print(f"a dev cluster is already recorded in {directory}; run `down` first", file=sys.stderr)
            return 1
        cluster = DevCluster(directory).start()
        print(f"dev cluster up: {cluster.server}")
        print(f"export KUBECONFIG={cluster.kubeconfig}")
        return 0
    if not (directory / "state.json").exists():
        print(f"no dev cluster recorded in {directory}", file=sys.stderr)
        return 0 if args.command == "down" else 1
    cluster = DevCluster.attach(directory)
    if args.command == "kubeconfig":
        print(cluster.kubeconfig)
        return 0
    cluster.stop()
    print("dev cluster down")
    return 0


if __name__ == "__main__":
    sys.exit(main())
