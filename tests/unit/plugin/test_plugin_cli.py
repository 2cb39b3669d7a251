"""The command line itself, in process: help, version, usage errors, exit codes, offline `plan` files.

What needs a cluster is in tests/e2e/test_plugin.py; here the only "cluster" is a kubeconfig
pointing at a closed loopback port, which is exactly what "unreachable" looks like.
"""

from __future__ import annotations

import socket
import stat
import tomllib
from datetime import UTC, date, datetime, time, timedelta
from importlib import metadata
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner, Result

import tendlc
from tendlc_cli.main import cli

COMMANDS = ["approve", "confirm-osr", "plan", "report", "resume", "retry", "status", "suspend", "why"]
TODAY = date.today()


@pytest.fixture(autouse=True)
def _today_is_fixed(monkeypatch: pytest.MonkeyPatch) -> None:
    """`plan` reads the clock when it runs: pinned to TODAY, a run across midnight cannot see 41 days for 40."""
    import tendlc_cli.commands.plan as plan_command

    noon = datetime.combine(TODAY, time(12), UTC)
    monkeypatch.setattr(plan_command, "utc_now", lambda: noon)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def unreachable(tmp_path: Path) -> Path:
    """A kubeconfig whose server is a loopback port nobody listens on."""
    path = tmp_path / "kubeconfig"
    path.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "gone",
        "clusters": [{"name": "gone", "cluster": {"server": f"https://127.0.0.1:{closed_port()}",
                                                   "insecure-skip-tls-verify": True}}],
        "users": [{"name": "u", "user": {"token": "t"}}],
        "contexts": [{"name": "gone", "context": {"cluster": "gone", "user": "u", "namespace": "team-a"}}],
    }))
    return path


def run(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)


@pytest.fixture
def inventory(tmp_path: Path) -> Path:
    (tmp_path / "loa.pdf").write_bytes(b"%PDF-1.7 signed")
    path = tmp_path / "inventory.csv"
    path.write_text(
        "campaignId,numbers,loaFile,loaSignedDate\n"
        f"CAAA111,19546899283,loa.pdf,{TODAY}\n"
        f"CBBB222,19546899284;19546899285,loa.pdf,{TODAY}\n"
    )
    return path


def test_every_command_has_help_and_the_group_lists_them() -> None:
    group = run("--help")
    assert group.exit_code == 0
    commands = group.output.split("Commands:\n")[1].split("\n\n")[0]
    listed = [line.split()[0] for line in commands.splitlines()]
    assert listed == COMMANDS
    assert "Exit codes: 0 ok; 1 problems found" in group.output
    for command in COMMANDS:
        helped = run(command, "--help")
        assert helped.exit_code == 0, command
        assert "--kubeconfig" in helped.output
        assert "Exit codes" in helped.output, command


def test_the_wave_label_is_named_in_help() -> None:
    assert "tendlc.io/wave=NAME" in run("plan", "--help").output
    assert "tendlc.io/wave=NAME" in run("status", "--help").output


def test_version_is_the_projects_one_version() -> None:
    result = run("--version")
    assert result.exit_code == 0
    assert result.output == f"kubectl tendlc {tendlc.__version__}\n"
    project = tomllib.loads((Path(__file__).resolve().parents[3] / "plugin" / "pyproject.toml").read_text())
    assert project["project"]["version"] == tendlc.__version__
    assert f"tendlc=={tendlc.__version__}" in project["project"]["dependencies"]
    assert metadata.version("tendlc-cli") == tendlc.__version__  # the installed metadata (make venv) agrees


@pytest.mark.parametrize("args", [
    ["plan"],
    ["plan", "--csv", "missing.csv"],
    ["plan", "--csv", "{csv}", "-o", "out", "-f", "out.yaml"],
    ["plan", "--csv", "{csv}", "--secrets-out", "s.yaml", "--apply-secrets"],
    ["plan", "--csv", "{csv}", "-f", "m.yaml", "--secrets-out", "-"],
    ["plan", "--csv", "{csv}", "-f", "m.yaml", "--secrets-out", "m.yaml"],
    ["plan", "--csv", "{csv}", "-o", "out", "--secrets-out", "out/secrets.yaml"],
    ["plan", "--csv", "{csv}", "--apply-secrets", "--no-dry-run-server"],
    ["plan", "--csv", "{csv}", "--wave", "not a label"],
    ["plan", "--csv", "{csv}", "--wave", ""],
    ["retry"],
    ["retry", "x", "-l", "a=b"],
    ["retry", "x", "-A"],
    ["confirm-osr", "x", "--at", "yesterday"],
    ["status", "-n", "a", "-A"],
    ["status", "-o", "yaml"],
    ["report", "-o", "xml"],
    ["why"],
    ["frobnicate"],
])
def test_usage_errors_exit_2(args: list[str], inventory: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                             unreachable: Path) -> None:
    monkeypatch.chdir(tmp_path)
    result = run(*[a.replace("{csv}", str(inventory)) for a in args], env={"KUBECONFIG": str(unreachable)})
    assert result.exit_code == 2, result.output
    assert not (tmp_path / "m.yaml").exists()
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("args", [["status"], ["status", "-A"], ["why", "x"], ["report"], ["retry", "x"],
                                  ["suspend", "--wave", "w1"], ["plan", "--csv", "{csv}", "--dry-run-server"]])
