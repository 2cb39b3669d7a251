"""Shared HTTP plumbing for the partner clients: one way to send a request and read its outcome.

This room performs a single HTTP exchange for a named endpoint: it waits for the endpoint class's
rate limiter, sends with a per-call timeout, measures the latency, reports it to an optional
observer (`on_call(partner, endpoint, status_class, seconds)`; metrics hook in here), and turns
every outcome that is not a usable 2xx answer into a domain error from `tendlc.partner_errors`
(the status codes' meaning: `tendlc.clients.responses`). It never retries (retry policy lives
in the workflow), never logs or quotes request bodies or credentials (messages are redacted of
every known secret), and imports no Kopf. The request reaches the wire through
`tendlc.http_transport` (aiohttp, or httpx's own transport for tests and environment proxies);
failures arrive as httpx's error types either way.

Status classes given to `on_call`: "2xx", "3xx", "4xx", "429", "5xx", "timeout",
"connection_error" (the partner could not be reached or dropped the connection), "other".
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any, ClassVar, Protocol, Self, TypeVar
from urllib.parse import quote

import httpx
from pydantic import BaseModel, ValidationError

from tendlc.clients.problems import body_snippet
from tendlc.clients.ratelimit import RateLimiterRegistry, TurnAfterDeadline
from tendlc.clients.responses import PartnerDialect, error_for_response, status_class
from tendlc.http_transport import exchange_for, with_query
from tendlc.partner_errors import (
    PartnerResponseInvalid,
    PartnerUnavailable,
    RequestNotSent,
)
from tendlc.redaction import Redactor

logger = logging.getLogger(__name__)

OnCall = Callable[[str, str, str, float], None]
"""Observer: (partner, endpoint template name, status class, seconds spent on the wire)."""

ModelT = TypeVar("ModelT", bound=BaseModel)



@dataclass(frozen=True)
class Endpoint:
    """A partner endpoint: a stable name for metrics, its method, path template and limit class."""

    name: str
    method: str
    path: str
    limit_class: str

    def render(self, path_params: Mapping[str, str] | None = None) -> str:
        params = {key: path_segment(value) for key, value in (path_params or {}).items()}
        return self.path.format(**params)


def path_segment(value: str) -> str:
    """Percent-encode one path segment; refuse values that would change the path's shape."""
    if not isinstance(value, str) or value in {"", ".", ".."}:
        raise ValueError(f"not a usable path segment: {value!r}")
    return quote(value, safe="")


def validate_base_url(base_url: str) -> httpx.URL:
    url = httpx.URL(base_url)
    if url.scheme not in {"http", "https"} or not url.host:
        raise ValueError("partner base URL must be an absolute http(s) URL")
    if url.userinfo:
        raise ValueError("partner base URL must not carry credentials; pass them as credentials")
    return url


@dataclass(frozen=True, slots=True)
class _Request:
    """A request as built, before its rate-limit turn and connection slot (never logged: it holds the key)."""

    method: str
    url: str
    headers: tuple[tuple[str, str], ...]
    body: bytes | None

    def __repr__(self) -> str:
        return f"_Request({self.method} {self.url.split('?')[0]})"


def _brief(exc: BaseException) -> str:
    return body_snippet(str(exc).encode())


def _validation_summary(error: ValidationError) -> str:
    parts = []
    for detail in error.errors(include_input=False, include_url=False)[:5]:
        location = ".".join(str(part) for part in detail["loc"]) or "(body)"
        parts.append(f"{location}: {detail['msg']}")
    return "; ".join(parts)


