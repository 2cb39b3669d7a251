"""BASIC and HMAC webhook authentication (decisions.md D5), in step with the sandbox that signs."""

from __future__ import annotations

import base64
import contextlib
from typing import Literal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError
from webhook_samples import WEBHOOK_HMAC_KEY, WEBHOOK_PASSWORD, WEBHOOK_USERNAME, body, status_message

from tendlc.webhooks.auth import SIGNATURE_HEADER, WebhookAuth, WebhookAuthError
from tendlc_dev.sandbox.model import Security
from tendlc_dev.sandbox.webhooks import auth_headers
from tendlc_dev.sandbox.webhooks import sign as sandbox_sign

BODY = body(status_message())
BASIC = WebhookAuth.basic(WEBHOOK_USERNAME, WEBHOOK_PASSWORD)
HMAC = WebhookAuth.hmac(WEBHOOK_HMAC_KEY)


def basic_header(username: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()}


def reason_of(auth: WebhookAuth, headers: dict[str, str], raw: bytes = BODY) -> str:
    with pytest.raises(WebhookAuthError) as caught:
        auth.verify(headers, raw)
    return caught.value.reason


def test_basic_accepts_the_right_username_and_password() -> None:
    BASIC.verify(basic_header(WEBHOOK_USERNAME, WEBHOOK_PASSWORD), BODY)


def test_basic_header_name_and_scheme_are_case_insensitive() -> None:
    token = basic_header(WEBHOOK_USERNAME, WEBHOOK_PASSWORD)["Authorization"].split(" ", 1)[1]
    BASIC.verify({"authorization": f"basic {token}"}, BODY)


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ({}, "missing_credentials"),
        ({"Authorization": ""}, "missing_credentials"),
        ({"Authorization": "Bearer abc"}, "malformed_credentials"),
        ({"Authorization": "Basic !!!not-base64"}, "malformed_credentials"),
        ({"Authorization": "Basic " + base64.b64encode(b"no-colon").decode()}, "malformed_credentials"),
        (basic_header(WEBHOOK_USERNAME, "wrong-password"), "bad_credentials"),
        (basic_header("someone-else", WEBHOOK_PASSWORD), "bad_credentials"),
        (basic_header(WEBHOOK_USERNAME, WEBHOOK_PASSWORD + "x"), "bad_credentials"),
    ],
)
def test_basic_refuses_missing_malformed_and_wrong_credentials(headers: dict[str, str], reason: str) -> None:
    with pytest.raises(WebhookAuthError) as caught:
        BASIC.verify(headers, BODY)
    assert caught.value.reason == reason
    assert caught.value.challenge is not None
    assert caught.value.challenge.startswith("Basic realm=")


def test_hmac_accepts_its_own_signature_and_uppercase_hex() -> None:
    headers = HMAC.sign(BODY)
    HMAC.verify(headers, BODY)
    prefix, hexdigest = headers[SIGNATURE_HEADER].split("=", 1)
    HMAC.verify({SIGNATURE_HEADER.lower(): f"{prefix}={hexdigest.upper()}"}, BODY)


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ({}, "missing_signature"),
        ({SIGNATURE_HEADER: "deadbeef"}, "malformed_signature"),
        ({SIGNATURE_HEADER: "sha1=" + "0" * 40}, "wrong_algorithm"),
        ({SIGNATURE_HEADER: "sha256=" + "0" * 64}, "bad_signature"),
        ({SIGNATURE_HEADER: "sha256=zz\u00e9"}, "bad_signature"),
    ],
)
def test_hmac_refuses_missing_malformed_downgraded_and_forged_signatures(
    headers: dict[str, str], reason: str
) -> None:
    assert reason_of(HMAC, headers) == reason


def test_hmac_refuses_a_signature_of_another_body() -> None:
    headers = HMAC.sign(BODY)
    assert reason_of(HMAC, headers, BODY + b" ") == "bad_signature"


def test_hmac_refuses_a_signature_made_with_another_key() -> None:
    other = WebhookAuth.hmac("another-key-of-enough-length")
    assert reason_of(HMAC, other.sign(BODY)) == "bad_signature"


@pytest.mark.parametrize("algorithm", ["HMAC_SHA_1", "HMAC_SHA_256", "HMAC_SHA_512"])
def test_receiver_and_sandbox_agree_on_the_hmac_signature(
    algorithm: Literal["HMAC_SHA_1", "HMAC_SHA_256", "HMAC_SHA_512"],
) -> None:
    auth = WebhookAuth.hmac(WEBHOOK_HMAC_KEY, algorithm)
    assert auth.sign(BODY) == {SIGNATURE_HEADER: sandbox_sign(BODY, WEBHOOK_HMAC_KEY, algorithm)}
    security = Security(
        auth_id="a", type="HMAC", credentials={"secretKey": WEBHOOK_HMAC_KEY, "algorithm": algorithm}
    )
    auth.verify(auth_headers(BODY, security), BODY)


