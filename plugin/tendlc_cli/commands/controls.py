"""`retry`, `suspend`, `resume`, `confirm-osr`, `approve`: the checked annotation changes of
tendlc_cli.controls and tendlc_cli.waves.

Each target is read, judged and patched with its resourceVersion; when someone else wrote in
between (409) it is read and judged again, at most three times. One line per target says what
happened; the exit code is the worst of them (refused: 1, not found: 4).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

import click

from tendlc.api import PLURAL, WAVE_PLURAL
from tendlc_cli.controls import Outcome, Verdict, decide_confirm_osr, decide_resume, decide_retry, decide_suspend
from tendlc_cli.errors import ExitCode, NotFound
from tendlc_cli.kube import ApiRejected, Kube, Target
from tendlc_cli.options import CONTEXT_SETTINGS, cluster_options, selector_option, wave_option
from tendlc_cli.options import selector as label_selector
from tendlc_cli.times import parse_rfc3339, utc_now
from tendlc_cli.waves import decide_approve

Decide = Callable[[Mapping[str, Any]], Verdict]
ATTEMPTS = 3
EPILOG = """\b
Exit codes: 0 every target done (or already so); 1 some refused; 2 usage error;
3 no cluster; 4 a named CampaignMigration was not found, or the server refused.
"""


def _targets(kube: Kube, target: Target, names: tuple[str, ...], labels: str | None) -> list[tuple[str, str]]:
    if names and labels:
        raise click.UsageError("give NAMES or a selector (-l/--wave), not both")
    if not names and not labels:
        raise click.UsageError("give NAMES, -l SELECTOR or --wave NAME")
    if names:
        if target.all_namespaces:
            raise click.UsageError("-A works with a selector, not with names")
        return [(kube.namespace, name) for name in names]
    items, _ = kube.list_migrations(kube.list_namespace(), labels)
    return sorted((str(o["metadata"]["namespace"]), str(o["metadata"]["name"])) for o in items)


def _act(kube: Kube, namespace: str, name: str, decide: Decide, plural: str = PLURAL) -> Verdict:
    for _ in range(ATTEMPTS):
        obj = kube.get_migration(namespace, name, plural)
        verdict = decide(obj)
        if verdict.outcome is not Outcome.CHANGED:
            return verdict
        version = obj["metadata"]["resourceVersion"]
        patch = {"metadata": {"resourceVersion": version, "annotations": verdict.annotations}}
        try:
            kube.patch_migration(namespace, name, patch, plural)
        except ApiRejected as rejected:
            if rejected.status == 409:
                continue
            return Verdict(Outcome.REFUSED, f"the API server refused the change: {rejected.message}")
        return verdict
    return Verdict(Outcome.REFUSED, f"changed by someone else {ATTEMPTS} times while deciding; run it again")


def run_control(target: Target, names: tuple[str, ...], labels: str | None, decide: Decide) -> None:
    kube = Kube(target)
    code = ExitCode.OK
    targets = _targets(kube, target, names, labels)
    if not targets:
        click.echo(f"no CampaignMigration matches {labels}")
        click.get_current_context().exit(ExitCode.PROBLEMS)
    for namespace, name in targets:
        try:
            verdict = _act(kube, namespace, name, decide)
        except NotFound:
            click.echo(f"cmig/{name} in {namespace}: not found", err=True)
            code = ExitCode.REFUSED
            continue
        click.echo(f"cmig/{name} in {namespace}: {verdict.outcome}: {verdict.message}")
        if verdict.outcome is Outcome.REFUSED and code is ExitCode.OK:
            code = ExitCode.PROBLEMS
    click.get_current_context().exit(code)


def _selection(function: Callable[..., Any]) -> Callable[..., Any]:
    for option in (
        cluster_options(all_namespaces=True),
        wave_option("Every migration of the wave"),
        selector_option(),
        click.argument("names", nargs=-1, metavar="[NAME]..."),
    ):
        function = option(function)
    return function


@click.command(context_settings=CONTEXT_SETTINGS, epilog=EPILOG)
@_selection
def retry(target: Target, names: tuple[str, ...], selector: str | None, wave: str | None) -> None:
    """Skip the current wait once and clear a problem that waits for a fix (tendlc.io/retry).

    Acts on the NAMEs in the namespace, or on every migration -l / --wave selects. Refused for a
    migration that is Registered (nothing to retry), Failed (permanent: a retry does not change
    it), suspended (resume first) or not started yet.
    """
    now = utc_now()
    run_control(target, names, label_selector(selector, wave), lambda obj: decide_retry(obj, now))


@click.command(context_settings=CONTEXT_SETTINGS, epilog=EPILOG)
@_selection
def suspend(target: Target, names: tuple[str, ...], selector: str | None, wave: str | None) -> None:
    """Stop every partner call until resumed (tendlc.io/suspend=true).

    Acts on the NAMEs in the namespace, or on every migration -l / --wave selects. Refused once
    Registered or Failed.
    """
    run_control(target, names, label_selector(selector, wave), decide_suspend)


@click.command(context_settings=CONTEXT_SETTINGS, epilog=EPILOG)
@_selection
def resume(target: Target, names: tuple[str, ...], selector: str | None, wave: str | None) -> None:
    """Remove tendlc.io/suspend: the migration goes on where it stopped.

    Acts on the NAMEs in the namespace, or on every migration -l / --wave selects. Refused when
    spec.suspend is true (change the manifest instead: the annotation cannot override it).
    """
    run_control(target, names, label_selector(selector, wave), decide_resume)


def _at(ctx: click.Context, param: click.Parameter, value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        return parse_rfc3339(value)
    except ValueError as error:
        raise click.BadParameter(str(error)) from None


@click.command("confirm-osr", context_settings=CONTEXT_SETTINGS, epilog=EPILOG)
@click.option("--at", "at", callback=_at, metavar="TIME",
              help="When you updated the OSR records (RFC 3339, e.g. 2026-11-27T10:00:00Z); default: now.")
@_selection
def confirm_osr(
    target: Target, names: tuple[str, ...], selector: str | None, wave: str | None, at: datetime | None
) -> None:
    """Own NNID: confirm that the OSR records now point at Infobip (tendlc.io/osr-updated=TIME).

    Acts on the NAMEs in the namespace, or on every migration -l / --wave selects. TIME is
    recorded as the downtime start. Only for nnid Own in phase AwaitingOsrConfirmation;
    refused for a time in the future or before the migration was submitted.
    """
    now = utc_now()
    run_control(target, names, label_selector(selector, wave), lambda obj: decide_confirm_osr(obj, now, at))


@click.command(context_settings=CONTEXT_SETTINGS, epilog=EPILOG)
@click.option("--note", metavar="TEXT", help="The approval's value (default: approved-<now>), e.g. a ticket ID.")
@cluster_options(all_namespaces=False)
@click.argument("wave_name", metavar="WAVE")
def approve(target: Target, wave_name: str, note: str | None) -> None:
    """Approve a MigrationWave's release after its canary (a new tendlc.io/approve value).

    Only while the wave waits for it (phase AwaitingApproval): before, the operator would set the
    value aside (an approval written before the canary ran never approves it); after, it is
    approved already. Refused for a wave that asks for no approval or is halted.
    """
    kube = Kube(target)
    now = utc_now()
    try:
        verdict = _act(kube, kube.namespace, wave_name, lambda obj: decide_approve(obj, now, note), WAVE_PLURAL)
    except NotFound:
        click.echo(f"mwave/{wave_name} in {kube.namespace}: not found", err=True)
        click.get_current_context().exit(ExitCode.REFUSED)
    click.echo(f"mwave/{wave_name} in {kube.namespace}: {verdict.outcome}: {verdict.message}")
    click.get_current_context().exit(ExitCode.PROBLEMS if verdict.outcome is Outcome.REFUSED else ExitCode.OK)
