"""The cut-over step (D58): Ready waits for it, failures are counted, it is checked before submission.

Driven through the production pass (support.loop_driver); FakePartners counts every cut-over
attempt it receives, per idempotency key.
"""

from __future__ import annotations

from datetime import timedelta

from support.loop_driver import T0, UUID, Executor, FakePartners, make_facts, make_spec
from tendlc.api import Phase
from tendlc.api.spec import CutOver
from tendlc.api.status import MigrationStatus
from tendlc.workflow import (
    Annotations,
    CutOverFailed,
    Done,
    ImportNumbers,
    Park,
    SubmitMigration,
    SwitchTraffic,
    WaveGate,
)
from tendlc.workflow.facts import CutOverProblem

CONFIG_MAP = {"configMap": {"name": "routing", "key": "campaign-{campaignId}"}}
WEBHOOK = {"webhook": {"url": "https://router.example.com/cutover", "secretRef": {"name": "hmac"}}}


def submitted(**fields: object) -> MigrationStatus:
    """A status past the submission: numbers imported, CNP elected, the Infobip campaign known."""
    return MigrationStatus.model_validate({"numbers_imported_at": T0, "cnp_elected_at": T0, **fields})


def registered(partners: FakePartners) -> None:
    partners.sharing, partners.stage = "ACCEPTED", "REGISTERED"


def run(executor: Executor, partners: FakePartners) -> None:
    """Rounds in virtual time until Done: TCR accepts the election, Infobip registers the campaign."""
    now = T0
    for _ in range(50):
        decision = executor.round(make_facts(now))
        if partners.sharing == "PENDING" or partners.stage == "IN_MIGRATION":
            registered(partners)
        if isinstance(decision, Done):
            return
        delay = getattr(decision, "delay", None) or getattr(decision, "recheck_after", None)
        now += max(delay or timedelta(seconds=1), timedelta(seconds=1))
    raise AssertionError("not done within 50 rounds")


def test_ready_waits_for_the_cut_over_and_the_downtime_ends_when_it_succeeded() -> None:
    partners = FakePartners()
    executor = Executor(make_spec(cutover=CONFIG_MAP), partners)
    run(executor, partners)
    stored = executor.stored
    assert partners.count(SwitchTraffic) == 1
    switch = next(call for call in partners.calls if isinstance(call, SwitchTraffic))
    assert switch.idempotency_key == f"tendlc-COJD655-{UUID}"
    assert switch.cutover.config_map is not None
    assert switch.cutover.config_map.key_for("COJD655") == "campaign-COJD655"
    assert stored.traffic_switched_at is not None
    assert stored.downtime_ended_at == stored.traffic_switched_at
    ready, switched = stored.condition("Ready"), stored.condition("TrafficSwitched")
    assert ready is not None
    assert ready.status == "True"
    assert "ConfigMap routing" in ready.message
    assert switched is not None
    assert (switched.status, switched.reason) == ("True", "TrafficSwitched")
    done = [e.reason for e in executor.events if e.reason in ("SwitchTraffic", "TrafficSwitched")]
    assert done == ["TrafficSwitched"]


def test_without_a_cut_over_ready_turns_true_at_registered_and_says_to_switch() -> None:
    partners = FakePartners()
    executor = Executor(make_spec(), partners)
    run(executor, partners)
    assert partners.count(SwitchTraffic) == 0
    assert executor.stored.condition("TrafficSwitched") is None
    assert executor.stored.downtime_ended_at == executor.stored.registered_at
    assert [e.reason for e in executor.events if e.reason == "SwitchTraffic"] == ["SwitchTraffic"]


