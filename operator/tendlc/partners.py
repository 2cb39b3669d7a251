"""Which partner account a migration talks to, and the clients for it.

A migration uses the operator's default Infobip/TCR endpoints and credentials, unless its spec
overrides them. An override is all-or-nothing for the endpoint: a resource may bring its own
credentials Secret alone (used against the operator's endpoint), or its own `baseUrl` *with* its
own credentials Secret — the operator's central credentials are never sent to a URL a tenant wrote.
Every URL, the operator's and the tenant's, must be on the platform team's allow-list
(`TENDLC_ALLOWED_PARTNER_HOSTS`) before a client exists for it, so a refused URL never receives a
request. A tenant's credentials Secret must opt in with the label `tendlc.io/usage` set to
`infobip-credentials` or `tcr-credentials`; the operator's own Secrets (in its namespace, named by
its settings) need no label: only the platform team can name them.

Clients are cached per (base URL, credentials) so that every resource of one account shares one
connection pool, and every client shares one rate-limiter registry so that all resources together
stay under each account's limits. Credential values live only inside the clients (as `SecretStr`);
nothing here logs them, and no message quotes them.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from tendlc.api.constants import LABEL_USAGE, USAGE_INFOBIP_CREDENTIALS, USAGE_TCR_CREDENTIALS, Reason
from tendlc.api.spec import CampaignMigrationSpec, PartnerOverride
from tendlc.clients.allowlist import EndpointNotAllowed
from tendlc.clients.credentials import InfobipCredentials, TcrCredentials
from tendlc.clients.http import OnCall
from tendlc.clients.infobip import InfobipClient
from tendlc.clients.ratelimit import RateLimiterRegistry
from tendlc.clients.tcr import TcrClient
from tendlc.config import Settings
from tendlc.kube import KubeApi
from tendlc.logs import register_secret
from tendlc.workflow.secrets import label_command

INFOBIP_KEYS = ("apiKey",)
TCR_KEYS = ("apiKey", "apiSecret")
USAGE = {"Infobip": USAGE_INFOBIP_CREDENTIALS, "TCR": USAGE_TCR_CREDENTIALS}


@dataclass(frozen=True)
class PartnerClients:
    infobip: InfobipClient
    tcr: TcrClient


class CredentialsProblem(Exception):
    """A credentials Secret is missing or incomplete; the message says which and what to add.

    `reason` is the stable condition reason the resource parks with.
    """

    reason: str = Reason.CREDENTIALS_MISSING


class CredentialsSecretNotLabeled(CredentialsProblem):
    """A tenant's credentials Secret does not carry the `tendlc.io/usage` opt-in for this partner."""

    reason = Reason.CREDENTIALS_SECRET_NOT_LABELED


class PartnerEndpointNotAllowed(CredentialsProblem):
    """A partner URL is not on the operator's allow-list (or needs credentials it lacks); nothing is sent."""

    reason = Reason.PARTNER_ENDPOINT_NOT_ALLOWED


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
        # URLs the allow-list accepted (it is fixed at start-up): every pass asks again for the
        # same few; a refusal is worked out anew (its message names the field).
        self._allowed: set[str] = set()

    def endpoint(self, override: PartnerOverride | None, central: str, partner: str) -> str:
        """The base URL a partner is reached at for this override; raises unless it is allowed."""
        field = f"spec.{partner.lower()}"
        if override is not None and override.base_url is not None:
            if override.credentials_secret_ref is None:  # the model and the CRD refuse this too
                raise PartnerEndpointNotAllowed(
                    f"{field}.baseUrl is set without {field}.credentialsSecretRef: the operator's credentials are "
                    f"only sent to its own endpoint; add {field}.credentialsSecretRef or remove {field}.baseUrl. "
                    "No request was sent"
                )
            url, what = override.base_url, f"{field}.baseUrl"
        else:
            url, what = central, f"the operator's {partner} endpoint (TENDLC_{partner.upper()}_BASE_URL)"
        if url not in self._allowed:
            try:
                self._settings.partner_allow_list.check(url, what)
            except EndpointNotAllowed as problem:
                raise PartnerEndpointNotAllowed(f"{problem} No request was sent.") from None
            if len(self._allowed) >= 4096:  # tenants write URLs: bounded
                self._allowed.clear()
            self._allowed.add(url)
        return url.rstrip("/")

    async def _secret_values(
        self, override: PartnerOverride | None, default_name: str | None, namespace: str, keys: tuple[str, ...],
        partner: str, *, trust_unlabeled: bool = False,
    ) -> dict[str, str]:
        tenant = override is not None and override.credentials_secret_ref is not None
        if override is not None and override.credentials_secret_ref is not None:  # (mypy needs both tests)
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
        if tenant and not trust_unlabeled and secret.labels.get(LABEL_USAGE) != USAGE[partner]:
            raise CredentialsSecretNotLabeled(
                f"{partner} credentials Secret {where}/{name} (spec.{partner.lower()}.credentialsSecretRef) is not "
                f"labeled {LABEL_USAGE}={USAGE[partner]}, so the operator does not use it. If it holds this "
                f"namespace's {partner} credentials, opt it in: {label_command(where, name, USAGE[partner])}"
            )
        values: dict[str, str] = {}
        for key in keys:
            raw = secret.values.get(key, b"").decode("utf-8", errors="replace").strip()
            if not raw:
                raise CredentialsProblem(f"{partner} credentials Secret {where}/{name} has no non-empty key {key!r}")
            values[key] = raw
        register_secret(*values.values())  # the log redaction net knows every credential we hold
        return values

    async def for_spec(
        self, spec: CampaignMigrationSpec, namespace: str, *, trust_unlabeled: bool = False
    ) -> PartnerClients:
        """The clients for one resource; raises `CredentialsProblem` (or a subclass) before any request.

        `trust_unlabeled` accepts a tenant's credentials Secret without the `tendlc.io/usage` label:
        only for a resource that passed the prerequisite gate before the label was required (upgrades).
        """
        settings = self._settings
        infobip_url = self.endpoint(spec.infobip, settings.infobip_base_url, "Infobip")
        tcr_url = self.endpoint(spec.tcr, settings.tcr_base_url, "TCR")
        default_infobip = settings.infobip_credentials_secret
        default_tcr = settings.tcr_credentials_secret
        infobip_values = await self._secret_values(
            spec.infobip, default_infobip.name if default_infobip else None, namespace, INFOBIP_KEYS, "Infobip",
            trust_unlabeled=trust_unlabeled,
        )
        tcr_values = await self._secret_values(
            spec.tcr, default_tcr.name if default_tcr else None, namespace, TCR_KEYS, "TCR",
            trust_unlabeled=trust_unlabeled,
        )
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
        url = self.endpoint(None, self._settings.infobip_base_url, "Infobip")
        values = await self._secret_values(None, default.name if default else None, "", INFOBIP_KEYS, "Infobip")
        return self._infobip_client(url, values["apiKey"])

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
