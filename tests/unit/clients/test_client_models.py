"""The partner models read what partners send, tolerantly: unknown values, nulls, odd dates."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import jsonschema
import pytest

from tendlc.clients.models import (
    CampaignPage,
    CampaignSharing,
    InfobipCampaign,
    Subscription,
)

CAMPAIGN = "2700ea5ecfd0574f21019319e90eb63416ede8263eab67e466c718c51cd1a77a"


def test_the_migrate_answer_from_the_guide_is_read(campaign_json: Callable[..., dict[str, Any]]) -> None:
    campaign = InfobipCampaign.model_validate(campaign_json())
    assert campaign.external_campaign_id == "COJD655"
    assert campaign.created_date == datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
    assert campaign.application_id == "default"
    assert campaign.rejection_reasons == ()
    assert campaign.rejection_details == ()


@pytest.mark.parametrize("stage", ["IN_MIGRATION", "REGISTERED", "PAUSED", "SOME_FUTURE_STAGE", None])
def test_any_stage_string_is_kept_as_is(campaign_json: Callable[..., dict[str, Any]], stage: str | None) -> None:
    assert InfobipCampaign.model_validate(campaign_json(stage=stage)).stage == stage


def test_nulls_and_odd_values_read_as_absent(campaign_json: Callable[..., dict[str, Any]]) -> None:
    campaign = InfobipCampaign.model_validate(
        campaign_json(
            createdDate="last Tuesday",
            lastModifiedDate=None,
            externalCampaignId=None,
            campaignFeedback={"rejectionReasons": None, "rejectionDetails": None, "rejectionDate": 17},
            numberPreviews=None,
            name={"unexpected": "object"},
        )
    )
    assert campaign.created_date is None
    assert campaign.external_campaign_id is None
    assert campaign.name is None
    assert campaign.rejection_reasons == ()
    assert campaign.numbers == ()


def test_naive_and_offset_dates_become_utc(campaign_json: Callable[..., dict[str, Any]]) -> None:
    naive = InfobipCampaign.model_validate(campaign_json(createdDate="2026-11-26T10:00:00"))
    offset = InfobipCampaign.model_validate(campaign_json(createdDate="2026-11-26T12:00:00+02:00"))
    assert naive.created_date == offset.created_date == datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
    assert offset.created_date is not None
    assert offset.created_date.tzinfo == UTC


def test_a_campaign_without_id_is_not_a_campaign() -> None:
    with pytest.raises(ValueError, match="id"):
        InfobipCampaign.model_validate({"name": "x"})


def test_a_page_without_paging_is_a_single_page(campaign_json: Callable[..., dict[str, Any]]) -> None:
    page = CampaignPage.model_validate({"results": [campaign_json()]})
    assert page.paging is None
    assert len(page.results) == 1


def test_sharing_tolerates_unknown_statuses_and_flags() -> None:
    sharing = CampaignSharing.model_validate(
        {"sharedByMe": {"upstreamCnpId": "OPMKT", "sharingStatus": "REVOKED_LATER", "cnpMigration": "maybe"}}
    )
    assert sharing.shared_by_me is not None
    assert sharing.shared_by_me.sharing_status == "REVOKED_LATER"
    assert sharing.shared_by_me.cnp_migration is None


def test_subscription_events_keep_only_names() -> None:
    subscription = Subscription.model_validate(
        {"subscriptionId": "s", "events": ["A", {"event": "B", "format": "V1"}, {"format": "lost"}, 3]}
    )
    assert subscription.events == ("A", "B")


def test_the_schema_check_used_for_fixtures_really_checks(
    campaign_json: Callable[..., dict[str, Any]], infobip_schema: Callable[[Any, str], None]
) -> None:
    infobip_schema(campaign_json(), f"{CAMPAIGN}.ExternalTenDlcCampaign")
    with pytest.raises(jsonschema.ValidationError):
        infobip_schema(campaign_json(stage="NOT_A_STAGE"), f"{CAMPAIGN}.ExternalTenDlcCampaign")
    with pytest.raises(jsonschema.ValidationError):
        infobip_schema({"results": [], "paging": {"page": 0}}, f"{CAMPAIGN}.PageResponseCampaign")
