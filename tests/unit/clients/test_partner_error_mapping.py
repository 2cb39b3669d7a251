"""How HTTP outcomes become domain errors: statuses, bodies, headers, transport failures."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tendlc.clients.infobip import INFOBIP_DIALECT, InfobipClient
from tendlc.clients.responses import error_for_response
from tendlc.clients.tcr import TCR_DIALECT, TcrClient
from tendlc.partner_errors import (
    PartnerAuthFailed,
    PartnerError,
    PartnerForbidden,
    PartnerNotFound,
    PartnerProblem,
    PartnerRejected,
    PartnerResponseInvalid,
    PartnerUnavailable,
)
from tendlc.partner_requests import MigrationRequest

NOW = datetime(2026, 11, 26, 10, 0, 0, tzinfo=UTC)
INFOBIP_BAD_REQUEST = json.dumps(
    {
        "requestError": {
            "serviceException": {
                "messageId": "BAD_REQUEST",
                "text": "Bad request",
                "validationErrors": {"numbers[0]": ['must match "^1\\d{10}$"']},
            }
        }
    }
).encode()
INFOBIP_API_ERROR = json.dumps(
    {
        "errorCode": "E403",
        "description": "Insufficient permissions to access the requested resource.",
        "action": "Repeat the request with new or different credentials.",
        "violations": [],
        "resources": [],
    }
).encode()


def infobip_error(status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> PartnerError:
    return error_for_response(INFOBIP_DIALECT, "campaigns.get", status, body, headers or {}, now=NOW)


def tcr_error(status: int, entries: list[dict[str, Any]], headers: dict[str, str] | None = None) -> PartnerError:
    body = json.dumps(entries).encode()
    return error_for_response(TCR_DIALECT, "campaign.migrate_cnp", status, body, headers or {}, now=NOW)


# --------------------------------------------------------------------------------- status classes


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (400, PartnerRejected),
        (401, PartnerAuthFailed),
        (403, PartnerForbidden),
        (404, PartnerNotFound),
        (405, PartnerRejected),
        (408, PartnerUnavailable),
        (409, PartnerRejected),
        (422, PartnerRejected),
        (429, PartnerUnavailable),
        (500, PartnerUnavailable),
        (502, PartnerUnavailable),
        (503, PartnerUnavailable),
        (504, PartnerUnavailable),
        (301, PartnerRejected),
        (600, PartnerResponseInvalid),
    ],
)
def test_each_status_maps_to_its_domain_error(status: int, kind: type[PartnerError]) -> None:
    error = infobip_error(status)
    assert type(error) is kind
    assert error.partner == "infobip"
    assert error.endpoint == "campaigns.get"
    assert error.status == status


def test_not_found_is_a_kind_of_rejection() -> None:
    assert isinstance(infobip_error(404), PartnerRejected)


def test_rate_limited_answer_is_temporary_and_flagged() -> None:
    error = infobip_error(429, b'{"requestError":{"serviceException":{"messageId":"TOO_MANY_REQUESTS"}}}')
    assert isinstance(error, PartnerUnavailable)
    assert error.rate_limited is True
    assert error.retry_after is None


def test_server_error_is_temporary_but_not_rate_limited() -> None:
    error = infobip_error(503)
    assert isinstance(error, PartnerUnavailable)
    assert error.rate_limited is False


@pytest.mark.parametrize(
    ("header", "seconds"),
    [("7", 7.0), ("Thu, 26 Nov 2026 10:00:45 GMT", 45.0), ("nonsense", None)],
)
def test_retry_after_header_is_honoured_on_429(header: str, seconds: float | None) -> None:
    error = infobip_error(429, headers={"Retry-After": header})
    assert isinstance(error, PartnerUnavailable)
    assert error.retry_after == seconds


def test_retry_after_header_is_honoured_on_503() -> None:
    error = infobip_error(503, headers={"retry-after": "12"})
    assert isinstance(error, PartnerUnavailable)
    assert error.retry_after == 12.0


# --------------------------------------------------------------------------------- bodies


def test_infobip_validation_errors_travel_in_the_rejection() -> None:
    error = infobip_error(400, INFOBIP_BAD_REQUEST)
    assert isinstance(error, PartnerRejected)
    assert PartnerProblem("BAD_REQUEST", 'must match "^1\\d{10}$"', field="numbers[0]") in error.problems
    assert 'numbers[0]: must match "^1\\d{10}$"' in error.message
    assert str(error).startswith("infobip campaigns.get: HTTP 400")


def test_infobip_api_error_shape_travels_in_forbidden() -> None:
    error = infobip_error(403, INFOBIP_API_ERROR)
    assert isinstance(error, PartnerForbidden)
    assert error.problems[0].code == "E403"
    assert "Insufficient permissions" in error.message


@pytest.mark.parametrize("body", [b"", b"   ", b"<html>Bad Gateway</html>", b"\xff\xfe", b"{"])
def test_malformed_error_bodies_still_map_by_status(body: bytes) -> None:
    rejected = infobip_error(400, body)
    assert type(rejected) is PartnerRejected
    assert rejected.problems == ()
    assert "HTTP 400" in rejected.message
    assert isinstance(infobip_error(502, body), PartnerUnavailable)


def test_html_error_page_is_quoted_briefly_on_one_line() -> None:
    error = infobip_error(502, b"<html>\n<body>upstream connect error</body>\n</html>" + b" " * 5000)
    assert "upstream connect error" in error.message
    assert "\n" not in error.message


# --------------------------------------------------------------------------------- TCR codes


@pytest.mark.parametrize("code", [590, 591, 630])
def test_tcr_temporary_codes_in_a_400_mean_retry_in_30_seconds(code: int) -> None:
    error = tcr_error(400, [{"code": code, "fields": None, "description": "Please retry in 30 seconds"}])
    assert isinstance(error, PartnerUnavailable)
    assert error.retry_after == 30.0
    assert error.rate_limited is False
    assert error.problems[0].code == str(code)
    assert "Please retry in 30 seconds" in error.message


def test_tcr_retry_after_header_longer_than_30_seconds_wins() -> None:
    error = tcr_error(400, [{"code": 591, "description": "busy"}], headers={"Retry-After": "90"})
    assert isinstance(error, PartnerUnavailable)
    assert error.retry_after == 90.0


@pytest.mark.parametrize(
    ("code", "description"),
    [
        (518, "Campaign is expired"),
        (509, "Campaign rejected"),
        (523, "Loop detected in the sharing chain"),
        (525, "Campaign already has a pending or accepted CNP migration to OPMKT"),
    ],
)
def test_tcr_permanent_codes_are_rejections_with_tcr_words(code: int, description: str) -> None:
    error = tcr_error(400, [{"code": code, "field": "campaignId", "description": description}])
    assert type(error) is PartnerRejected
    assert error.problems == (PartnerProblem(str(code), description, field="campaignId"),)
    assert description in error.message


def test_tcr_mixed_temporary_and_permanent_codes_are_permanent() -> None:
    error = tcr_error(400, [{"code": 591, "description": "busy"}, {"code": 518, "description": "expired"}])
    assert type(error) is PartnerRejected


def test_tcr_401_and_404_keep_their_meaning() -> None:
    assert isinstance(tcr_error(401, [{"code": 401, "description": "Unauthorized"}]), PartnerAuthFailed)
    assert isinstance(tcr_error(404, [{"code": 404, "description": "Campaign not found"}]), PartnerNotFound)


def test_tcr_429_is_rate_limited() -> None:
    error = tcr_error(429, [{"code": 429, "description": "Too many requests"}], headers={"Retry-After": "10"})
    assert isinstance(error, PartnerUnavailable)
    assert error.rate_limited is True
    assert error.retry_after == 10.0


@settings(max_examples=100)
@given(status=st.integers(min_value=300, max_value=599), body=st.binary(max_size=200))
def test_error_mapping_never_raises_and_respects_status(status: int, body: bytes) -> None:
    for dialect in (INFOBIP_DIALECT, TCR_DIALECT):
        error = error_for_response(dialect, "x.y", status, body, {"Retry-After": "zzz"}, now=NOW)
        assert isinstance(error, PartnerError)
        assert error.status == status
        if status >= 500 or status == 429:
            assert isinstance(error, PartnerUnavailable)


# ------------------------------------------------------------------------ through the transport


def failing_transport(exception: Exception) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        raise exception

    return httpx.MockTransport(handler)


def client_with(transport: httpx.AsyncBaseTransport, limiters: Any, calls: Any) -> InfobipClient:
    from tendlc.clients.credentials import InfobipCredentials

    return InfobipClient(
        "https://acme.api.infobip.test",
        InfobipCredentials.from_api_key("key-for-transport-tests"),
        timeout=0.5,
        limiter_registry=limiters,
        on_call=calls,
        transport=transport,
    )


@pytest.mark.parametrize(
    ("exception", "status_class"),
    [
        (httpx.ConnectTimeout("connect timed out"), "timeout"),
        (httpx.ReadTimeout("read timed out"), "timeout"),
        (httpx.PoolTimeout("pool timed out"), "timeout"),
        (httpx.ConnectError("connection refused"), "connection_error"),
        (httpx.ReadError("connection reset by peer"), "connection_error"),
        (httpx.RemoteProtocolError("Server disconnected without sending a response."), "connection_error"),
        (httpx.WriteError("broken pipe"), "connection_error"),
    ],
)
async def test_transport_failures_are_unavailable_and_observed(
    exception: Exception, status_class: str, limiters: Any, calls: Any
) -> None:
    async with client_with(failing_transport(exception), limiters, calls) as client:
        with pytest.raises(PartnerUnavailable) as caught:
            await client.get_campaign("44e8c5fc-2c1b-4b7e-9d1a-3f0c7e2a9b11")
    assert caught.value.rate_limited is False
    assert caught.value.status is None
    assert caught.value.__cause__ is None
    assert type(exception).__name__ in caught.value.message
    assert calls.seen[0][:3] == ("infobip", "campaigns.get", status_class)


async def test_a_dropped_connection_on_the_migrate_post_is_unavailable(limiters: Any, calls: Any) -> None:
    transport = failing_transport(httpx.RemoteProtocolError("Server disconnected without sending a response."))
    async with client_with(transport, limiters, calls) as client:
        with pytest.raises(PartnerUnavailable):
            await client.submit_migration(
            MigrationRequest("migrateCampaignCOJD655", "COJD655", tuple(["19168361160"]), None, False)
        )


@pytest.mark.parametrize(
    "body",
    [b"", b"not json", b"[1,2,3]", b'{"name": "no id"}', b'"just a string"', b"{" * 50],
)
async def test_a_2xx_answer_we_cannot_read_is_response_invalid(body: bytes, limiters: Any, calls: Any) -> None:
    transport = httpx.MockTransport(lambda request: httpx.Response(200, content=body))
    async with client_with(transport, limiters, calls) as client:
        with pytest.raises(PartnerResponseInvalid) as caught:
            await client.get_campaign("44e8c5fc-2c1b-4b7e-9d1a-3f0c7e2a9b11")
    assert caught.value.endpoint == "campaigns.get"
    assert calls.seen[0][2] == "2xx"


async def test_error_answers_raise_through_the_client(limiters: Any, calls: Any) -> None:
    transport = httpx.MockTransport(lambda request: httpx.Response(404, content=b""))
    async with client_with(transport, limiters, calls) as client:
        with pytest.raises(PartnerNotFound):
            await client.get_campaign("44e8c5fc-2c1b-4b7e-9d1a-3f0c7e2a9b11")
    assert calls.seen[0][:3] == ("infobip", "campaigns.get", "4xx")


async def test_a_real_timeout_is_unavailable(limiters: Any, calls: Any) -> None:
    """A partner slower than the per-call timeout: real asyncio time, a short timeout."""
    import asyncio

    class SlowTransport(httpx.AsyncBaseTransport):
        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            await asyncio.sleep(5)
            return httpx.Response(200, json={})

    from tendlc.clients.credentials import TcrCredentials

    client = TcrClient(
        "https://csp-api.tcr.test/v2",
        TcrCredentials.of("k-transport", "s-transport"),
        timeout=0.05,
        limiter_registry=limiters,
        on_call=calls,
        transport=SlowTransport(),
    )
    async with client:
        with pytest.raises(PartnerUnavailable) as caught:
            await client.get_sharing("COJD655")
    assert "no answer within 0.05 s" in caught.value.message
    assert calls.seen[0][:3] == ("tcr", "campaign.sharing", "timeout")
