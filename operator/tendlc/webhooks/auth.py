"""Authenticating Infobip webhook deliveries: BASIC or HMAC, as decided in docs/decisions.md D5.

`WebhookAuth` holds the receiver's credentials (secrets as `SecretStr`, so no `repr` or log shows
them) and checks a delivery's headers and raw body in constant time (`hmac.compare_digest`):

- BASIC: `Authorization: Basic base64(username:password)`;
- HMAC: `X-Infobip-Signature: <digest>=<hex>` where hex is the HMAC over the raw body, keyed with
  the secret key; `HMAC_SHA_1`, `HMAC_SHA_256`, `HMAC_SHA_512` give `sha1=`, `sha256=`, `sha512=`.
  A signature made with another algorithm than the configured one is refused (no downgrade).

`sign(body)` builds the headers a sender would add (the sandbox's `tendlc_dev.sandbox.webhooks` signs
the same way; tests keep the two in step). D5 carries no timestamp, so a replayed signed body is
authentic: replays are made harmless by deduplication and ordering, not here. This room never
logs, and its errors never quote a header value.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from collections.abc import Mapping
from typing import Final, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, model_validator

from tendlc.clients.models import WebhookSecurity

SIGNATURE_HEADER: Final = "X-Infobip-Signature"
AUTHORIZATION_HEADER: Final = "Authorization"
BASIC_CHALLENGE: Final = 'Basic realm="tendlc-webhooks", charset="UTF-8"'

HmacAlgorithm = Literal["HMAC_SHA_1", "HMAC_SHA_256", "HMAC_SHA_512"]
HMAC_DIGESTS: Final[Mapping[str, str]] = {
    "HMAC_SHA_1": "sha1",
    "HMAC_SHA_256": "sha256",
    "HMAC_SHA_512": "sha512",
}
_MAX_HEADER_LENGTH: Final = 4096


class WebhookAuthError(Exception):
    """A delivery that is not authentic. `reason` is a stable word for logs and metrics:
    `missing_credentials`, `malformed_credentials`, `bad_credentials`, `missing_signature`,
    `malformed_signature`, `wrong_algorithm`, `bad_signature`. `challenge` is the
    `WWW-Authenticate` value to answer with, if any."""

    def __init__(self, reason: str, message: str, *, challenge: str | None = None) -> None:
        super().__init__(message)
        self.reason = reason
        self.challenge = challenge


def _header(headers: Mapping[str, str], name: str) -> str | None:
    """Case-insensitive header lookup for any mapping (aiohttp's CIMultiDict, a plain dict)."""
    value = headers.get(name)
    if value is not None:
        return value
    lowered = name.lower()
    for key, candidate in headers.items():
        if key.lower() == lowered:
            return candidate
    return None


def _bytes(text: str) -> bytes:
    return text.encode("utf-8", "surrogateescape")


class WebhookAuth(BaseModel):
    """How the receiver authenticates deliveries; build with `WebhookAuth.basic` or `WebhookAuth.hmac`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    type: Literal["BASIC", "HMAC"]
    username: str | None = Field(default=None, min_length=1, max_length=256)
    password: SecretStr | None = None
    secret_key: SecretStr | None = None
    algorithm: HmacAlgorithm = "HMAC_SHA_256"

    @model_validator(mode="after")
    def _complete(self) -> WebhookAuth:
        if self.type == "BASIC":
            if not self.username or self.password is None or not self.password.get_secret_value():
                raise ValueError("BASIC webhook auth needs a username and a non-empty password")
            if ":" in self.username:
                raise ValueError("a BASIC username must not contain ':'")
            if self.secret_key is not None:
                raise ValueError("BASIC webhook auth takes no secret_key")
        else:
            if self.secret_key is None or len(self.secret_key.get_secret_value()) < 16:
                raise ValueError("HMAC webhook auth needs a secret_key of at least 16 characters")
            if self.username is not None or self.password is not None:
                raise ValueError("HMAC webhook auth takes no username or password")
        return self

    @classmethod
    def basic(cls, username: str, password: str | SecretStr) -> WebhookAuth:
        secret = password if isinstance(password, SecretStr) else SecretStr(password)
        return cls(type="BASIC", username=username, password=secret)

    @classmethod
    def hmac(cls, secret_key: str | SecretStr, algorithm: HmacAlgorithm = "HMAC_SHA_256") -> WebhookAuth:
        secret = secret_key if isinstance(secret_key, SecretStr) else SecretStr(secret_key)
        return cls(type="HMAC", secret_key=secret, algorithm=algorithm)

    @classmethod
    def from_secret_values(cls, values: Mapping[str, bytes | str]) -> WebhookAuth:
        """Read a Kubernetes Secret's decoded data: `secretKey` (and optional `algorithm`) for HMAC,
        or `username` and `password` for BASIC. Raises ValueError naming keys, never values."""

        def text(key: str) -> str:
            raw = values.get(key, "")
            return (raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else raw).strip()

        secret_key, username, password = text("secretKey"), text("username"), text("password")
        if secret_key and (username or password):
            raise ValueError("webhook auth Secret holds both `secretKey` (HMAC) and `username`/`password` (BASIC)")
        try:
            if secret_key:
                algorithm = text("algorithm") or "HMAC_SHA_256"
                if algorithm not in HMAC_DIGESTS:
                    raise ValueError(f"webhook auth Secret key `algorithm` must be one of {', '.join(HMAC_DIGESTS)}")
                return cls(type="HMAC", secret_key=SecretStr(secret_key), algorithm=algorithm)
            if username and password:
                return cls.basic(username, password)
        except ValidationError as error:
            reasons = "; ".join(str(detail["msg"]) for detail in error.errors(include_input=False, include_url=False))
            raise ValueError(f"webhook auth Secret is not usable: {reasons}") from None
        raise ValueError("webhook auth Secret needs `secretKey` (HMAC) or `username` and `password` (BASIC)")

    # ------------------------------------------------------------------------------ facts

    @property
    def needs_body(self) -> bool:
        """HMAC covers the body; BASIC can be checked from the headers alone (before reading it)."""
        return self.type == "HMAC"

    @property
    def challenge(self) -> str | None:
        """The `WWW-Authenticate` value for a 401 (BASIC only)."""
        return BASIC_CHALLENGE if self.type == "BASIC" else None

    def secret_values(self) -> tuple[str, ...]:
        """Every secret value held (for the log redaction registry)."""
        secret = self.password if self.type == "BASIC" else self.secret_key
        return (secret.get_secret_value(),) if secret is not None else ()

    def _basic_pair(self) -> tuple[str, SecretStr]:
        if self.username is None or self.password is None:  # excluded by the validator
            raise RuntimeError("BASIC webhook auth without username or password")
        return self.username, self.password

    def to_security(self, auth_id: str) -> WebhookSecurity:
        """The `profile.security` block of the Infobip subscription that makes Infobip send these."""
        if self.type == "BASIC":
            username, password = self._basic_pair()
            return WebhookSecurity.basic(auth_id, username, password)
        assert self.secret_key is not None
        return WebhookSecurity.hmac(auth_id, self.secret_key, self.algorithm)

    # ------------------------------------------------------------------------- signing

    def _signature(self, body: bytes) -> str:
        assert self.secret_key is not None
        digest = HMAC_DIGESTS[self.algorithm]
        mac = hmac.new(_bytes(self.secret_key.get_secret_value()), body, digest)
        return f"{digest}={mac.hexdigest()}"

    def sign(self, body: bytes) -> dict[str, str]:
        """The headers a sender adds to `body` (what Infobip / the sandbox send, per D5)."""
        if self.type == "HMAC":
            return {SIGNATURE_HEADER: self._signature(body)}
        username, password = self._basic_pair()
        pair = f"{username}:{password.get_secret_value()}"
        return {AUTHORIZATION_HEADER: "Basic " + base64.b64encode(_bytes(pair)).decode("ascii")}

    # ------------------------------------------------------------------------ checking

    def verify(self, headers: Mapping[str, str], body: bytes = b"") -> None:
        """Return if the delivery is authentic; raise `WebhookAuthError` otherwise."""
        if self.type == "BASIC":
            self._verify_basic(headers)
        else:
            self._verify_hmac(headers, body)

    def precheck(self, headers: Mapping[str, str]) -> None:
        """What can be refused from the headers alone, before the body is read.

        BASIC: everything (`verify`). HMAC: the signature header must be there, well-formed and of the
        configured algorithm; whether it matches needs the body.
        """
        if self.type == "BASIC":
            self._verify_basic(headers)
            return
        self._signature_given(headers)

    def _verify_basic(self, headers: Mapping[str, str]) -> None:
        expected_username, expected_password = self._basic_pair()
        value = _header(headers, AUTHORIZATION_HEADER)
        if value is None or not value.strip():
            raise WebhookAuthError("missing_credentials", "no Authorization header", challenge=self.challenge)
        scheme, _, token = value.strip().partition(" ")
        if scheme.lower() != "basic" or not token.strip() or len(value) > _MAX_HEADER_LENGTH:
            raise WebhookAuthError("malformed_credentials", "Authorization is not Basic", challenge=self.challenge)
        try:
            decoded = base64.b64decode(token.strip(), validate=True)
        except (binascii.Error, ValueError):
            raise WebhookAuthError(
                "malformed_credentials", "Basic credentials are not base64", challenge=self.challenge
            ) from None
        username, separator, password = decoded.partition(b":")
        if not separator:
            raise WebhookAuthError(
                "malformed_credentials", "Basic credentials lack a ':'", challenge=self.challenge
            )
        # Both comparisons always run: the time taken does not tell which part was wrong.
        username_ok = hmac.compare_digest(username, _bytes(expected_username))
        password_ok = hmac.compare_digest(password, _bytes(expected_password.get_secret_value()))
        if not (username_ok & password_ok):
            raise WebhookAuthError("bad_credentials", "wrong username or password", challenge=self.challenge)

    def _signature_given(self, headers: Mapping[str, str]) -> str:
        value = _header(headers, SIGNATURE_HEADER)
        if value is None or not value.strip():
            raise WebhookAuthError("missing_signature", f"no {SIGNATURE_HEADER} header")
        value = value.strip()
        prefix, separator, given = value.partition("=")
        if not separator or not given or len(value) > _MAX_HEADER_LENGTH:
            raise WebhookAuthError("malformed_signature", f"{SIGNATURE_HEADER} is not <digest>=<hex>")
        if prefix.strip().lower() != HMAC_DIGESTS[self.algorithm]:
            raise WebhookAuthError("wrong_algorithm", f"{SIGNATURE_HEADER} uses another algorithm than configured")
        return given.strip().lower()

    def _verify_hmac(self, headers: Mapping[str, str], body: bytes) -> None:
        given = self._signature_given(headers)
        expected = self._signature(body).partition("=")[2]
        if not hmac.compare_digest(_bytes(given), _bytes(expected)):
            raise WebhookAuthError("bad_signature", "signature does not match the body")