def test_a_failing_cut_over_is_retried_with_backoff_and_says_so_after_three() -> None:
    partners = FakePartners(faults={SwitchTraffic: [CutOverFailed("the endpoint answered HTTP 503")] * 3})
    registered(partners)
    executor = Executor(make_spec(cutover=WEBHOOK, skipOsrUpdate=True), partners)
    executor.stored = submitted(infobip_campaign_id=UUID, infobip_stage="IN_MIGRATION", phase=Phase.IN_MIGRATION)
    now, reasons = T0, []
    for _ in range(6):
        decision = executor.round(make_facts(now))
        ready = decision.status.condition("Ready")
        assert ready is not None
        reasons.append(ready.reason)
        if isinstance(decision, Done):
            break
        assert decision.status.next_check_at is not None
        now = decision.status.next_check_at
    assert reasons == ["SwitchingTraffic", "SwitchingTraffic", "CutOverFailing", "Registered"]
    assert partners.count(SwitchTraffic) == 4
    failing = [e for e in executor.events if e.reason == "CutOverFailing"]
    assert failing
    assert failing[0].type == "Warning"
    assert "HTTP 503" in failing[0].message


def test_registration_observed_after_a_long_poll_backoff_switches_at_once() -> None:
    partners = FakePartners(stage="REGISTERED", sharing="ACCEPTED")
    executor = Executor(make_spec(cutover=CONFIG_MAP), partners)
    executor.stored = submitted(infobip_campaign_id=UUID, infobip_stage="IN_MIGRATION", phase=Phase.IN_MIGRATION,
                           attempts=7, next_check_at=T0)
    decision = executor.round(make_facts(T0))
    assert isinstance(decision, Done)
    assert partners.count(SwitchTraffic) == 1  # the poll's 7 attempts are not the cut-over's


def test_a_cut_over_that_could_not_run_holds_the_migration_before_anything_is_sent() -> None:
    partners = FakePartners()
    executor = Executor(make_spec(cutover=CONFIG_MAP), partners)
    problem = CutOverProblem("CutOverNotAllowed", "ConfigMap 'routing' is not labeled tendlc.io/usage=cutover")
    decision = executor.round(make_facts(T0, cutover_problem=problem))
    assert isinstance(decision, Park)
    assert partners.calls == []
    ready, switched = decision.status.condition("Ready"), decision.status.condition("TrafficSwitched")
    assert ready is not None
    assert ready.reason == "CutOverNotAllowed"
    assert "Nothing is submitted" in ready.message
    assert switched is not None
    assert switched.status == "False"
    assert executor.events[-1].type == "Warning"
    # Fixed: the migration goes on by itself.
    executor.round(make_facts(T0 + timedelta(minutes=10)))
    assert partners.count(ImportNumbers) == 1


def test_after_submission_a_cut_over_problem_does_not_stop_the_monitoring() -> None:
    partners = FakePartners(stage="IN_MIGRATION", sharing="ACCEPTED")
    executor = Executor(make_spec(cutover=CONFIG_MAP), partners)
    executor.stored = submitted(infobip_campaign_id=UUID, infobip_stage="IN_MIGRATION", phase=Phase.IN_MIGRATION)
    problem = CutOverProblem("CutOverNotReady", "ConfigMap 'routing' does not exist")
    decision = executor.round(make_facts(T0, cutover_problem=problem))
    assert decision.status.condition("Ready").reason != "CutOverNotReady"  # type: ignore[union-attr]


def test_suspension_holds_the_cut_over_and_resuming_runs_it() -> None:
    partners = FakePartners(stage="REGISTERED", sharing="ACCEPTED")
    executor = Executor(make_spec(cutover=CONFIG_MAP), partners)
    executor.stored = submitted(infobip_campaign_id=UUID, infobip_stage="REGISTERED", phase=Phase.REGISTERED)
    decision = executor.round(make_facts(T0, annotations=Annotations(suspend=True)))
    assert isinstance(decision, Park)
    assert partners.count(SwitchTraffic) == 0
    assert decision.status.condition("TrafficSwitched").reason == "Suspended"  # type: ignore[union-attr]
    decision = executor.round(make_facts(T0 + timedelta(minutes=1)))
    assert isinstance(decision, Done)
    assert partners.count(SwitchTraffic) == 1
    assert decision.status.condition("Suspended").status == "False"  # type: ignore[union-attr]


