"""The `kubectl-tendlc` entry point: the command group, its global flags and `--version`.

kubectl runs any `kubectl-<name>` on PATH as `kubectl <name>`; the console script of this
distribution is that executable. Each command lives in `tendlc_cli.commands`; this room only wires
them and maps the outcome to an exit code (tendlc_cli.errors.ExitCode).
"""

from __future__ import annotations

import logging

import click

from tendlc_cli.commands.controls import approve, confirm_osr, resume, retry, suspend
from tendlc_cli.commands.plan import plan
from tendlc_cli.commands.report import report
from tendlc_cli.commands.status import status
from tendlc_cli.commands.why import why
from tendlc_cli.kube import Target
from tendlc_cli.options import CONTEXT_SETTINGS, group_options, project_version

EPILOG = """\b
Exit codes: 0 ok; 1 problems found (bad rows, failed or stuck migrations, refused
controls); 2 usage error; 3 no usable cluster / API server unreachable; 4 the API
server refused (not found, forbidden, CRD missing). Full guide: docs/cli.md.
"""


@click.group(context_settings=CONTEXT_SETTINGS, epilog=EPILOG)
@click.version_option(project_version(), "--version", prog_name="kubectl tendlc", message="%(prog)s %(version)s")
@group_options
@click.pass_context
def cli(
    ctx: click.Context, kubeconfig: str | None, context: str | None, namespace: str | None, all_namespaces: bool
) -> None:
    """Plan, follow and audit tendlc CampaignMigrations (10DLC campaigns moving to Infobip)."""
    ctx.obj = Target(kubeconfig=kubeconfig, context=context, namespace=namespace, all_namespaces=all_namespaces)


for command in (plan, status, why, retry, suspend, resume, confirm_osr, approve, report):
    cli.add_command(command)


def main() -> None:
    # urllib3 logs each connection retry as a WARNING, which Python prints when nothing configured
    # logging: the plugin reports an unreachable server itself, in one line.
    logging.getLogger("urllib3").setLevel(logging.ERROR)
    cli.main(prog_name="kubectl tendlc")
