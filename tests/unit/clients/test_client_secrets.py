"""Secrets never show: not in repr/str of credentials, clients or models, not in error messages,
tracebacks or log records, even when a partner echoes them back."""

from __future__ import annotations

import json
import logging
import traceback

import httpx
import pytest

from tendlc.clients.credentials import InfobipCredentials, TcrCredentials
from tendlc.clients.infobip import InfobipClient
from tendlc.clients.models import SubscriptionRequest, WebhookProfile, WebhookSecurity
from tendlc.clients.ratelimit import RateLimiterRegistry
from tendlc.clients.tcr import TcrClient
from tendlc.partner_errors import PartnerError
from tendlc.partner_requests import MigrationRequest

UUID = "44e8c5fc-2c1b-4b7e-9d1a-3f0c7e2a9b11"


def assert_no_canary(text: str, canaries: tuple[str, ...]) -> None:
    for canary in canaries:
        assert canary not in text


def everything_about(error: BaseException) -> str:
    parts = [str(error), repr(error), "".join(traceback.format_exception(error))]
    if isinstance(error, PartnerError):
        parts.append(error.message)
        parts.extend(repr(problem) for problem in error.problems)
    return "\n".join(parts)


def subscription(password: str, hmac_key: str) -> tuple[SubscriptionRequest, SubscriptionRequest]:
    basic = SubscriptionRequest(
        subscription_id="tendlc",
        profile=WebhookProfile(
            profile_id="tendlc",
            notify_url="https://hooks.example.com/infobip",
            security=WebhookSecurity.basic("auth", "infobip", password),
        ),
    )
    hmac = SubscriptionRequest(
        subscription_id="tendlc-hmac",
        profile=WebhookProfile(
            profile_id="tendlc-hmac",
            notify_url="https://hooks.example.com/infobip",
            security=WebhookSecurity.hmac("auth-hmac", hmac_key),
        ),
    )
    return basic, hmac


def test_credentials_and_models_do_not_show_secrets(canaries: tuple[str, ...]) -> None:
    api_key, password, tcr_key, tcr_secret, hook_password, hmac_key = canaries
    shown: list[str] = []
    for value in (
        InfobipCredentials.from_api_key(api_key),
        InfobipCredentials.from_basic("operator", password),
        TcrCredentials.of(tcr_key, tcr_secret),
        *subscription(hook_password, hmac_key),
    ):
        shown += [repr(value), str(value), value.model_dump_json(), repr(value.model_dump())]
    assert_no_canary("\n".join(shown), canaries)


def test_credentials_still_build_the_header(canaries: tuple[str, ...]) -> None:
    assert InfobipCredentials.from_api_key(canaries[0]).authorization() == f"App {canaries[0]}"


@pytest.mark.parametrize(
    "kwargs",
    [{}, {"api_key": "k", "username": "u", "password": "p"}, {"username": "u"}, {"password": "p"}, {"api_key": ""}],
)
def test_infobip_credentials_need_exactly_one_complete_method(kwargs: dict[str, str]) -> None:
    with pytest.raises(ValueError, match="Infobip"):
        InfobipCredentials(**kwargs)


async def test_clients_do_not_show_secrets(canaries: tuple[str, ...], limiters: RateLimiterRegistry) -> None:
    infobip = InfobipClient(
        "https://acme.api.infobip.test", InfobipCredentials.from_api_key(canaries[0]), limiter_registry=limiters
    )
    tcr = TcrClient("https://tcr.test/v2", TcrCredentials.of(canaries[2], canaries[3]), limiter_registry=limiters)
    async with infobip, tcr:
        assert_no_canary(repr(infobip) + str(infobip) + repr(tcr) + str(tcr), canaries)
        for client in (infobip, tcr):
            internals = vars(client._http)  # the plumbing keeps secrets only behind callables
            assert_no_canary(repr(internals) + repr(vars(internals["_exchange"])), canaries)


