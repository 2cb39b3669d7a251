"""`kubectl tendlc status`: the fleet summary, once or live (`--watch`)."""

from __future__ import annotations

import contextlib
import json
import sys
from typing import Any

import click

from tendlc_cli.errors import ClusterRefused, ExitCode
from tendlc_cli.fleet import render_text, summarise, to_json
from tendlc_cli.kube import Kube, Target
from tendlc_cli.options import CONTEXT_SETTINGS, cluster_options, selector_option, wave_option
from tendlc_cli.options import selector as label_selector
from tendlc_cli.times import utc_now
from tendlc_cli.watching import Watcher
from tendlc_cli.waves import wave_json, wave_lines

HELP = """Summarise CampaignMigrations: how many in each phase, in flight, failed, stalled, waiting
for you, and which are in downtime now (and for how long).

\b
in flight        started and not final (ImportingNumbers … AwaitingOsrConfirmation)
failed           phase Failed (permanent)
stalled          condition Stalled=True (non-final > 72 h after submission)
waiting for you  Ready=False with a reason that needs your fix (LOA, credentials, OutcomeUnknown …)
downtime         status.downtimeStartedAt set and downtimeEndedAt not yet

With --wave NAME, the members labelled tendlc.io/wave=NAME, and above them the MigrationWave of
that name when there is one: its phase and counts, whether a window is open (until when) or when
the next one opens, its canary and its approval gate.

--watch keeps the view live: it re-renders on every change (at most once per --interval) and every
30 s so durations stay current; Ctrl-C ends it.
"""

EPILOG = """\b
Examples:
  kubectl tendlc status                    # the context's namespace
  kubectl tendlc status -A --wave w1 -o json
  kubectl tendlc status -n team-a --watch
\b
Exit codes: 0 nothing needs you; 1 some migration failed, is stalled or waits for you;
3 no cluster; 4 refused (forbidden, CRD not installed).
"""

REFRESH_SECONDS = 30.0
CLEAR = "\x1b[H\x1b[2J"


@click.command(help=HELP, epilog=EPILOG, context_settings=CONTEXT_SETTINGS)
@wave_option("Only the migrations of one wave")
@selector_option()
@click.option("-o", "--output", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("-w", "--watch", is_flag=True, help="Stay and re-render on every change (Ctrl-C ends).")
@click.option("--interval", type=click.FloatRange(0.1, 3600), default=1.0, show_default=True, metavar="SECONDS",
              help="With --watch: at most one re-render per SECONDS.")
@cluster_options(all_namespaces=True)
def status(target: Target, wave: str | None, selector: str | None, output: str, watch: bool, interval: float) -> None:
    kube = Kube(target)
    namespace = kube.list_namespace()
    labels = label_selector(selector, wave)
    last = ExitCode.OK

    def render(objects: list[dict[str, Any]], trouble: str | None = None) -> None:
        nonlocal last
        fleet, now = summarise(objects), utc_now()
        waves, unreadable = [], ""
        try:
            waves = kube.find_waves(namespace, wave) if wave else []
        except ClusterRefused as refused:  # no right to read waves (403): the members are still shown
            unreadable = f"MigrationWave {wave}: not shown ({refused})\n\n"
        last = ExitCode.PROBLEMS if fleet.has_problems else ExitCode.OK
        if output == "json":
            click.echo(json.dumps(to_json(fleet, now, namespace=namespace, wave=wave)
                                  | {"waves": [wave_json(found) for found in waves]}
                                  | ({"wavesUnreadable": unreadable.strip()} if unreadable else {})))
            return
        text = unreadable + "".join("\n".join(wave_lines(found, now)) + "\n\n" for found in waves)
        text += render_text(fleet, now, namespace=namespace, wave=wave)
        if watch:
            text = (CLEAR if sys.stdout.isatty() else "---\n") + text
            if trouble:
                text += f"\n(watch interrupted, showing the last known state: {trouble})\n"
        click.echo(text, nl=False)

    if not watch:
        items, _ = kube.list_migrations(namespace, labels)
        render(items)
        click.get_current_context().exit(last)
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C is how a live view ends
        Watcher(kube, namespace, labels).run(render, interval=interval, refresh=REFRESH_SECONDS)
    click.get_current_context().exit(last)

