"""Partner credentials that never show themselves.

This room holds the Infobip API key (or Basic user/password) and the TCR API key/secret as
`pydantic.SecretStr`, and builds the `Authorization` header value on demand. `repr`, `str` and
pydantic dumps show only asterisks. It must not log, print or otherwise expose a secret; reading
credentials from Kubernetes Secrets is someone else's job (the operator's configuration).
"""

from __future__ import annotations

import base64

from pydantic import BaseModel, ConfigDict, SecretStr, model_validator


def _basic(username: str, password: str) -> str:
    token = base64.b64encode(f"{username}:{password}".encode()).decode("ascii")
    return f"Basic {token}"


class InfobipCredentials(BaseModel):
    """Either an API key (sent as ``Authorization: App <key>``) or Basic username/password."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    api_key: SecretStr | None = None
    username: SecretStr | None = None
    password: SecretStr | None = None

    @model_validator(mode="after")
    def _exactly_one_method(self) -> InfobipCredentials:
        has_key = self.api_key is not None and bool(self.api_key.get_secret_value())
        has_basic = self.username is not None or self.password is not None
        if has_key == has_basic:
            raise ValueError("Infobip credentials need either api_key or username and password, not both")
        if has_basic and not (
            self.username is not None
            and self.password is not None
            and self.username.get_secret_value()
            and self.password.get_secret_value()
        ):
            raise ValueError("Infobip Basic credentials need both username and password")
        return self

    @classmethod
    def from_api_key(cls, api_key: str | SecretStr) -> InfobipCredentials:
        return cls(api_key=api_key if isinstance(api_key, SecretStr) else SecretStr(api_key))

    @classmethod
    def from_basic(cls, username: str | SecretStr, password: str | SecretStr) -> InfobipCredentials:
        return cls(
            username=username if isinstance(username, SecretStr) else SecretStr(username),
            password=password if isinstance(password, SecretStr) else SecretStr(password),
        )

    def authorization(self) -> str:
        """The `Authorization` header value. Handle with care: it is the secret."""
        if self.api_key is not None:
            return f"App {self.api_key.get_secret_value()}"
        assert self.username is not None
        assert self.password is not None
        return _basic(self.username.get_secret_value(), self.password.get_secret_value())

    def secret_values(self) -> tuple[str, ...]:
        """Every string that must never appear in a message (for redaction)."""
        header = self.authorization()
        values = [header, header.split(" ", 1)[1]]
        for secret in (self.api_key, self.username, self.password):
            if secret is not None:
                values.append(secret.get_secret_value())
        return tuple(values)


class TcrCredentials(BaseModel):
    """TCR's API key and secret, sent as HTTP Basic ``key:secret``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    api_key: SecretStr
    api_secret: SecretStr

    @classmethod
    def of(cls, api_key: str | SecretStr, api_secret: str | SecretStr) -> TcrCredentials:
        return cls(
            api_key=api_key if isinstance(api_key, SecretStr) else SecretStr(api_key),
            api_secret=api_secret if isinstance(api_secret, SecretStr) else SecretStr(api_secret),
        )

    def authorization(self) -> str:
        """The `Authorization` header value. Handle with care: it is the secret."""
        return _basic(self.api_key.get_secret_value(), self.api_secret.get_secret_value())

    def secret_values(self) -> tuple[str, ...]:
        header = self.authorization()
        return (header, header.split(" ", 1)[1], self.api_key.get_secret_value(), self.api_secret.get_secret_value())
