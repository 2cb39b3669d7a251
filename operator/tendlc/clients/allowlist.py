"""Which partner endpoints the operator may send credentials to: the platform team's allow-list.

A partner URL comes from the operator's settings or from a tenant's CampaignMigration; before a
client is built for it, it must match an entry of `TENDLC_ALLOWED_PARTNER_HOSTS`. An entry is
`scheme://host[:port]`: scheme, host and port must all match exactly (an entry without a port means
the scheme's default port, 443 or 80), and `https` is the only scheme unless the entry itself says
`http`. A host may start with `*.` to match exactly one more DNS label, for Infobip's per-account
hosts (`https://*.api.infobip.com` matches `xxxxx.api.infobip.com`, not `a.b.api.infobip.com`, nor
`api.infobip.com` itself). URLs are read with httpx, the parser the clients connect with, so what is
checked is what is dialled. A URL with user info, a query or a fragment never matches.

Pure: no I/O, no logging. Messages name the URL's scheme, host and port and the setting, never a
path, a query or a credential.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

import httpx

SETTING: Final = "TENDLC_ALLOWED_PARTNER_HOSTS"
CUTOVER_SETTING: Final = "TENDLC_ALLOWED_CUTOVER_HOSTS"
"""The same kind of list for cut-over webhooks (tendlc.cutover): where a tenant's URL may be called."""
DEFAULT_ALLOWED_PARTNER_HOSTS: Final = (
    "https://api.infobip.com",
    "https://*.api.infobip.com",
    "https://csp-api.campaignregistry.com",
    "https://csp-api-staging.campaignregistry.com",
)
DEFAULT_PORTS: Final = {"https": 443, "http": 80}
TENANT_FIX: Final = "Use an allowed partner endpoint, or ask the platform team to add this one if it is a partner's."


class EndpointNotAllowed(ValueError):
    """A partner URL that is unusable or not on the allow-list; the message says which host and what to do."""


def _parse(text: str) -> httpx.URL:
    try:
        url = httpx.URL(text)
    except (httpx.InvalidURL, TypeError, ValueError) as error:
        raise EndpointNotAllowed(f"not a usable URL ({type(error).__name__})") from None
    if url.scheme not in DEFAULT_PORTS or not url.host:
        raise EndpointNotAllowed("not an absolute http(s) URL with a host")
    if url.userinfo:
        raise EndpointNotAllowed("carries user info (user:password@)")
    if url.query or url.fragment or "?" in text or "#" in text:
        raise EndpointNotAllowed("carries a query or a fragment")
    return url


def _host(url: httpx.URL) -> str:
    """The host as dialled: ASCII (IDNA), lower case, IPv6 without brackets."""
    return url.raw_host.decode("ascii").lower()


def _port(url: httpx.URL) -> int:
    return url.port if url.port is not None else DEFAULT_PORTS[url.scheme]


def describe(url: httpx.URL) -> str:
    """`scheme://host:port` of a URL, as shown in messages."""
    host = _host(url)
    shown = f"[{host}]" if ":" in host else host
    return f"{url.scheme}://{shown}:{_port(url)}"


@dataclass(frozen=True)
class AllowedEndpoint:
    """One entry of the allow-list: a scheme, a host (perhaps `*.` + suffix) and a port."""

    scheme: str
    host: str
    port: int
    wildcard: bool = False

    @classmethod
    def parse(cls, entry: str) -> AllowedEndpoint:
        """Read `scheme://host[:port]`; raise ValueError saying what is wrong with the entry."""
        if not isinstance(entry, str) or not entry.strip():
            raise ValueError("an entry must be a non-empty string scheme://host[:port]")
        text = entry.strip()
        wildcard = "://*." in text
        try:
            url = _parse(text.replace("://*.", "://wildcard.", 1) if wildcard else text)
        except EndpointNotAllowed as problem:
            raise ValueError(f"entry {entry!r} {problem}; write scheme://host[:port]") from None
        if url.raw_path not in (b"", b"/"):
            raise ValueError(f"entry {entry!r} has a path; write scheme://host[:port] (paths are not checked)")
        if "*" in text.replace("://*.", "", 1):
            raise ValueError(f"entry {entry!r}: '*' is only allowed as the first label of the host ('*.example.com')")
        if not 0 < _port(url) < 65536:
            raise ValueError(f"entry {entry!r}: the port must be between 1 and 65535")
        host = _host(url)
        if wildcard:
            host = host.removeprefix("wildcard.")
            if host.count(".") < 1:
                raise ValueError(f"entry {entry!r}: a wildcard needs at least two labels after '*.'")
        return cls(scheme=url.scheme, host=host, port=_port(url), wildcard=wildcard)

    def matches(self, url: httpx.URL) -> bool:
        if url.scheme != self.scheme or _port(url) != self.port:
            return False
        host = _host(url)
        if not self.wildcard:
            return host == self.host
        label, dot, rest = host.partition(".")
        return bool(label) and bool(dot) and rest == self.host and label != "*"

    def __str__(self) -> str:
        host = f"*.{self.host}" if self.wildcard else (f"[{self.host}]" if ":" in self.host else self.host)
        default = DEFAULT_PORTS[self.scheme] == self.port
        return f"{self.scheme}://{host}" + ("" if default else f":{self.port}")


@dataclass(frozen=True)
class PartnerAllowList:
    """The parsed allow-list; `check(url, what)` raises `EndpointNotAllowed` unless an entry matches."""

    entries: tuple[AllowedEndpoint, ...]
    setting: str = SETTING
    """The setting the entries come from, named in every refusal."""

    @classmethod
    def parse(cls, entries: Iterable[str], *, setting: str = SETTING, allow_empty: bool = False) -> PartnerAllowList:
        parsed = tuple(AllowedEndpoint.parse(entry) for entry in entries)
        if not parsed and not allow_empty:
            raise ValueError("the allow-list is empty: no partner could be reached")
        return cls(parsed, setting)

    @classmethod
    def default(cls) -> PartnerAllowList:
        return cls.parse(DEFAULT_ALLOWED_PARTNER_HOSTS)

    def check(self, url: str, what: str, *, fix: str = TENANT_FIX) -> httpx.URL:
        """The parsed URL if an entry allows it, else `EndpointNotAllowed`.

        `what` names where the URL came from (e.g. `spec.infobip.baseUrl`), `fix` what to do about it.
        """
        try:
            parsed = _parse(url)
        except EndpointNotAllowed as problem:
            raise EndpointNotAllowed(f"{what} {problem}.") from None
        if any(entry.matches(parsed) for entry in self.entries):
            return parsed
        listed = ", ".join(str(entry) for entry in self.entries) or "empty"
        raise EndpointNotAllowed(
            f"{what} points at {describe(parsed)}, which is not in the operator's allow-list {self.setting} "
            f"({listed}). {fix}"
        )

    def allows(self, url: str) -> bool:
        try:
            self.check(url, "url")
        except EndpointNotAllowed:
            return False
        return True
