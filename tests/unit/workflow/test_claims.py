"""Campaign ownership: the oldest live resource claims a campaign ID; the namespace policy fails closed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from support.loop_driver import T0, Executor, FakePartners, make_facts, make_spec
from tendlc.workflow import Park
from tendlc.workflow.claims import (
    CampaignClaims,
    ClaimCandidate,
    allowed_campaigns,
    claimant,
    namespace_allows,
    namespace_policy,
)

CREATED = datetime(2026, 11, 1, tzinfo=UTC)


def candidate(namespace: str, name: str, *, uid: str = "", age: int = 0, campaign: str = "COJD655",
              deleted: bool = False) -> ClaimCandidate:
    return ClaimCandidate(namespace, name, uid or f"uid-{namespace}-{name}", CREATED - timedelta(minutes=age),
                          campaign, deleted)


def test_the_oldest_live_resource_claims_the_campaign_across_namespaces() -> None:
    claims = CampaignClaims()
    claims.observe(candidate("team-b", "mine-too", age=1))
    claims.observe(candidate("team-a", "first", age=5))
    assert str(claims.claimant("COJD655")) == "team-a/first"
    assert claims.claimed_elsewhere(("team-b", "mine-too")) == "team-a/first"
    assert claims.claimed_elsewhere(("team-a", "first")) is None
    assert claims.is_claimant(("team-a", "first"), "COJD655")
    assert sorted(claims.contenders("COJD655")) == [("team-a", "first"), ("team-b", "mine-too")]


def test_the_order_of_watch_events_does_not_change_the_claimant() -> None:
    older, younger = candidate("team-a", "x", age=5), candidate("team-b", "y", age=1)
    for order in ([older, younger], [younger, older]):
        claims = CampaignClaims()
        for seen in order:
            claims.observe(seen)
        assert claims.claimant("COJD655") == older


def test_equal_creation_times_are_decided_by_uid() -> None:
    a, b = candidate("team-a", "x", uid="0001"), candidate("team-b", "y", uid="0002")
    assert claimant([b, a]) == a


def test_deleting_the_claimant_hands_the_campaign_to_the_next_oldest() -> None:
    claims = CampaignClaims()
    claims.observe(candidate("team-a", "first", age=5))
    claims.observe(candidate("team-b", "second", age=1))
    claims.observe(candidate("team-a", "first", age=5, deleted=True))  # deletionTimestamp set: not live
    assert claims.claimed_elsewhere(("team-b", "second")) is None
    claims.forget(("team-a", "first"))
    assert str(claims.claimant("COJD655")) == "team-b/second"
    claims.forget(("team-b", "second"))
    assert claims.claimant("COJD655") is None
    assert claims.contenders("COJD655") == []


def test_other_campaigns_do_not_compete() -> None:
    claims = CampaignClaims()
    claims.observe(candidate("team-a", "x", age=5))
    claims.observe(candidate("team-b", "y", campaign="CABC123"))
    assert claims.claimed_elsewhere(("team-b", "y")) is None


def test_a_candidate_is_read_from_a_watched_body() -> None:
    body = {"metadata": {"namespace": "team-a", "name": "x", "uid": "u1", "creationTimestamp": "2026-11-01T00:00:00Z",
                         "deletionTimestamp": "2026-11-02T00:00:00Z"}, "spec": {"campaignId": "COJD655"}}
    seen = ClaimCandidate.from_body(body)
    assert seen == ClaimCandidate("team-a", "x", "u1", CREATED, "COJD655", deleted=True)
    assert ClaimCandidate.from_body({"metadata": {"name": "x"}, "spec": {}}) is None


def test_a_resource_claimed_elsewhere_parks_without_a_partner_call() -> None:
    partners = FakePartners()
    decision = Executor(make_spec(), partners).round(make_facts(T0, claimed_by="team-a/first"))
    assert isinstance(decision, Park)
    assert decision.recheck_after is None  # woken when the claimant goes, not polled
    ready = decision.status.condition("Ready")
    assert ready is not None
    assert ready.reason == "CampaignClaimedElsewhere"
    assert "team-a/first" in ready.message
    assert partners.calls == []
    assert decision.event is not None
    assert decision.event.type == "Warning"


def test_once_the_claimant_is_gone_the_migration_starts() -> None:
    partners = FakePartners()
    executor = Executor(make_spec(), partners)
    executor.round(make_facts(T0, claimed_by="team-a/first"))
    executor.round(make_facts(T0))
    assert partners.calls  # the import went out


@pytest.mark.parametrize(
    ("annotation", "campaign", "allowed"),
    [
        ("COJD655", "COJD655", True),
        ("CABC123, COJD655", "COJD655", True),
        ("CABC123\nCOJD655", "COJD655", True),
        ("COJ*", "COJD655", True),
        ("*", "CZZZ999", True),
        ("CABC123", "COJD655", False),
        ("", "COJD655", False),
        (None, "COJD655", False),
        ("COJD655, cojd655-lower", "COJD655", False),  # unreadable: fails closed
        ("COJD6551", "COJD655", False),
    ],
)
def test_the_namespace_policy(annotation: str | None, campaign: str, allowed: bool) -> None:
    assert namespace_allows(annotation, campaign) is allowed
    message = namespace_policy("team-a", {} if annotation is None else {"tendlc.io/allowed-campaigns": annotation},
                               campaign)
    assert (message is None) is allowed
    if message is not None:
        assert "kubectl annotate namespace team-a tendlc.io/allowed-campaigns=" in message


def test_a_bad_policy_entry_is_named() -> None:
    with pytest.raises(ValueError, match="'C-1'"):
        allowed_campaigns("COJD655,C-1")


def test_a_namespace_the_policy_refuses_parks_without_a_partner_call() -> None:
    partners = FakePartners()
    reason = namespace_policy("team-a", {}, "COJD655")
    decision = Executor(make_spec(), partners).round(make_facts(T0, campaign_not_allowed=reason))
    assert isinstance(decision, Park)
    ready = decision.status.condition("Ready")
    assert ready is not None
    assert ready.reason == "CampaignNotAllowedInNamespace"
    assert partners.calls == []
