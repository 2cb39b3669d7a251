"""`kubectl tendlc why NAME`: one migration's story (tendlc_cli.story) for the user to read."""

from __future__ import annotations

import click

from tendlc_cli.errors import NotFound
from tendlc_cli.kube import Kube, Target
from tendlc_cli.options import CONTEXT_SETTINGS, cluster_options
from tendlc_cli.story import tell
from tendlc_cli.times import utc_now

HELP = """Tell the story of one CampaignMigration: where it is, each step's time, every condition with
its time and message, the partner's last answer (problem, last temporary error, webhook), what the
operator waits for and when it checks next, and what you can do about it.
"""

EPILOG = """\b
Example:
  kubectl tendlc why cojd655 -n team-a
\b
Exit codes: 0 shown; 3 no cluster; 4 not found or refused.
"""


@click.command(help=HELP, epilog=EPILOG, context_settings=CONTEXT_SETTINGS)
@click.argument("name")
@cluster_options()
def why(target: Target, name: str) -> None:
    kube = Kube(target)
    namespace = kube.namespace
    try:
        obj = kube.get_migration(namespace, name)
    except NotFound:
        raise NotFound(f"cmig/{name} not found in namespace {namespace}") from None
    click.echo(tell(obj, utc_now()), nl=False)