def test_receiver_accepts_the_sandbox_basic_header() -> None:
    security = Security(
        auth_id="a", type="BASIC", credentials={"username": WEBHOOK_USERNAME, "password": WEBHOOK_PASSWORD}
    )
    BASIC.verify(auth_headers(BODY, security), BODY)
    assert BASIC.sign(BODY) == auth_headers(BODY, security)


def test_only_hmac_needs_the_body() -> None:
    assert HMAC.needs_body
    assert not BASIC.needs_body


@pytest.mark.parametrize(
    "build",
    [
        lambda: WebhookAuth(type="BASIC", username="u"),
        lambda: WebhookAuth.basic("u:v", "password"),
        lambda: WebhookAuth.basic("u", ""),
        lambda: WebhookAuth.hmac("short"),
        lambda: WebhookAuth.model_validate({"type": "HMAC", "secret_key": "k" * 20, "algorithm": "HMAC_MD5"}),
        lambda: WebhookAuth.model_validate({"type": "HMAC", "secret_key": "k" * 20, "username": "u"}),
    ],
)
def test_incomplete_or_weak_configurations_are_refused(build: object) -> None:
    with pytest.raises(ValidationError):
        build()  # type: ignore[operator]


def test_secrets_do_not_show_in_repr_or_errors() -> None:
    for auth in (BASIC, HMAC):
        for shown in (repr(auth), str(auth)):
            assert WEBHOOK_PASSWORD not in shown
            assert WEBHOOK_HMAC_KEY not in shown
    with pytest.raises(WebhookAuthError) as caught:
        BASIC.verify(basic_header(WEBHOOK_USERNAME, WEBHOOK_PASSWORD + "x"), BODY)
    assert WEBHOOK_PASSWORD not in str(caught.value)


def test_to_security_gives_the_subscription_block_and_secret_values() -> None:
    assert BASIC.to_security("id-1").to_body() == {
        "authId": "id-1",
        "type": "BASIC",
        "credentials": {"username": WEBHOOK_USERNAME, "password": WEBHOOK_PASSWORD},
    }
    assert HMAC.to_security("id-2").to_body()["credentials"] == {
        "secretKey": WEBHOOK_HMAC_KEY,
        "algorithm": "HMAC_SHA_256",
    }
    assert BASIC.secret_values() == (WEBHOOK_PASSWORD,)
    assert HMAC.secret_values() == (WEBHOOK_HMAC_KEY,)


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.sampled_from(["Authorization", SIGNATURE_HEADER, "X-Other"]), st.text(max_size=80)),
       st.binary(max_size=64))
def test_arbitrary_headers_raise_nothing_but_an_auth_error(headers: dict[str, str], raw: bytes) -> None:
    for auth in (BASIC, HMAC):
        with contextlib.suppress(WebhookAuthError):
            auth.verify(headers, raw)


def test_auth_is_read_from_secret_values() -> None:
    hmac_auth = WebhookAuth.from_secret_values({"secretKey": WEBHOOK_HMAC_KEY.encode(), "algorithm": b"HMAC_SHA_512"})
    assert (hmac_auth.type, hmac_auth.algorithm) == ("HMAC", "HMAC_SHA_512")
    assert WebhookAuth.from_secret_values({"secretKey": WEBHOOK_HMAC_KEY}).algorithm == "HMAC_SHA_256"
    values = {"username": WEBHOOK_USERNAME.encode(), "password": WEBHOOK_PASSWORD.encode()}
    assert WebhookAuth.from_secret_values(values) == BASIC


@pytest.mark.parametrize(
    ("values", "reason"),
    [
        ({}, "needs `secretKey`"),
        ({"username": "u"}, "needs `secretKey`"),
        ({"secretKey": WEBHOOK_HMAC_KEY, "password": WEBHOOK_PASSWORD}, "both"),
        ({"secretKey": WEBHOOK_HMAC_KEY, "algorithm": "HMAC_MD5"}, "algorithm"),
        ({"secretKey": "short-canary"}, "not usable"),
    ],
)
def test_unusable_secret_values_are_refused_without_quoting_them(values: dict[str, str], reason: str) -> None:
    with pytest.raises(ValueError, match=reason) as caught:
        WebhookAuth.from_secret_values(values)
    for secret in (WEBHOOK_HMAC_KEY, WEBHOOK_PASSWORD, "short-canary"):
        assert secret not in str(caught.value)
