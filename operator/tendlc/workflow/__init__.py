"""The migration workflow as pure decisions: given spec, status and facts, say what to do next.

Public API (the executor in the handlers room drives it; see docs/resource.md for the user's view):

    decision = decide(spec, status, facts, policy)        # Act | Wait | Done | Fail | Park
    status = record(spec, status, action, outcome, facts, policy)

Loop: while `decide` returns `Act`, persist `Act.status` first if `action.idempotent` is False (it
holds the exactly-once marker `pendingOperation`), perform the action, and fold its outcome (a result
value or the `PartnerError` raised) with `record`. On any other decision, write the status (as a
merge patch, `status.to_patch(original)`), emit `decision.event` of every decision seen, and come
back after `Wait.delay` / `Park.recheck_after` or on any change of the resource or its Secrets.

A MigrationWave is planned the same way, once per pass over the wave and its members:

    plan = plan_wave(wave_spec, wave_status, members, wave_facts)   # WavePlan: release, gates, status

This room must not do I/O, import Kopf or httpx, read clocks or environment variables, or sleep.
"""

from tendlc.workflow.actions import (
    Action,
    AddNumbers,
    CampaignNumbersObserved,
    CampaignObserved,
    CutOverFailed,
    ElectCnp,
    ElectionObserved,
    ImportNumbers,
    ImportResult,
    MigrationNotFound,
    NumbersAccepted,
    ObserveCampaignNumbers,
    ObserveElection,
    ObserveMigration,
    Outcome,
    PollCampaign,
    PreflightObserved,
    RunPreflight,
    SubmitMigration,
    SwitchTraffic,
    TrafficSwitchedOutcome,
)
from tendlc.workflow.backoff import next_delay
from tendlc.workflow.conditions import get_condition, set_condition
from tendlc.workflow.decide import decide
from tendlc.workflow.decisions import Act, Decision, Done, Event, Fail, Park, Wait
from tendlc.workflow.errors import apply_partner_error
from tendlc.workflow.facts import (
    Annotations,
    Facts,
    LoaFacts,
    LoaProblem,
    NumbersSourceProblem,
    OsrConfirmation,
    Policy,
    WaveGate,
    human_duration,
)
from tendlc.workflow.progress import Step, current_step, numbers_digest
from tendlc.workflow.record import record
from tendlc.workflow.wave import WaveFacts, WavePlan, plan_wave
from tendlc.workflow.wave_members import MemberView
from tendlc.workflow.windows import WindowState, window_state

__all__ = [
    "Act",
    "Action",
    "AddNumbers",
    "Annotations",
    "CampaignNumbersObserved",
    "CampaignObserved",
    "CutOverFailed",
    "Decision",
    "Done",
    "ElectCnp",
    "ElectionObserved",
    "Event",
    "Facts",
    "Fail",
    "ImportNumbers",
    "ImportResult",
    "LoaFacts",
    "LoaProblem",
    "MemberView",
    "MigrationNotFound",
    "NumbersAccepted",
    "NumbersSourceProblem",
    "ObserveCampaignNumbers",
    "ObserveElection",
    "ObserveMigration",
    "OsrConfirmation",
    "Outcome",
    "Park",
    "Policy",
    "PollCampaign",
    "PreflightObserved",
    "RunPreflight",
    "Step",
    "SubmitMigration",
    "SwitchTraffic",
    "TrafficSwitchedOutcome",
    "Wait",
    "WaveFacts",
    "WaveGate",
    "WavePlan",
    "WindowState",
    "apply_partner_error",
    "current_step",
    "decide",
    "get_condition",
    "human_duration",
    "next_delay",
    "numbers_digest",
    "plan_wave",
    "record",
    "set_condition",
    "window_state",
]
