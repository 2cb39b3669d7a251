"""The admin API's ledger, counters, time and reset, the state file that lets a rehearsal survive a
restart, and the command line."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import signal
import sys
from pathlib import Path

import httpx

from sandbox.helpers import INFOBIP_KEY, TCR_AUTH, SandboxFactory, import_and_migrate, numbers_for, subscribe
from tendlc_dev.sandbox import SandboxServer
from tendlc_dev.sandbox.__main__ import build_config, parser


async def test_ledger_records_every_partner_request_but_not_admin_calls(
    sandbox: SandboxServer, infobip: httpx.AsyncClient, tcr: httpx.AsyncClient, admin: httpx.AsyncClient
) -> None:
    await import_and_migrate(infobip, tcr, "COJD201", numbers_for(201))
    await admin.get("/counters")
    ledger = (await admin.get("/ledger")).json()
    entries = ledger["entries"]
    assert [(e["method"], e["endpoint"], e["status"]) for e in entries] == [
        ("POST", "infobip.import_numbers", 200),
        ("POST", "tcr.migrate_cnp", 200),
        ("POST", "infobip.migrate", 200),
    ]
    assert ledger["lastSeq"] == entries[-1]["seq"]
    assert entries[1]["bodySha256"] == hashlib.sha256(b"").hexdigest()
    assert all(e["effect"] for e in entries)
    assert all(e["time"].endswith("Z") for e in entries)

    only_tcr = (await admin.get("/ledger", params={"partner": "tcr"})).json()["entries"]
    assert [e["path"] for e in only_tcr] == ["/tcr/v2/campaign/COJD201/migrateCnp/OPMKT"]
    later = (await admin.get("/ledger", params={"since": entries[1]["seq"]})).json()["entries"]
    assert [e["seq"] for e in later] == [entries[2]["seq"]]
    assert (await admin.get("/ledger", params={"since": "x"})).status_code == 400


async def test_time_can_be_read_compressed_and_advanced(admin: httpx.AsyncClient) -> None:
    before = (await admin.get("/time")).json()
    assert before["timeScale"] == 0.0
    advanced = (await admin.post("/time/advance", json={"seconds": 3600})).json()
    assert advanced["epochSeconds"] == before["epochSeconds"] + 3600
    assert (await admin.post("/time/advance", json={"seconds": -1})).status_code == 400
    assert (await admin.put("/time", json={"timeScale": 60})).json()["timeScale"] == 60


async def test_reset_forgets_everything(
    sandbox: SandboxServer, infobip: httpx.AsyncClient, tcr: httpx.AsyncClient, admin: httpx.AsyncClient
) -> None:
    await import_and_migrate(infobip, tcr, "COJD202", numbers_for(202))
    assert (await admin.post("/reset")).status_code == 200
    assert (await admin.get("/campaigns")).json() == {"campaigns": []}
    assert (await admin.get("/counters")).json() == {
        "migrate": {}, "migrateCnp": {}, "subscriptionCreate": {}, "addNumbers": {}
    }
    assert (await admin.get("/ledger")).json()["entries"] == []
    assert sandbox.state.numbers == {}


async def test_state_file_survives_a_restart(make_sandbox: SandboxFactory, tmp_path: Path) -> None:
    state_file = tmp_path / "sandbox.json"
    first = await make_sandbox(state_file=state_file)
    async with (
        httpx.AsyncClient(base_url=first.infobip_url, headers=INFOBIP_KEY) as infobip,
        httpx.AsyncClient(base_url=first.tcr_url, auth=TCR_AUTH) as tcr,
    ):
        created = await import_and_migrate(infobip, tcr, "COJD203", numbers_for(203))
        await subscribe(infobip, "http://127.0.0.1:9/hook")
    first.advance(30)
    moment = first.clock.now()
    await first.stop()
    assert json.loads(state_file.read_text())["version"] == 1

    second = await make_sandbox(state_file=state_file)
    assert second.clock.now() >= moment
    async with httpx.AsyncClient(base_url=second.infobip_url, headers=INFOBIP_KEY) as infobip:
        again = await infobip.get(f"/number-registration/1/campaigns/{created['id']}")
        assert again.json()["stage"] == "IN_MIGRATION"
        duplicate = await infobip.post(
            "/number-registration/1/campaigns/migrate",
            json={"name": "x", "externalCampaignId": "COJD203", "numbers": numbers_for(203)},
        )
        assert duplicate.status_code == 400
        assert (await infobip.get("/subscriptions/1/subscription/REGISTRATION/tendlc-sub")).status_code == 200
    counter = second.ledger.counters["migrate"]["COJD203"]
    assert (counter.attempts, counter.successes) == (2, 1)
    second.advance(100_000)
    campaign = second.state.campaigns[created["id"]]
    assert campaign.stage == "REGISTERED", "schedules resume after a restart"


async def test_save_without_a_state_file_is_a_conflict(admin: httpx.AsyncClient) -> None:
    assert (await admin.post("/save")).status_code == 409


def test_command_line_flags_and_environment_build_the_config(tmp_path: Path) -> None:
    args = parser().parse_args(
        ["--port", "0", "--time-scale", "60", "--rate-limit-scale", "100", "--seed", "7", "--drop-probability", "0.1"]
    )
    config = build_config(args, {"TENDLC_SANDBOX_INFOBIP_API_KEY": "from-env"})
    assert config.time_scale == 60
    assert config.rate_limits.scale == 100
    assert (config.faults.seed, config.faults.drop_probability) == (7, 0.1)
    assert config.infobip_api_key == "from-env"
    flagged = build_config(parser().parse_args(["--infobip-api-key", "flag", "--no-rate-limits"]), {})
    assert flagged.infobip_api_key == "flag"
    assert flagged.rate_limits.enabled is False


async def test_python_dash_m_serves_and_stops_on_sigterm(tmp_path: Path) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tendlc_dev.sandbox",
        "--port",
        "0",
        "--state-file",
        str(tmp_path / "state.json"),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "TENDLC_SANDBOX_TCR_API_SECRET": "cli-secret"},
    )
    try:
        assert process.stdout is not None
        line = (await asyncio.wait_for(process.stdout.readline(), 20)).decode().strip()
        assert line.startswith("SANDBOX_URL=http://127.0.0.1:")
        url = line.split("=", 1)[1]
        async with httpx.AsyncClient(base_url=f"{url}/tcr/v2", auth=("sandbox-tcr-key", "cli-secret")) as client:
            assert (await client.get("/campaign/COJD655")).json()["status"] == "ACTIVE"
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(process.communicate(), 20)
    assert process.returncode == 0
    assert "GET /tcr/v2/campaign/COJD655 200" in stderr.decode(), "one log line per request"
    assert (tmp_path / "state.json").exists()
