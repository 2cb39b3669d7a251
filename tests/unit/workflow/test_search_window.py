"""The D24 searches and the election read while TCR decides: no read or write that cannot change
when the migration is submitted."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from support.loop_driver import CONFIG, T0, Executor, FakePartners, make_facts, make_spec
from tendlc.workflow import ObserveElection, ObserveMigration, SubmitMigration, Wait

WINDOW = timedelta(seconds=60)
BACKOFF = timedelta(seconds=30)  # shorter than the window, as with the defaults (30 s, 60 s)
POLICY = replace(CONFIG.policy(random=lambda: 0.5), absence_searches=2, absence_window=WINDOW,
                 backoff_initial=BACKOFF)


def test_while_the_searches_run_tcr_is_read_again_when_the_window_ends_not_sooner() -> None:
    partners = FakePartners()
    executor = Executor(make_spec(), partners, policy=POLICY)
    first = executor.round(make_facts(T0))
    # Elected, the first search made, TCR still deciding: nothing can be submitted before T0 + window.
    assert partners.count(ObserveMigration) == 1
    assert isinstance(first, Wait)
    assert first.delay == WINDOW
    assert first.status.next_check_at == T0 + WINDOW
    partners.sharing = "ACCEPTED"  # accepted a backoff later: reading it then would only wait for the window
    writes = len(executor.api.patches)
    settled = executor.round(make_facts(T0 + WINDOW))
    # One pass: the election read, the second search, the migrate; no status written in between but the marker.
    assert [type(call) for call in partners.calls[-3:]] == [ObserveElection, ObserveMigration, SubmitMigration]
    assert partners.count(ObserveElection) == 2  # the read before electing, and this one
    assert settled.status.infobip_campaign_id is not None
    assert len(executor.api.patches) - writes == 2  # the exactly-once marker, then the settled status


def test_once_the_window_has_passed_a_pending_election_is_read_on_its_backoff() -> None:
    partners = FakePartners()
    executor = Executor(make_spec(), partners, policy=POLICY)
    executor.round(make_facts(T0))
    still_pending = executor.round(make_facts(T0 + WINDOW))
    assert isinstance(still_pending, Wait)
    assert still_pending.delay < WINDOW  # the election's own backoff from here on, not the window again
    assert partners.count(SubmitMigration) == 0
