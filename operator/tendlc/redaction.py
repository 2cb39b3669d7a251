"""The one redactor: blanks known secret values out of any text, for log lines and partner error messages.

`Redactor` is an immutable value (a set of secrets, longest first, so a secret that contains
another is blanked whole); `with_extra` returns a larger one for a single request's own secrets.
`SecretRegistry` is the process-wide, growing set the log filter uses: the operator adds every
credential the moment it reads one, and each addition swaps in a new `Redactor`, so readers never
take a lock. Values shorter than 4 characters are never registered (they would blank ordinary
words). A leaf: it imports nothing of tendlc, so the clients and the logging set-up share it.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import Final

from pydantic import SecretStr

REDACTED: Final = "***"
MIN_SECRET_LENGTH: Final = 4

Secret = str | SecretStr | None


def _plain(values: Iterable[Secret]) -> set[str]:
    found = {value.get_secret_value() if isinstance(value, SecretStr) else value for value in values}
    return {value for value in found if isinstance(value, str) and len(value) >= MIN_SECRET_LENGTH}


class Redactor:
    """Replaces every known secret value in a text with `***`."""

    __slots__ = ("_secrets",)

    def __init__(self, secrets: Iterable[Secret] = ()) -> None:
        self._secrets: tuple[str, ...] = tuple(sorted(_plain(secrets), key=len, reverse=True))

    @property
    def secrets(self) -> frozenset[str]:
        return frozenset(self._secrets)

    def with_extra(self, secrets: Iterable[Secret]) -> Redactor:
        extra = _plain(secrets) - set(self._secrets)
        return self if not extra else Redactor((*self._secrets, *extra))

    def without(self, secrets: Iterable[Secret]) -> Redactor:
        return Redactor(set(self._secrets) - _plain(secrets))

    def __len__(self) -> int:
        return len(self._secrets)

    def __repr__(self) -> str:
        return f"Redactor({len(self._secrets)} secrets)"

    def __call__(self, text: str) -> str:
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, REDACTED)
        return text


class SecretRegistry:
    """A thread-safe, growing set of secret values to blank out of log output."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._redactor = Redactor()

    def add(self, *values: Secret) -> None:
        """Register values (plain or `SecretStr`); None and values shorter than 4 characters are ignored."""
        with self._lock:
            self._redactor = self._redactor.with_extra(values)

    def discard(self, *values: Secret) -> None:
        with self._lock:
            self._redactor = self._redactor.without(values)

    def clear(self) -> None:
        with self._lock:
            self._redactor = Redactor()

    def __len__(self) -> int:
        return len(self._redactor)

    def __repr__(self) -> str:
        return f"SecretRegistry({len(self._redactor)} secrets)"

    def redact(self, text: str) -> str:
        """`text` with every registered value replaced by `***`."""
        return self._redactor(text)