def echo_everything(request: httpx.Request) -> httpx.Response:
    """A partner that quotes the whole request (headers and body) back in its error."""
    echoed = f"{dict(request.headers)} {request.content.decode()}"
    return httpx.Response(
        400,
        json={
            "requestError": {
                "serviceException": {
                    "messageId": "BAD_REQUEST",
                    "text": f"cannot process {echoed}",
                    "validationErrors": {"profile.security": [echoed]},
                }
            }
        },
    )


async def test_a_partner_echoing_credentials_and_webhook_secrets_is_redacted(
    canaries: tuple[str, ...], limiters: RateLimiterRegistry, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    client = InfobipClient(
        "https://acme.api.infobip.test",
        InfobipCredentials.from_api_key(canaries[0]),
        limiter_registry=limiters,
        transport=httpx.MockTransport(echo_everything),
    )
    basic, hmac = subscription(canaries[4], canaries[5])
    async with client:
        for request in (basic, hmac):
            with pytest.raises(PartnerError) as caught:
                await client.create_subscription(request)
            text = everything_about(caught.value)
            assert "cannot process" in text
            assert "***" in text
            assert_no_canary(text, canaries)
    assert_no_canary("\n".join(record.getMessage() for record in caplog.records), canaries)


async def test_a_basic_auth_header_echoed_by_tcr_is_redacted(
    canaries: tuple[str, ...], limiters: RateLimiterRegistry
) -> None:
    def echo(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            400, json=[{"code": 400, "description": f"bad header {request.headers['Authorization']}"}]
        )

    client = TcrClient(
        "https://tcr.test/v2",
        TcrCredentials.of(canaries[2], canaries[3]),
        limiter_registry=limiters,
        transport=httpx.MockTransport(echo),
    )
    async with client:
        with pytest.raises(PartnerError) as caught:
            await client.elect_cnp("COJD655", "OPMKT")
    text = everything_about(caught.value)
    assert "bad header ***" in text
    assert_no_canary(text, canaries)
    assert "Basic" not in caught.value.message.replace("bad header ***", "")


async def test_a_transport_error_mentioning_a_secret_is_redacted(
    canaries: tuple[str, ...], limiters: RateLimiterRegistry
) -> None:
    def explode(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError(f"proxy refused {request.headers['Authorization']}")

    client = InfobipClient(
        "https://acme.api.infobip.test",
        InfobipCredentials.from_api_key(canaries[0]),
        limiter_registry=limiters,
        transport=httpx.MockTransport(explode),
    )
    async with client:
        with pytest.raises(PartnerError) as caught:
            await client.get_campaign(UUID)
    assert_no_canary(everything_about(caught.value), canaries)


async def test_a_2xx_body_we_cannot_read_is_redacted_too(
    canaries: tuple[str, ...], limiters: RateLimiterRegistry
) -> None:
    client = InfobipClient(
        "https://acme.api.infobip.test",
        InfobipCredentials.from_api_key(canaries[0]),
        limiter_registry=limiters,
        transport=httpx.MockTransport(lambda request: httpx.Response(200, content=f"oops {canaries[0]}".encode())),
    )
    async with client:
        with pytest.raises(PartnerError) as caught:
            await client.get_campaign(UUID)
    assert_no_canary(everything_about(caught.value), canaries)


async def test_request_bodies_are_not_quoted_in_errors(limiters: RateLimiterRegistry) -> None:
    """A partner error never carries what we sent (only what the partner said)."""
    client = InfobipClient(
        "https://acme.api.infobip.test",
        InfobipCredentials.from_api_key("k-bodies"),
        limiter_registry=limiters,
        transport=httpx.MockTransport(lambda request: httpx.Response(500, content=b"")),
    )
    async with client:
        with pytest.raises(PartnerError) as caught:
            await client.submit_migration(
            MigrationRequest("secretCampaignName", "COJD655", tuple(["19168361160"]), None, False)
        )
    text = everything_about(caught.value)
    assert "19168361160" not in text
    assert "secretCampaignName" not in text
    assert json.dumps({"x": 1}) not in text