def test_the_wave_default_applies_unless_the_member_names_its_own() -> None:
    wave_cutover = CutOver.model_validate(WEBHOOK)
    gate = WaveGate(wave="w", released=True, cutover=wave_cutover)
    own = CutOver.model_validate(CONFIG_MAP)
    for spec, expected in ((make_spec(), wave_cutover), (make_spec(cutover=CONFIG_MAP), own)):
        partners = FakePartners(stage="REGISTERED", sharing="ACCEPTED")
        executor = Executor(spec, partners)
        executor.stored = submitted(infobip_campaign_id=UUID, infobip_stage="IN_MIGRATION", phase=Phase.IN_MIGRATION)
        executor.round(make_facts(T0, wave=gate))
        (switch,) = [call for call in partners.calls if isinstance(call, SwitchTraffic)]
        assert switch.cutover == expected


def test_a_dry_run_lists_the_cut_over_among_the_planned_calls() -> None:
    partners = FakePartners()
    executor = Executor(make_spec(cutover={**CONFIG_MAP, **WEBHOOK}), partners)
    decision = executor.round(make_facts(T0, dry_run=True))
    planned = decision.status.planned_calls
    assert any(call.startswith("after REGISTERED: PATCH configmap/routing data.campaign-COJD655=infobip")
               for call in planned)
    assert any(call.startswith("after REGISTERED: POST https://router.example.com/cutover") for call in planned)
    assert partners.count(SubmitMigration) == 0
    assert partners.count(SwitchTraffic) == 0


def test_a_registered_campaign_switches_even_when_its_partner_credentials_went_away() -> None:
    """The cut-over calls no partner: a Secret deleted after registration must not hold the downtime."""
    partners = FakePartners(stage="REGISTERED", sharing="ACCEPTED")
    executor = Executor(make_spec(cutover=CONFIG_MAP), partners)
    executor.stored = submitted(infobip_campaign_id=UUID, infobip_stage="REGISTERED", phase=Phase.REGISTERED)
    decision = executor.round(make_facts(T0, credentials_problem="Secret 'infobip' not found"))
    assert isinstance(decision, Done)
    assert [type(call).__name__ for call in partners.calls] == ["SwitchTraffic"]
    assert executor.stored.traffic_switched_at is not None


def test_a_cut_over_removed_before_it_succeeded_leaves_no_false_traffic_switched() -> None:
    """TrafficSwitched=False left behind would keep TendlcCutOverPending firing for nothing."""
    partners = FakePartners(faults={SwitchTraffic: [CutOverFailed("the endpoint answered HTTP 503")]})
    registered(partners)
    executor = Executor(make_spec(cutover=WEBHOOK), partners)
    executor.stored = submitted(infobip_campaign_id=UUID, infobip_stage="REGISTERED", phase=Phase.REGISTERED)
    failing = executor.round(make_facts(T0))
    assert failing.status.condition("TrafficSwitched").status == "False"  # type: ignore[union-attr]
    executor.spec = make_spec()  # the user removes spec.cutover
    decision = executor.round(make_facts(T0 + timedelta(seconds=1)))
    assert isinstance(decision, Done)
    assert executor.stored.condition("TrafficSwitched") is None
    assert executor.stored.condition("Ready").status == "True"  # type: ignore[union-attr]


def test_an_open_migrate_marker_is_observed_even_while_the_cut_over_cannot_run() -> None:
    """A migrate may have been sent: holding the submission for the cut-over's sake is moot, and
    not looking would leave a started downtime unobserved."""
    partners = FakePartners(sharing="ACCEPTED", stage="IN_MIGRATION")
    executor = Executor(make_spec(cutover=CONFIG_MAP), partners)
    executor.stored = MigrationStatus.model_validate({
        "numbers_imported_at": T0, "cnp_elected_at": T0, "tcr_sharing_status": "ACCEPTED",
        "pending_operation": {"operation": "SubmitMigration", "startedAt": T0 - timedelta(minutes=1)},
    })
    problem = CutOverProblem("CutOverNotReady", "ConfigMap 'routing' does not exist")
    decision = executor.round(make_facts(T0, cutover_problem=problem))
    assert "ObserveMigration" in [type(call).__name__ for call in partners.calls]
    assert partners.count(SubmitMigration) == 0
    assert decision.status.infobip_campaign_id == UUID
