"""Exit codes scripts can rely on, and the errors that end a command with one of them.

The codes are documented in docs/cli.md; changing one is a breaking change. `click` itself exits
with 2 for a usage error, so `USAGE` is 2 here too. Nothing here talks to a cluster.
"""

from __future__ import annotations

from enum import IntEnum

import click


class ExitCode(IntEnum):
    """What a script can branch on after `kubectl tendlc …`."""

    OK = 0
    """Done; nothing to report."""
    PROBLEMS = 1
    """The command ran and found problems: bad inventory rows, failed or stuck migrations, refused controls."""
    USAGE = 2
    """Wrong flags or arguments (click's own code for usage errors)."""
    UNREACHABLE = 3
    """No usable cluster: no kubeconfig, unknown context, or the API server did not answer."""
    REFUSED = 4
    """The API server answered no: not found, forbidden, unauthorised, or the CRD is not installed."""


class CliError(click.ClickException):
    """An error that ends the command with its own exit code and a one-line message on stderr."""

    exit_code = ExitCode.PROBLEMS


class ClusterUnreachable(CliError):
    exit_code = ExitCode.UNREACHABLE


class ClusterRefused(CliError):
    exit_code = ExitCode.REFUSED


class NotFound(ClusterRefused):
    """A named CampaignMigration (or a namespace) does not exist."""
