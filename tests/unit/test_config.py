"""Operator settings: read from TENDLC_* variables, and a bad one is named at start-up."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
from pydantic import ValidationError

from tendlc.clients.ratelimit import RateLimit
from tendlc.config import Settings


def test_defaults_match_the_partners_documentation() -> None:
    settings = Settings()
    assert settings.upstream_cnp_id == "OPMKT"
    assert settings.tcr_base_url == "https://csp-api.campaignregistry.com/v2"
    assert settings.loa_max_age.days == 30
    assert settings.watch_namespaces == []


def test_settings_come_from_prefixed_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TENDLC_INFOBIP_BASE_URL", "https://acme.api.infobip.com/")
    monkeypatch.setenv("TENDLC_INFOBIP_CREDENTIALS_SECRET__NAME", "infobip")
    monkeypatch.setenv("TENDLC_WATCH_NAMESPACES", '["team-a", "team-b"]')
    monkeypatch.setenv("TENDLC_RATE_LIMITS", '{"tcr.write": {"rate": 1.5, "burst": 3}}')
    settings = Settings()
    assert settings.infobip_base_url == "https://acme.api.infobip.com"
    assert settings.infobip_credentials_secret is not None
    assert settings.infobip_credentials_secret.name == "infobip"
    assert settings.watch_namespaces == ["team-a", "team-b"]
    assert settings.limiter_overrides() == {("tcr", "write"): RateLimit(rate=1.5, burst=3)}


@pytest.mark.parametrize(
    ("variable", "value", "named"),
    [
        ("TENDLC_INFOBIP_BASE_URL", "ftp://nope", "infobip_base_url"),
        ("TENDLC_BACKOFF_INITIAL_SECONDS", "-1", "backoff_initial_seconds"),
        ("TENDLC_UPSTREAM_CNP_ID", "opmkt", "upstream_cnp_id"),
        ("TENDLC_RATE_LIMITS", '{"infobip.everything": {"rate": 1, "burst": 1}}', "rate_limits"),
    ],
)
def test_a_bad_setting_is_rejected_by_name(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, named: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ValidationError, match=named):
        Settings()


def test_backoff_max_below_initial_is_rejected(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TENDLC_BACKOFF_INITIAL_SECONDS", "60")
    monkeypatch.setenv("TENDLC_BACKOFF_MAX_SECONDS", "10")
    with pytest.raises(ValidationError, match="backoff_max_seconds"):
        Settings()


def test_the_operator_refuses_to_start_with_a_bad_setting() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "tendlc"], capture_output=True, text=True, timeout=60,
        env={"TENDLC_TCR_BASE_URL": "not a url", "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 2
    assert "tcr_base_url" in result.stderr


def test_the_default_allow_list_is_the_partners_public_https_hosts() -> None:
    settings = Settings()
    allowed = settings.partner_allow_list
    assert allowed.allows("https://api.infobip.com")
    assert allowed.allows("https://xxxxx.api.infobip.com/")
    assert allowed.allows("https://csp-api.campaignregistry.com/v2")
    assert not allowed.allows("http://xxxxx.api.infobip.com")  # https only
    assert not allowed.allows("https://attacker.example")


@pytest.mark.parametrize(
    ("value", "named"),
    [
        ('["https://*.com"]', "wildcard"),
        ('["https://api.infobip.com/path"]', "has a path"),
        ('["ftp://api.infobip.com"]', "http(s)"),
        ('["https://user@api.infobip.com"]', "user info"),
        ("[]", "empty"),
    ],
)
def test_a_bad_allow_list_entry_stops_start_up_naming_it(
    monkeypatch: pytest.MonkeyPatch, value: str, named: str
) -> None:
    monkeypatch.setenv("TENDLC_ALLOWED_PARTNER_HOSTS", value)
    with pytest.raises(ValidationError, match="allowed_partner_hosts") as info:
        Settings()
    assert named in str(info.value)


def test_a_central_endpoint_outside_the_allow_list_stops_start_up(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TENDLC_TCR_BASE_URL", "http://127.0.0.1:8085/tcr/v2")
    with pytest.raises(ValidationError, match=re.escape("TENDLC_TCR_BASE_URL points at http://127.0.0.1:8085")):
        Settings()
    monkeypatch.setenv("TENDLC_ALLOWED_PARTNER_HOSTS", '["http://127.0.0.1:8085", "https://api.infobip.com"]')
    assert Settings().tcr_base_url == "http://127.0.0.1:8085/tcr/v2"


def test_a_central_endpoint_with_a_query_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TENDLC_INFOBIP_BASE_URL", "https://xxxxx.api.infobip.com/?x=")
    with pytest.raises(ValidationError, match="infobip_base_url"):
        Settings()


def test_the_webhook_public_url_must_be_https_unless_allowed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TENDLC_WEBHOOK_PUBLIC_URL", "http://hooks.example.com/webhooks/infobip")
    with pytest.raises(ValidationError, match="TENDLC_WEBHOOK_ALLOW_HTTP"):
        Settings()
    monkeypatch.setenv("TENDLC_WEBHOOK_ALLOW_HTTP", "true")
    assert Settings().webhook_public_url == "http://hooks.example.com/webhooks/infobip"


def test_metrics_and_webhook_bind_addresses_default_to_the_bind_address(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TENDLC_BIND_ADDRESS", "10.0.0.5")
    settings = Settings()
    assert (settings.metrics_bind, settings.webhook_bind) == ("10.0.0.5", "10.0.0.5")
    monkeypatch.setenv("TENDLC_METRICS_BIND_ADDRESS", "127.0.0.1")
    monkeypatch.setenv("TENDLC_WEBHOOK_BIND_ADDRESS", "0.0.0.0")
    settings = Settings()
    assert (settings.metrics_bind, settings.webhook_bind) == ("127.0.0.1", "0.0.0.0")
