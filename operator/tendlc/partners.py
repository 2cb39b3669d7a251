"""Which partner account a migration talks to, and the clients for it.

A migration uses the operator's default Infobip/TCR endpoints and credentials, unless its spec
overrides them with its own base URL and credentials Secret. Clients are cached per (base URL,
credentials) so that every resource of one account shares one connection pool, and every client
shares one rate-limiter registry so that all resources together stay under each account's limits.
Credential values live only inside the clients (as `SecretStr`); nothing here logs them.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from tendlc.api.spec import CampaignMigrationSpec, PartnerOverride
from tendlc.clients.credentials import InfobipCredentials, TcrCredentials
from tendlc.clients.http import OnCall
from tendlc.clients.infobip import InfobipClient
from tendlc.clients.ratelimit import RateLimiterRegistry
from tendlc.clients.tcr import TcrClient
from tendlc.config import Settings
from tendlc.kube import KubeApi
from tendlc.logs import register_secret

INFOBIP_KEYS = ("apiKey",)
TCR_KEYS = ("apiKey", "apiSecret")


@dataclass(frozen=True)
class PartnerClients:
    infobip: InfobipClient
    tcr: TcrClient


class CredentialsProblem(Exception):
    """A credentials Secret is missing or incomplete; the message says which and what to add."""


def _fingerprint(*values: str) -> str:
    return hashlib.sha256("\0".join(values).encode()).hexdigest()


class Partners:
    """Builds and caches the clients a migration needs from the Secrets it (or the operator) names."""

    def __init__(
        self, settings: Settings, kube: KubeApi, limiters: RateLimiterRegistry, on_call: OnCall | None = None
    ) -> None:
        self._settings = settings
        self._kube = kube
        self._limiters = limiters
        self._on_call = on_call
        self._infobip: dict[tuple[str, str], InfobipClient] = {}
        self._tcr: dict[tuple[str, str], TcrClient] = {}

    async def _secret_values(
        self, override: PartnerOverride | None, default_name: str | None, namespace: str, keys: tuple[str, ...],
        partner: str,
    ) -> dict[str, str]:
        if override is not None and override.credentials_secret_ref is not None:
            name, where = override.credentials_secret_ref.name, namespace
        elif default_name:
            name, where = default_name, self._settings.operator_namespace
        else:
            raise CredentialsProblem(
                f"no {partner} credentials: set spec.{partner.lower()}.credentialsSecretRef or the operator's "
                f"TENDLC_{partner.upper()}_CREDENTIALS_SECRET"
            )
        secret = await self._kube.read_secret(where, name)
        if secret is None:
            raise CredentialsProblem(f"{partner} credentials Secret {where}/{name} does not exist")
        values: dict[str, str] = {}
        for key in keys:
            raw = secret.values.get(key, b"").decode("utf-8", errors="replace").strip()
            if not raw:
                raise CredentialsProblem(f"{partner} credentials Secret {where}/{name} has no non-empty key {key!r}")
            values[key] = raw
        register_secret(*values.values())  # the log redaction net knows every credential we hold
        return values

    async def for_spec(self, spec: CampaignMigrationSpec, namespace: str) -> PartnerClients:
        settings = self._settings
        default_infobip = settings.infobip_credentials_secret
        default_tcr = settings.tcr_credentials_secret
        infobip_values = await self._secret_values(
            spec.infobip, default_infobip.name if default_infobip else None, namespace, INFOBIP_KEYS, "Infobip"
        )
        tcr_values = await self._secret_values(
            spec.tcr, default_tcr.name if default_tcr else None, namespace, TCR_KEYS, "TCR"
        )
        infobip_url = (spec.infobip.base_url if spec.infobip and spec.infobip.base_url else settings.infobip_base_url)
        tcr_url = spec.tcr.base_url if spec.tcr and spec.tcr.base_url else settings.tcr_base_url

        infobip = self._infobip_client(infobip_url, infobip_values["apiKey"])
        tcr_key = (tcr_url, _fingerprint(tcr_values["apiKey"], tcr_values["apiSecret"]))
        tcr = self._tcr.get(tcr_key)
        if tcr is None:
            tcr = TcrClient(
                tcr_url, TcrCredentials.of(tcr_values["apiKey"], tcr_values["apiSecret"]),
                timeout=settings.request_timeout_seconds, limiter_registry=self._limiters, on_call=self._on_call,
            )
            self._tcr[tcr_key] = tcr
        return PartnerClients(infobip=infobip, tcr=tcr)

    async def default_infobip(self) -> InfobipClient:
        """The operator's own Infobip account (for account-wide work such as the webhook subscription)."""
        default = self._settings.infobip_credentials_secret
        values = await self._secret_values(None, default.name if default else None, "", INFOBIP_KEYS, "Infobip")
        return self._infobip_client(self._settings.infobip_base_url, values["apiKey"])

    def _infobip_client(self, base_url: str, api_key: str) -> InfobipClient:
        key = (base_url, _fingerprint(api_key))
        client = self._infobip.get(key)
        if client is None:
            client = InfobipClient(
                base_url, InfobipCredentials.from_api_key(api_key), timeout=self._settings.request_timeout_seconds,
                limiter_registry=self._limiters, on_call=self._on_call,
                import_batch_size=self._settings.import_batch_size,
            )
            self._infobip[key] = client
        return client

    async def aclose(self) -> None:
        for infobip in self._infobip.values():
            await infobip.aclose()
        for tcr in self._tcr.values():
            await tcr.aclose()
        self._infobip.clear()
        self._tcr.clear()