def test_an_unreachable_cluster_exits_3_with_one_line(args: list[str], inventory: Path, unreachable: Path) -> None:
    result = run("--kubeconfig", str(unreachable), *[a.replace("{csv}", str(inventory)) for a in args])
    assert result.exit_code == 3, result.output
    assert "cannot reach the API server at https://127.0.0.1:" in result.output
    assert "Traceback" not in result.output


def test_no_kubeconfig_at_all_exits_3(tmp_path: Path) -> None:
    result = run("status", env={"KUBECONFIG": str(tmp_path / "none"), "HOME": str(tmp_path),
                                "KUBERNETES_SERVICE_HOST": ""})
    assert result.exit_code == 3
    assert "no usable cluster configuration" in result.output


def test_plan_without_a_cluster_checks_offline_and_says_so(inventory: Path, unreachable: Path) -> None:
    result = run("plan", "--csv", str(inventory), env={"KUBECONFIG": str(unreachable)})
    assert result.exit_code == 0, result.output
    assert "2 rows, 2 valid, 0 invalid" in result.output
    assert "checked: the CRD schema, offline" in result.output
    assert "not checked: the CEL rules (" in result.output
    assert "because the server-side dry run could not be done (" in result.output
    assert "nothing written: check only" in result.output


def test_plan_writes_manifests_and_secrets_apart(inventory: Path, unreachable: Path, tmp_path: Path) -> None:
    result = run("plan", "--csv", str(inventory), "-o", str(tmp_path / "cmig"), "--secrets-out",
                 str(tmp_path / "secrets.yaml"), "--wave", "w1", "--suspend", "--no-dry-run-server",
                 env={"KUBECONFIG": str(unreachable)})
    assert result.exit_code == 0, result.output
    assert "the server-side dry run is turned off (--no-dry-run-server)" in result.output
    files = sorted(p.name for p in (tmp_path / "cmig").iterdir())
    assert files == ["caaa111.yaml", "cbbb222.yaml"]
    manifest = yaml.safe_load((tmp_path / "cmig" / "cbbb222.yaml").read_text())
    assert manifest["metadata"]["annotations"] == {"tendlc.io/suspend": "true"}
    assert manifest["metadata"]["labels"] == {"tendlc.io/wave": "w1"}
    secrets = list(yaml.safe_load_all((tmp_path / "secrets.yaml").read_text()))
    assert [s["kind"] for s in secrets] == ["Secret", "Secret"]
    assert stat.S_IMODE((tmp_path / "secrets.yaml").stat().st_mode) == 0o600
    assert all("kind: Secret" not in (tmp_path / "cmig" / f).read_text() for f in files)


def test_plan_can_write_a_wave_in_preflight_mode(inventory: Path, unreachable: Path, tmp_path: Path) -> None:
    out = tmp_path / "w1.yaml"
    result = run("plan", "--csv", str(inventory), "-f", str(out), "--preflight", "--no-dry-run-server",
                 env={"KUBECONFIG": str(unreachable)})
    assert result.exit_code == 0, result.output
    manifests = list(yaml.safe_load_all(out.read_text()))
    assert [m["spec"]["mode"] for m in manifests] == ["Preflight", "Preflight"]


def test_plan_with_a_bad_row_touches_no_output(inventory: Path, unreachable: Path, tmp_path: Path) -> None:
    out, secrets = tmp_path / "m.yaml", tmp_path / "s.yaml"
    out.write_text("previous manifests\n")
    old = TODAY - timedelta(days=40)
    with inventory.open("a") as handle:
        handle.write(f"CCCC333,19546899286,loa.pdf,{old}\n")
    result = run("plan", "--csv", str(inventory), "-f", str(out), "--secrets-out", str(secrets),
                 env={"KUBECONFIG": str(unreachable)})
    assert result.exit_code == 1
    assert f"  line 4: LOA signed {old} is 40 days old" in result.output
    assert "nothing written: 1 invalid row(s)" in result.output
    assert out.read_text() == "previous manifests\n"
    assert not secrets.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["inventory.csv", "kubeconfig", "loa.pdf", "m.yaml"]

    skipped = run("plan", "--csv", str(inventory), "-f", str(out), "--secrets-out", str(secrets), "--skip-invalid",
                  env={"KUBECONFIG": str(unreachable)})
    assert skipped.exit_code == 1
    assert [d["metadata"]["name"] for d in yaml.safe_load_all(out.read_text())] == ["caaa111", "cbbb222"]


def test_plan_to_stdout_keeps_the_report_on_stderr(inventory: Path, unreachable: Path) -> None:
    result = CliRunner().invoke(cli, ["plan", "--csv", str(inventory), "-f", "-"], env={"KUBECONFIG": str(unreachable)})
    assert result.exit_code == 0
    assert [d["kind"] for d in yaml.safe_load_all(result.stdout)] == ["CampaignMigration", "CampaignMigration"]
    assert "2 rows, 2 valid" in result.stderr
    assert "kind: Secret" not in result.stdout


def test_an_inventory_that_is_not_utf8_is_named_not_a_traceback(tmp_path: Path, unreachable: Path) -> None:
    path = tmp_path / "latin1.csv"
    path.write_bytes("campaignId,numbers,loaFile,loaSignedDate,campaignName\nCOJD655,19546899283,a.pdf,2026-11-20,"
                     "Caf\u00e9\n".encode("latin-1"))
    result = run("plan", "--csv", str(path), env={"KUBECONFIG": str(unreachable)})
    assert result.exit_code == 1
    assert "is not UTF-8 (byte 94 is 0xe9): save the inventory as UTF-8 CSV" in result.output
