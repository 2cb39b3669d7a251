"""Tenant Secrets opt in with `tendlc.io/usage`, and their content never reaches a message."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import pytest

from support.loop_driver import T0, Executor, FakePartners, make_facts, make_spec
from tendlc.api import MigrationStatus
from tendlc.api.spec import LoaSecretRef
from tendlc.workflow import ImportNumbers, LoaFacts, Park, Wait
from tendlc.workflow.secrets import label_command, loa_gate_passed, read_loa, unlabeled_secrets_allowed

REF = LoaSecretRef(name="cojd655-loa")
CANARY = "CANARY-db-password-8c1d"
FIX = "kubectl label secret cojd655-loa -n team-a tendlc.io/usage=loa"


@dataclass
class Secret:
    values: dict[str, bytes]
    labels: dict[str, str] = field(default_factory=lambda: {"tendlc.io/usage": "loa"})


def loa(**values: str | bytes) -> Secret:
    return Secret({key: value.encode() if isinstance(value, str) else value for key, value in values.items()})


@pytest.mark.parametrize(
    ("secret", "problem"),
    [
        (loa(**{"loa.pdf": "%PDF", "signedDate": CANARY}), "LoaSignedDateInvalid"),
        (loa(**{"loa.pdf": "%PDF", "signedDate": f"2026-11-20 {CANARY}"}), "LoaSignedDateInvalid"),
        (loa(**{"loa.pdf": "%PDF", "signedDate": "2026-02-30"}), "LoaSignedDateInvalid"),
        (loa(**{"loa.pdf": "%PDF", "signedDate": b"\xff\xfe" + CANARY.encode()}), "LoaSignedDateInvalid"),
        (loa(**{"loa.pdf": "%PDF", "signedDate": "20261120"}), "LoaSignedDateInvalid"),
        (loa(**{"loa.pdf": "", "signedDate": "2026-11-20"}), "LoaDocumentMissing"),
        (loa(**{"loa.pdf": CANARY}), "LoaSignedDateMissing"),
    ],
)
def test_a_bad_loa_secret_is_named_with_the_shape_expected_never_its_value(secret: Secret, problem: str) -> None:
    facts = read_loa(REF, secret, "team-a")
    assert facts.problem == problem
    assert "cojd655-loa" in facts.detail
    assert CANARY not in facts.detail
    assert "2026-02-30" not in facts.detail
    decision = Executor(make_spec(), FakePartners()).round(make_facts(T0, loa=facts))
    for condition in decision.status.conditions:
        assert CANARY not in condition.message
    assert decision.event is not None
    assert CANARY not in decision.event.message


def test_a_labeled_loa_secret_gives_its_date() -> None:
    facts = read_loa(REF, loa(**{"loa.pdf": "%PDF", "signedDate": " 2026-11-15\n"}), "team-a")
    assert facts == LoaFacts.ok(date(2026, 11, 15))


def test_a_missing_secret_is_missing() -> None:
    assert read_loa(REF, None, "team-a").problem == "LoaSecretMissing"


def test_an_unlabeled_loa_secret_parks_a_new_migration_with_the_label_command() -> None:
    secret = Secret({"loa.pdf": b"%PDF", "signedDate": b"2026-11-15"}, labels={"app": "payments"})
    facts = read_loa(REF, secret, "team-a")
    assert facts.unlabeled_fix == FIX
    partners = FakePartners()
    decision = Executor(make_spec(), partners).round(make_facts(T0, loa=facts))
    assert isinstance(decision, Park)
    loa_valid = decision.status.condition("LoaValid")
    assert loa_valid is not None
    assert (loa_valid.status, loa_valid.reason) == ("False", "LoaSecretNotLabeled")
    assert FIX in loa_valid.message
    assert "2026-11-15" not in loa_valid.message  # an unlabeled Secret's content is not used
    assert partners.calls == []
    assert decision.event is not None
    assert (decision.event.type, decision.event.reason) == ("Warning", "LoaSecretNotLabeled")


def test_labeling_the_secret_lets_the_migration_continue_by_itself() -> None:
    partners = FakePartners()
    executor = Executor(make_spec(), partners)
    unlabeled = Secret({"loa.pdf": b"%PDF", "signedDate": b"2026-11-15"}, labels={})
    assert isinstance(executor.round(make_facts(T0, loa=read_loa(REF, unlabeled, "team-a"))), Park)
    labeled = Secret(unlabeled.values)
    decision = executor.round(make_facts(T0, loa=read_loa(REF, labeled, "team-a")))
    assert isinstance(decision, Wait)
    assert partners.count(ImportNumbers) == 1


def written_before_the_upgrade(executor: Executor) -> None:
    """What an operator that did not require the label left: the same status without the opt-in record."""
    executor.stored = executor.stored.model_copy(update={"secret_opt_in": None})


UNLABELED = Secret({"loa.pdf": b"%PDF", "signedDate": b"2026-11-15"}, labels={})


def test_a_migration_that_passed_the_gate_before_the_upgrade_keeps_going_and_is_told_to_label() -> None:
    partners = FakePartners()
    executor = Executor(make_spec(), partners)
    executor.round(make_facts(T0, loa=LoaFacts.ok(date(2026, 11, 15))))
    written_before_the_upgrade(executor)
    assert loa_gate_passed(executor.stored)
    decision = executor.round(make_facts(T0, loa=read_loa(REF, UNLABELED, "team-a")))
    assert not isinstance(decision, Park)
    loa_valid = decision.status.condition("LoaValid")
    assert loa_valid is not None
    assert loa_valid.status == "True"
    assert FIX in loa_valid.message
    assert decision.status.secret_opt_in is not None
    assert decision.status.secret_opt_in.exempt


def test_the_exemption_ends_with_the_first_spec_change() -> None:
    partners = FakePartners()
    executor = Executor(make_spec(), partners)
    executor.round(make_facts(T0, loa=LoaFacts.ok(date(2026, 11, 15))))
    written_before_the_upgrade(executor)
    executor.round(make_facts(T0, loa=read_loa(REF, UNLABELED, "team-a")))
    assert unlabeled_secrets_allowed(executor.stored, 1)
    decision = executor.round(make_facts(T0, loa=read_loa(REF, UNLABELED, "team-a"), generation=2))
    assert isinstance(decision, Park)
    ready = decision.status.condition("Ready")
    assert ready is not None
    assert ready.reason == "LoaSecretNotLabeled"
    assert not unlabeled_secrets_allowed(decision.status, 2)
    assert not unlabeled_secrets_allowed(decision.status, 1)  # and never again


def test_a_migration_that_passed_the_gate_with_labels_cannot_switch_to_an_unlabeled_secret() -> None:
    partners = FakePartners()
    executor = Executor(make_spec(), partners)
    labeled = Secret(UNLABELED.values)
    executor.round(make_facts(T0, loa=read_loa(REF, labeled, "team-a")))
    assert loa_gate_passed(executor.stored)
    assert not unlabeled_secrets_allowed(executor.stored, 1)
    decision = executor.round(make_facts(T0, loa=read_loa(REF, UNLABELED, "team-a")))
    assert isinstance(decision, Park)
    loa_valid = decision.status.condition("LoaValid")
    assert loa_valid is not None
    assert loa_valid.reason == "LoaSecretNotLabeled"


def test_the_gate_is_passed_by_a_valid_loa_or_any_step_done() -> None:
    assert not loa_gate_passed(MigrationStatus())
    assert loa_gate_passed(MigrationStatus(numbersImportedAt=T0))  # type: ignore[call-arg]
    assert loa_gate_passed(MigrationStatus(infobipCampaignId="x"))  # type: ignore[call-arg]


def test_the_label_command_is_exact() -> None:
    assert label_command("team-a", "acme-tcr", "tcr-credentials") == (
        "kubectl label secret acme-tcr -n team-a tendlc.io/usage=tcr-credentials"
    )


@pytest.mark.parametrize(
    ("reason", "fix"),
    [
        ("CredentialsMissing", "Create or fix the Secret"),
        ("CredentialsSecretNotLabeled", "once it is labeled"),
        ("PartnerEndpointNotAllowed", "No request was sent."),
    ],
)
def test_credentials_and_endpoint_problems_park_with_their_own_reason(reason: str, fix: str) -> None:
    partners = FakePartners()
    problem = "Infobip credentials Secret team-a/x is not usable"
    if reason == "PartnerEndpointNotAllowed":
        problem = "spec.infobip.baseUrl points at http://127.0.0.1:9 … No request was sent."
    given = None if reason == "CredentialsMissing" else reason  # None: what an older executor passes
    decision = Executor(make_spec(), partners).round(
        make_facts(T0, credentials_problem=problem, credentials_reason=given)
    )
    assert isinstance(decision, Park)
    ready = decision.status.condition("Ready")
    assert ready is not None
    assert ready.reason == reason
    assert fix in ready.message
    assert partners.calls == []