class PartnerHttp:
    """One partner account: rate-limited, timed, observed, errors mapped (see the module docstring)."""

    def __init__(
        self,
        dialect: PartnerDialect,
        base_url: str,
        *,
        authorization: Callable[[], str],
        secrets: Iterable[str],
        timeout: float,
        limiter_registry: RateLimiterRegistry,
        account: str | None = None,
        on_call: OnCall | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        user_agent: str = "tendlc",
        max_connections: int = 20,
    ) -> None:
        if not timeout > 0:
            raise ValueError("timeout must be positive")
        if max_connections < 1:
            raise ValueError("max_connections must be at least 1")
        url = validate_base_url(base_url)
        self._dialect = dialect
        self._authorization = authorization
        self._redact = Redactor(secrets)
        self._timeout = timeout
        self._limiters = limiter_registry
        self._account = account if account is not None else str(url)
        self._on_call = on_call
        # At most `max_connections` requests are in flight, and a request only starts its clock
        # once it has one: requests never queue inside a connection pool, where a timeout cancelling
        # a queued request can leak the pool slot (encode/httpcore#1093) until nothing is sent at all.
        self._slots = asyncio.Semaphore(max_connections)
        self._base = str(url).rstrip("/")
        self._headers = (("Accept", "application/json"), ("User-Agent", user_agent))
        self._exchange = exchange_for(transport, max_connections=max_connections)  # no redirects followed

    @property
    def partner(self) -> str:
        return self._dialect.partner

    @property
    def account(self) -> str:
        return self._account

    async def aclose(self) -> None:
        await self._exchange.aclose()

    def _observe(self, endpoint: Endpoint, outcome: str, started: float) -> None:
        if self._on_call is None:
            return
        try:
            self._on_call(self.partner, endpoint.name, outcome, time.perf_counter() - started)
        except Exception:
            logger.warning("on_call observer failed for %s %s", self.partner, endpoint.name, exc_info=True)

    async def call(
        self,
        endpoint: Endpoint,
        *,
        path_params: Mapping[str, str] | None = None,
        params: Sequence[tuple[str, str]] | None = None,
        json_body: Any = None,
        sensitive: Iterable[str] = (),
        call_timeout: float | None = None,
        allow_empty: bool = False,
        send_within: float | None = None,
    ) -> Any:
        """Send one request and return the decoded JSON of a 2xx answer (None for an allowed empty one).

        Waits for the endpoint class's rate limiter first; that wait is not part of the timeout,
        which bounds the HTTP exchange alone. Raises a `PartnerError` subclass for every other
        outcome. `sensitive` lists values in this request (e.g. webhook secrets) to redact from
        any message in addition to the credentials. With `send_within` (seconds), a request whose
        rate-limit turn comes later is not sent at all: `RequestNotSent` (a wave's window closing).
        """
        redact = self._redact.with_extra(sensitive)
        path = endpoint.render(path_params)
        started = time.monotonic()
        try:
            await self._limiters.acquire(self.partner, self._account, endpoint.limit_class, send_within)
        except TurnAfterDeadline as late:
            raise RequestNotSent(self.partner, endpoint.name, f"not sent: {late}, after the deadline") from None
        request_timeout = call_timeout if call_timeout is not None else self._timeout
        headers: tuple[tuple[str, str], ...] = (*self._headers, ("Authorization", self._authorization()))
        body = None
        if json_body is not None:  # encoded as httpx encodes `json=`
            body = json.dumps(json_body, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()
            headers = (*headers, ("Content-Type", "application/json"))
        request = _Request(endpoint.method, with_query(self._base + path, params), headers, body)
        bucket = self._limiters.limiter(self.partner, self._account, endpoint.limit_class)
        async with self._slots:
            if send_within is not None and time.monotonic() - started > send_within:
                bucket.answered()
                raise RequestNotSent(self.partner, endpoint.name, "not sent: a connection came free after the deadline")
            try:
                return await self._send(endpoint, request, request_timeout, redact, allow_empty)
            except PartnerUnavailable as error:
                if error.rate_limited:
                    bucket.penalize()
                raise
            finally:
                bucket.answered()

    async def _send(
        self, endpoint: Endpoint, request: _Request, request_timeout: float, redact: Redactor, allow_empty: bool
    ) -> Any:
        started = time.perf_counter()
        try:
            # The exchange times each phase (connect, each read); this bounds the whole exchange
            # too, so a partner that drips bytes cannot hold a caller past its timeout.
            async with asyncio.timeout(request_timeout):
                response = await self._exchange.send(request.method, request.url, headers=request.headers,
                                                     body=request.body, phase_timeout=request_timeout)
        except (httpx.TimeoutException, TimeoutError) as exc:
            self._observe(endpoint, "timeout", started)
            message = f"no answer within {request_timeout:g} s ({type(exc).__name__})"
            raise PartnerUnavailable(self.partner, endpoint.name, redact(message)) from None
        except httpx.DecodingError as exc:
            self._observe(endpoint, "other", started)
            message = f"answer could not be decoded ({type(exc).__name__}: {_brief(exc)})"
            raise PartnerResponseInvalid(self.partner, endpoint.name, redact(message)) from None
        except httpx.RequestError as exc:
            self._observe(endpoint, "connection_error", started)
            message = f"connection failed ({type(exc).__name__}: {_brief(exc)})"
            raise PartnerUnavailable(self.partner, endpoint.name, redact(message)) from None

        self._observe(endpoint, status_class(response.status_code), started)
        status = response.status_code
        body = response.content
        if not 200 <= status < 300:
            raise error_for_response(self._dialect, endpoint.name, status, body, response.headers, redact=redact)
        if not body.strip():
            if allow_empty:
                return None
            raise PartnerResponseInvalid(
                self.partner, endpoint.name, f"HTTP {status} with an empty body", status=status
            )
        try:
            return json.loads(body)
        except (ValueError, RecursionError):
            message = f"HTTP {status} with a body that is not JSON: {body_snippet(body)}"
            raise PartnerResponseInvalid(self.partner, endpoint.name, redact(message), status=status) from None

    def parse(self, endpoint: Endpoint, model: type[ModelT], data: Any) -> ModelT:
        """Validate a decoded answer; a shape we cannot read is PartnerResponseInvalid."""
        try:
            return model.model_validate(data)
        except ValidationError as error:
            message = f"answer does not have the expected shape ({_validation_summary(error)})"
            raise PartnerResponseInvalid(self.partner, endpoint.name, self._redact(message)) from None


class PartnerCredentials(Protocol):
    def authorization(self) -> str: ...

    def secret_values(self) -> tuple[str, ...]: ...


class PartnerClient:
    """What every partner client shares: one `PartnerHttp`, closing, `async with`, a safe repr.

    `limiter_registry` is shared by every client of the process so that all resources together
    stay under the account's limits; `account` overrides the limiter key (default: the base URL).
    `on_call(partner, endpoint, status_class, seconds)` is told about every HTTP exchange.
    """

    dialect: ClassVar[PartnerDialect]

    def __init__(
        self,
        base_url: str,
        credentials: PartnerCredentials,
        *,
        timeout: float = 10.0,
        limiter_registry: RateLimiterRegistry,
        on_call: OnCall | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        account: str | None = None,
    ) -> None:
        self._http = PartnerHttp(
            self.dialect,
            base_url,
            authorization=credentials.authorization,
            secrets=credentials.secret_values(),
            timeout=timeout,
            limiter_registry=limiter_registry,
            account=account,
            on_call=on_call,
            transport=transport,
        )

    def __repr__(self) -> str:
        return f"{type(self).__name__}(account={self._http.account!r})"

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()
