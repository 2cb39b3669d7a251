"""The Infobip subscription: deterministic ids, and a plan that never creates duplicates."""

from __future__ import annotations

from typing import Any

import pytest
from webhook_samples import WEBHOOK_HMAC_KEY, WEBHOOK_PASSWORD, WEBHOOK_USERNAME

from tendlc.clients.models import Subscription, SubscriptionRequest
from tendlc.webhooks.auth import WebhookAuth
from tendlc.webhooks.subscription import (
    SUBSCRIPTION_EVENTS,
    Create,
    Keep,
    Replace,
    desired_subscription,
    plan_subscription,
    subscription_id_for,
)

URL = "https://tendlc.example.com/webhooks/infobip"
BASIC = WebhookAuth.basic(WEBHOOK_USERNAME, WEBHOOK_PASSWORD)


def listed(request: SubscriptionRequest, **changes: Any) -> Subscription:
    """The subscription as Infobip lists it after `request` was created (ids, name, events)."""
    security = request.profile.security
    data: dict[str, Any] = {
        "subscriptionId": request.subscription_id,
        "name": request.name,
        "events": [{"event": name} for name in request.events],
        "profile": {
            "profileId": request.profile.profile_id,
            "security": {"authId": security.auth_id} if security else None,
        },
    }
    data.update(changes)
    return Subscription.model_validate(data)


def test_the_request_points_at_the_url_with_both_events_and_the_security() -> None:
    request = desired_subscription(URL, BASIC, owner="prod-east")
    body = request.to_body()
    assert body["subscriptionId"] == subscription_id_for(URL)
    assert body["subscriptionId"].startswith("tendlc-")
    assert body["name"] == "tendlc:prod-east"
    assert tuple(body["events"]) == SUBSCRIPTION_EVENTS
    assert body["profile"]["webhook"] == {"notifyUrl": URL}
    assert body["profile"]["security"]["type"] == "BASIC"
    assert body["profile"]["security"]["credentials"]["password"] == WEBHOOK_PASSWORD
    assert request.secret_values() == (WEBHOOK_PASSWORD,)
    assert WEBHOOK_PASSWORD not in repr(request)


def test_ids_are_deterministic_across_restarts() -> None:
    assert desired_subscription(URL, BASIC) == desired_subscription(URL, WebhookAuth.basic(WEBHOOK_USERNAME,
                                                                                             WEBHOOK_PASSWORD))


def test_another_url_gets_another_subscription_id() -> None:
    assert subscription_id_for(URL) != subscription_id_for(URL + "2")


def test_rotating_the_credentials_changes_profile_and_auth_ids_but_not_the_subscription_id() -> None:
    before = desired_subscription(URL, BASIC)
    after = desired_subscription(URL, WebhookAuth.basic(WEBHOOK_USERNAME, WEBHOOK_PASSWORD + "-rotated"))
    hmac = desired_subscription(URL, WebhookAuth.hmac(WEBHOOK_HMAC_KEY))
    assert before.subscription_id == after.subscription_id == hmac.subscription_id
    assert len({before.profile.profile_id, after.profile.profile_id, hmac.profile.profile_id}) == 3
    assert WEBHOOK_PASSWORD not in before.profile.profile_id


@pytest.mark.parametrize("url", ["ftp://x/y", "/webhooks/infobip", "https://user:pw@host/x", "https://host/x#frag"])
def test_unusable_public_urls_are_refused(url: str) -> None:
    with pytest.raises(ValueError, match="webhook public URL"):
        desired_subscription(url, BASIC)


def test_no_subscription_yet_means_create() -> None:
    desired = desired_subscription(URL, BASIC)
    assert plan_subscription([], desired) == Create(request=desired)


def test_the_existing_subscription_is_kept_on_restart() -> None:
    desired = desired_subscription(URL, BASIC)
    assert plan_subscription([listed(desired)], desired) == Keep(subscription_id=desired.subscription_id)


def test_two_restarts_create_the_subscription_once() -> None:
    desired = desired_subscription(URL, BASIC)
    infobip: list[Subscription] = []
    creates = 0
    for _ in range(3):
        plan = plan_subscription(infobip, desired)
        if isinstance(plan, Create | Replace):
            infobip = [item for item in infobip if item.subscription_id not in getattr(plan, "delete", ())]
            infobip.append(listed(plan.request))
            creates += 1
    assert creates == 1
    assert len(infobip) == 1


def test_rotated_credentials_replace_the_subscription() -> None:
    old = desired_subscription(URL, BASIC)
    new = desired_subscription(URL, WebhookAuth.basic(WEBHOOK_USERNAME, "a-new-password"))
    assert plan_subscription([listed(old)], new) == Replace(delete=(new.subscription_id,), request=new)


def test_missing_events_replace_the_subscription() -> None:
    desired = desired_subscription(URL, BASIC)
    existing = listed(desired, events=["CAMPAIGN_STATUS_UPDATE"])
    assert isinstance(plan_subscription([existing], desired), Replace)


def test_a_listing_without_profile_is_replaced_rather_than_trusted() -> None:
    desired = desired_subscription(URL, BASIC)
    assert isinstance(plan_subscription([listed(desired, profile=None)], desired), Replace)


def test_the_old_url_of_the_same_owner_is_deleted_when_the_url_changes() -> None:
    old = desired_subscription("https://old.example.com/webhooks/infobip", BASIC)
    new = desired_subscription(URL, BASIC)
    assert plan_subscription([listed(old)], new) == Replace(delete=(old.subscription_id,), request=new)
    assert plan_subscription([listed(old), listed(new)], new) == Keep(
        subscription_id=new.subscription_id, delete=(old.subscription_id,)
    )


def test_other_owners_and_foreign_subscriptions_are_never_touched() -> None:
    mine = desired_subscription(URL, BASIC, owner="cluster-a")
    theirs = desired_subscription("https://b.example.com/hook", BASIC, owner="cluster-b")
    foreign = Subscription(subscription_id="billing-hooks", name="tendlc:cluster-a")
    assert plan_subscription([listed(theirs), foreign], mine) == Create(request=mine)


def test_owner_names_are_checked() -> None:
    with pytest.raises(ValueError, match="owner"):
        desired_subscription(URL, BASIC, owner="has space")
