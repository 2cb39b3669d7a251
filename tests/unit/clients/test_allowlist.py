"""The partner allow-list: scheme, host and port exactly; one wildcard label; nothing hidden in the URL."""

from __future__ import annotations

import pytest

from tendlc.clients.allowlist import (
    DEFAULT_ALLOWED_PARTNER_HOSTS,
    AllowedEndpoint,
    EndpointNotAllowed,
    PartnerAllowList,
)

SANDBOX = "http://127.0.0.1:8085"
ALLOWED = PartnerAllowList.parse([*DEFAULT_ALLOWED_PARTNER_HOSTS, SANDBOX, "https://[::1]:8443"])


@pytest.mark.parametrize(
    "url",
    [
        "https://api.infobip.com",
        "https://api.infobip.com:443/",
        "https://xxxxx.api.infobip.com",
        "https://XXXXX.API.Infobip.com/some/prefix",
        "https://csp-api.campaignregistry.com/v2",
        "https://csp-api-staging.campaignregistry.com/v2",
        "http://127.0.0.1:8085/infobip",
        "https://[::1]:8443/tcr/v2",
    ],
)
def test_allowed_endpoints_pass(url: str) -> None:
    assert ALLOWED.check(url, "spec.infobip.baseUrl").host


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://127.0.0.1:8086/infobip", "another loopback port: an attacker's listener"),
        ("http://localhost:8085/infobip", "another name for the same address is another host"),
        ("http://127.1:8085", "a short form of the address"),
        ("http://2130706433:8085", "the address as one number"),
        ("http://0x7f.0.0.1:8085", "the address in hex"),
        ("https://127.0.0.1:8085", "https where the entry says http"),
        ("http://api.infobip.com", "http where the entry says https"),
        ("https://api.infobip.com:8443", "a port the entry does not name"),
        ("https://a.b.api.infobip.com", "the wildcard matches exactly one label"),
        ("https://x.api.infobip.com.attacker.example", "a suffix is not a match"),
        ("https://api.infobip.com.", "a trailing dot is another name"),
        ("https://attackerapi.infobip.com", "no label boundary"),
        ("https://attacker.example", "not a partner"),
        ("https://169.254.169.254/latest/meta-data", "a cloud metadata endpoint"),
    ],
)
def test_everything_else_is_refused_naming_host_and_setting(url: str, why: str) -> None:
    with pytest.raises(EndpointNotAllowed) as info:
        ALLOWED.check(url, "spec.infobip.baseUrl")
    message = str(info.value)
    assert message.startswith("spec.infobip.baseUrl points at "), why
    assert "TENDLC_ALLOWED_PARTNER_HOSTS" in message
    assert "/latest" not in message  # only scheme, host and port are echoed


@pytest.mark.parametrize(
    "url",
    [
        "https://user:secret@api.infobip.com",
        "https://api.infobip.com@attacker.example",
        "https://api.infobip.com/?x=",
        "https://api.infobip.com/#fragment",
        "ftp://api.infobip.com",
        "https:///numbers",
        "not a url",
    ],
)
def test_urls_that_hide_their_target_never_match(url: str) -> None:
    with pytest.raises(EndpointNotAllowed) as info:
        ALLOWED.check(url, "TENDLC_INFOBIP_BASE_URL")
    assert "secret" not in str(info.value)


def test_entries_read_back_as_written() -> None:
    assert [str(entry) for entry in ALLOWED.entries] == [*DEFAULT_ALLOWED_PARTNER_HOSTS, SANDBOX, "https://[::1]:8443"]
    assert AllowedEndpoint.parse("https://*.api.infobip.com") == AllowedEndpoint(
        scheme="https", host="api.infobip.com", port=443, wildcard=True
    )
    assert AllowedEndpoint.parse("https://API.infobip.com:443").port == 443


@pytest.mark.parametrize(
    ("entry", "fragment"),
    [
        ("https://*.com", "two labels"),
        ("https://a*.example.com", "first label"),
        ("https://x.*.example.com", "first label"),
        ("https://api.infobip.com/v2", "path"),
        ("https://api.infobip.com?x", "query"),
        ("ftp://api.infobip.com", "http(s)"),
        ("api.infobip.com", "http(s)"),
        ("https://u:p@api.infobip.com", "user info"),
        ("http://127.0.0.1:0", "port"),
        ("", "non-empty"),
    ],
)
def test_bad_entries_are_refused_saying_why(entry: str, fragment: str) -> None:
    with pytest.raises(ValueError, match=r"entry|non-empty") as info:
        AllowedEndpoint.parse(entry)
    assert fragment in str(info.value)


def test_an_empty_allow_list_is_refused() -> None:
    with pytest.raises(ValueError, match="empty"):
        PartnerAllowList.parse([])
