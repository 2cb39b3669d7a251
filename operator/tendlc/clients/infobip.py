"""The Infobip client: number import, campaign migration, campaign reads and webhook subscriptions.

This room speaks Infobip's HTTP API as documented (OpenAPI 3.210.0) and as decided where it is not
(`docs/decisions.md` D1 to D4, D40 to D42). Each method is one partner operation; every request
waits for the shared rate limiter of its endpoint class and every failure surfaces as a
`tendlc.partner_errors` error. Its only state is the account's owned-numbers lookups
(`tendlc.clients.owned_numbers`), shared by every campaign using this client so that a fleet does
not read the list once per number. It never retries (the workflow owns retry policy: the migrate
POST in particular is not idempotent), never logs bodies or credentials, and imports no Kopf.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import httpx

from tendlc.clients.credentials import InfobipCredentials
from tendlc.clients.http import Endpoint, OnCall, PartnerClient, path_segment
from tendlc.clients.import_answers import (
    ImportAnswer,
    ImportConfirmation,
    Verdict,
    confirmation,
    read_import_answer,
    unreadable_answer,
)
from tendlc.clients.models import (
    CampaignNumbers,
    CampaignPage,
    InfobipCampaign,
    OwnedNumbersPage,
    Subscription,
    SubscriptionPage,
    SubscriptionRequest,
)
from tendlc.clients.owned_numbers import PAGE_SIZE, OwnedNumbers
from tendlc.clients.problems import parse_infobip_error
from tendlc.clients.ratelimit import (
    ADD_NUMBERS,
    INFOBIP,
    NUMBERS_IMPORT,
    NUMBERS_READ,
    REGISTRATION_READ,
    REGISTRATION_WRITE,
    SUBSCRIPTIONS,
    RateLimiterRegistry,
)
from tendlc.clients.responses import PartnerDialect
from tendlc.partner_errors import PartnerResponseInvalid
from tendlc.partner_requests import (
    ADD_NUMBERS_MAX,
    ADD_NUMBERS_PATH,
    IMPORT_PATH,
    MIGRATE_PATH,
    AddNumbersRequest,
    MigrationRequest,
    NumberImport,
)

INFOBIP_DIALECT = PartnerDialect(partner=INFOBIP, parse_error=parse_infobip_error)

IMPORT_NUMBERS = Endpoint("numbers.import", "POST", IMPORT_PATH, NUMBERS_IMPORT)
LIST_OWNED_NUMBERS = Endpoint("numbers.owned", "GET", "/numbers/1/numbers", NUMBERS_READ)
MIGRATE_CAMPAIGN = Endpoint("campaigns.migrate", "POST", MIGRATE_PATH, REGISTRATION_WRITE)
GET_CAMPAIGN = Endpoint("campaigns.get", "GET", "/number-registration/1/campaigns/{campaign_id}", REGISTRATION_READ)
LIST_CAMPAIGNS = Endpoint("campaigns.list", "GET", "/number-registration/1/campaigns", REGISTRATION_READ)
ADD_CAMPAIGN_NUMBERS = Endpoint("campaigns.add_numbers", "POST", ADD_NUMBERS_PATH, ADD_NUMBERS)
GET_CAMPAIGN_NUMBERS = Endpoint(
    "campaigns.numbers", "GET", "/number-registration/1/campaigns/{campaign_id}/numbers", REGISTRATION_READ
)
LIST_SUBSCRIPTIONS = Endpoint("subscriptions.list", "GET", "/subscriptions/1/subscription/{channel}", SUBSCRIPTIONS)
CREATE_SUBSCRIPTION = Endpoint("subscriptions.create", "POST", "/subscriptions/1/subscription/{channel}", SUBSCRIPTIONS)
DELETE_SUBSCRIPTION = Endpoint(
    "subscriptions.delete",
    "DELETE",
    "/subscriptions/1/subscription/{channel}/{subscription_id}",
    SUBSCRIPTIONS,
)

EXTERNAL_TEN_DIGIT_LONG_CODE = "EXTERNAL_TEN_DIGIT_LONG_CODE"
#: decisions.md D1: at most 100 numbers per import request.
IMPORT_BATCH_SIZE = 100
#: Guide: at most 200 numbers per migrate request.
MIGRATE_MAX_NUMBERS = 200
#: Spec: `size` of the campaign list is at most 2000; subscriptions at most 100.
CAMPAIGN_PAGE_SIZE_MAX = 2000
SUBSCRIPTION_PAGE_SIZE = 100
#: A list that claims more pages than this is treated as a broken answer, not walked forever.
MAX_PAGES = 1000
#: Numbers per `number` filter of the campaign list in a preflight: about 1 KB of query.
NUMBER_FILTER_CHUNK = 50

_DISTANT_PAST = datetime.min.replace(tzinfo=UTC)


class InfobipClient(PartnerClient):
    """Infobip for one account (base URL + credentials).

    `limiter_registry` is shared by every client of the process so that all resources together
    stay under the account's limits; `account` overrides the limiter key (default: the base URL).
    `on_call(partner, endpoint, status_class, seconds)` is told about every HTTP exchange.
    """

    dialect = INFOBIP_DIALECT

    def __init__(
        self,
        base_url: str,
        credentials: InfobipCredentials,
        *,
        timeout: float = 10.0,
        limiter_registry: RateLimiterRegistry,
        on_call: OnCall | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        account: str | None = None,
        import_batch_size: int = IMPORT_BATCH_SIZE,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not 1 <= import_batch_size <= IMPORT_BATCH_SIZE:
            raise ValueError(f"import_batch_size must be between 1 and {IMPORT_BATCH_SIZE}")
        self._import_batch_size = import_batch_size
        self._clock = clock
        super().__init__(
            base_url, credentials, timeout=timeout, limiter_registry=limiter_registry, on_call=on_call,
            transport=transport, account=account,
        )
        self._owned = OwnedNumbers(self._owned_page, clock=clock)

    async def aclose(self) -> None:
        await self._owned.aclose()
        await super().aclose()

    async def _all_pages(
        self,
        endpoint: Endpoint,
        page_model: type[CampaignPage] | type[SubscriptionPage],
        identity: Callable[[Any], str],
        filters: list[tuple[str, str]],
        page_size: int,
        what: str,
        *,
        path_params: Mapping[str, str] | None = None,
    ) -> list[Any]:
        """Every item of a paged list (`paging.totalPages`); an item seen on two pages (the list
        moved while walking) is returned once. Bounded by MAX_PAGES."""
        found: dict[str, Any] = {}
        page = 0
        while True:
            params = [*filters, ("page", str(page)), ("size", str(page_size))]
            data = await self._http.call(endpoint, path_params=path_params, params=params)
            result: CampaignPage | SubscriptionPage = self._http.parse(endpoint, page_model, data)
            for item in result.results:
                found.setdefault(identity(item), item)
            total_pages = result.paging.total_pages if result.paging is not None else 0
            page += 1
            if not result.results or page >= total_pages:
                return list(found.values())
            if page >= MAX_PAGES:
                raise PartnerResponseInvalid(INFOBIP, endpoint.name, f"{what} list claims more than {MAX_PAGES} pages")

    # ---------------------------------------------------------------------------- numbers

    async def import_and_confirm(self, request: NumberImport) -> ImportConfirmation:
        """Import the numbers (batches of at most 100) and say which are imported, refused or unknown.

        Any 2xx answer is read tolerantly (D40, D41): D1's shape, `numbers[]` of `{phoneNumber,
        result}`, `{}`, 202 without a body or with a request id, or something else entirely — an
        answer we cannot read is an unknown outcome, never an exception. Only when the answers do
        not report every number as IMPORTED, ALREADY_IMPORTED or SUCCESS (or refuse it in explicit
        words) is the owned-numbers list read to confirm the rest (D42): the happy path makes no
        extra request. Non-2xx answers raise the partner error (sending again is safe: D1).
        """
        parts: list[ImportAnswer] = []
        for batch in request.batches(self._import_batch_size):
            try:
                data = await self._http.call(IMPORT_NUMBERS, json_body=batch.body(), allow_empty=True)
            except PartnerResponseInvalid:
                parts.append(unreadable_answer(batch.numbers))  # a 2xx whose body is not JSON
                continue
            parts.append(read_import_answer(data, batch.numbers))
        answer = ImportAnswer.merge(parts)
        answered_at = self._clock()
        to_check = answer.numbers(Verdict.MAYBE, Verdict.UNKNOWN)
        if not to_check:
            return confirmation(answer)
        check = await self._owned.check(to_check, since=answered_at)
        return confirmation(answer, owned=check.owned, calls=check.calls, read_problem=check.problem)

    async def list_owned_numbers(
        self, *, number: str | None = None, page: int = 0, limit: int = PAGE_SIZE
    ) -> OwnedNumbersPage:
        """One page of `GET /numbers/1/numbers` (published; `number` searches, `page` from 0)."""
        params = [("page", str(page)), ("limit", str(limit))]
        if number is not None:
            params.insert(0, ("number", number))
        data = await self._http.call(LIST_OWNED_NUMBERS, params=params)
        return self._http.parse(LIST_OWNED_NUMBERS, OwnedNumbersPage, data)

    async def _owned_page(self, number: str | None, page: int, limit: int) -> OwnedNumbersPage:
        return await self.list_owned_numbers(number=number, page=page, limit=limit)

    # -------------------------------------------------------------------------- campaigns

    async def submit_migration(self, request: MigrationRequest, *, send_within: float | None = None) -> InfobipCampaign:
        """`POST /number-registration/1/campaigns/migrate`: NOT idempotent, never retried here.

        Any error that leaves the outcome unknown (PartnerUnavailable, PartnerResponseInvalid) must
        be followed by `find_migrated_campaign` before the workflow decides to send it again. With
        `send_within` (seconds: a wave's window closes) a request whose turn comes later is not
        sent (`RequestNotSent`).
        """
        if not request.name or not request.external_campaign_id:
            raise ValueError("name and external_campaign_id are required")
        if not 1 <= len(request.numbers) <= MIGRATE_MAX_NUMBERS:
            raise ValueError(f"a migration carries 1 to {MIGRATE_MAX_NUMBERS} numbers, got {len(request.numbers)}")
        if len(set(request.numbers)) != len(request.numbers):
            raise ValueError("numbers must be unique")
        data = await self._http.call(MIGRATE_CAMPAIGN, json_body=request.body(), send_within=send_within)
        return self._http.parse(MIGRATE_CAMPAIGN, InfobipCampaign, data)

    async def get_campaign(self, campaign_id: str) -> InfobipCampaign:
        """`GET /number-registration/1/campaigns/{id}` (Infobip UUID); PartnerNotFound when unknown."""
        data = await self._http.call(GET_CAMPAIGN, path_params={"campaign_id": campaign_id})
        return self._http.parse(GET_CAMPAIGN, InfobipCampaign, data)

    async def add_numbers(self, request: AddNumbersRequest) -> None:
        """`POST …/campaigns/{id}/add-numbers` (published; 202): NOT idempotent, never retried here.

        Infobip applies the batch asynchronously; an outcome left unknown (PartnerUnavailable,
        PartnerResponseInvalid) must be followed by `get_campaign_numbers` before any resend (D61).
        Any 2xx is success, with or without a body.
        """
        if not 1 <= len(request.numbers) <= ADD_NUMBERS_MAX:
            count = len(request.numbers)
            raise ValueError(f"an add-numbers request carries 1 to {ADD_NUMBERS_MAX} numbers, got {count}")
        if len(set(request.numbers)) != len(request.numbers):
            raise ValueError("numbers must be unique")
        await self._http.call(
            ADD_CAMPAIGN_NUMBERS,
            path_params={"campaign_id": request.infobip_campaign_id},
            json_body=request.body(),
            allow_empty=True,
        )

    async def get_campaign_numbers(self, campaign_id: str) -> tuple[str, ...]:
        """`GET /number-registration/1/campaigns/{id}/numbers`: the numbers on the campaign."""
        data = await self._http.call(GET_CAMPAIGN_NUMBERS, path_params={"campaign_id": campaign_id})
        return self._http.parse(GET_CAMPAIGN_NUMBERS, CampaignNumbers, data).numbers

    async def find_campaigns(
        self,
        *,
        name_like: str | None = None,
        numbers: Sequence[str] = (),
        stages: Sequence[str] = (),
        types: Sequence[str] = (),
        page_size: int = 100,
    ) -> list[InfobipCampaign]:
        """`GET /number-registration/1/campaigns` with filters, every page walked (paging.totalPages).

        Array filters are sent exploded (`number=a&number=b`), as the spec's form style says.
        A campaign seen on two pages (the list moved while walking) is returned once.
        """
        if not 1 <= page_size <= CAMPAIGN_PAGE_SIZE_MAX:
            raise ValueError(f"page_size must be between 1 and {CAMPAIGN_PAGE_SIZE_MAX}")
        filters: list[tuple[str, str]] = []
        if name_like:
            filters.append(("nameLike", name_like))
        filters.extend(("number", number) for number in numbers)
        filters.extend(("stage", stage) for stage in stages)
        filters.extend(("type", campaign_type) for campaign_type in types)

        return await self._all_pages(LIST_CAMPAIGNS, CampaignPage, lambda c: c.id, filters, page_size, "campaign")

    async def find_campaigns_holding(
        self, numbers: Sequence[str], *, chunk: int = NUMBER_FILTER_CHUNK
    ) -> dict[str, tuple[InfobipCampaign, tuple[str, ...]]]:
        """Every campaign holding any of `numbers`, with which of them it holds (preflight, D65).

        The list's `number` filter is asked `chunk` numbers at a time (a URL stays short); the
        numbers a campaign holds come from its `numberPreviews`, or from `GET …/numbers` when the
        previews name none of the chunk (previews may be partial).
        """
        found: dict[str, tuple[InfobipCampaign, set[str]]] = {}
        for start in range(0, len(numbers), max(chunk, 1)):
            asked = set(numbers[start : start + chunk])
            for campaign in await self.find_campaigns(numbers=tuple(asked), page_size=CAMPAIGN_PAGE_SIZE_MAX):
                held = asked.intersection(campaign.numbers)
                if not held:
                    held = asked.intersection(await self.get_campaign_numbers(campaign.id))
                entry = found.setdefault(campaign.id, (campaign, set()))
                entry[1].update(held)
        return {key: (campaign, tuple(sorted(held))) for key, (campaign, held) in found.items()}

    async def owned_among(self, numbers: Sequence[str]) -> tuple[frozenset[str], str | None]:
        """Which of `numbers` the account owns by the published list (D42), and why it stopped early."""
        check = await self._owned.check(numbers, since=self._clock())
        return check.owned, check.problem

    async def find_migrated_campaigns(
        self, external_campaign_id: str, *, name: str, number: str
    ) -> list[InfobipCampaign]:
        """Every campaign a migrate for `external_campaign_id` may have created, newest first (D4).

        Lists by `nameLike=name`, `number=number`, `type=EXTERNAL_TEN_DIGIT_LONG_CODE` and keeps
        exact `externalCampaignId` matches; a campaign without `createdDate` sorts last.
        """
        candidates = await self.find_campaigns(name_like=name, numbers=(number,), types=(EXTERNAL_TEN_DIGIT_LONG_CODE,))
        matches = [campaign for campaign in candidates if campaign.external_campaign_id == external_campaign_id]
        matches.sort(key=lambda campaign: campaign.created_date or _DISTANT_PAST, reverse=True)
        return matches

    async def find_migrated_campaign(
        self, external_campaign_id: str, *, name: str, number: str
    ) -> InfobipCampaign | None:
        """The newest campaign created by a migrate for `external_campaign_id`, or None (D4)."""
        matches = await self.find_migrated_campaigns(external_campaign_id, name=name, number=number)
        return matches[0] if matches else None

    # ---------------------------------------------------------------------- subscriptions

    async def list_subscriptions(self, channel: str = "REGISTRATION") -> list[Subscription]:
        """Every subscription of the channel (all pages)."""
        return await self._all_pages(
            LIST_SUBSCRIPTIONS, SubscriptionPage, lambda item: item.subscription_id, [], SUBSCRIPTION_PAGE_SIZE,
            "subscription", path_params={"channel": channel},
        )

    async def create_subscription(self, request: SubscriptionRequest, *, channel: str = "REGISTRATION") -> Subscription:
        """Create a subscription with an inline profile (webhook URL + BASIC/HMAC security).

        The webhook secrets travel in the body; they are redacted from any error message.
        """
        path_segment(request.subscription_id)  # the id becomes a URL segment later: refuse it now
        data = await self._http.call(
            CREATE_SUBSCRIPTION,
            path_params={"channel": channel},
            json_body=request.to_body(),
            sensitive=request.secret_values(),
            allow_empty=True,
        )
        if data is None:
            return Subscription(subscription_id=request.subscription_id)
        return self._http.parse(CREATE_SUBSCRIPTION, Subscription, data)

    async def delete_subscription(self, subscription_id: str, *, channel: str = "REGISTRATION") -> None:
        """Delete a subscription; PartnerNotFound when it does not exist."""
        await self._http.call(
            DELETE_SUBSCRIPTION,
            path_params={"channel": channel, "subscription_id": subscription_id},
            allow_empty=True,
        )
