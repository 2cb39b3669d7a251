"""`kubectl tendlc plan`: flags, checks between flags, the report a user reads, the exit code."""

from __future__ import annotations

from pathlib import Path

import click

from tendlc_cli.errors import ExitCode
from tendlc_cli.kube import Kube, Target
from tendlc_cli.options import CONTEXT_SETTINGS, cluster_options, wave_option
from tendlc_cli.plan import PlanRequest, PlanResult, run
from tendlc_cli.times import utc_now

HELP = """Turn an inventory CSV into CampaignMigration manifests and LOA Secrets.

\b
The CSV has a header row; columns (case-insensitive, any order):
  campaignId      TCR campaign ID, e.g. COJD655            (required)
  numbers         separated by ';' (or ',' inside quotes, or spaces)  (required)
  loaFile         the signed LOA, relative to the CSV's directory (required)
  loaSignedDate   YYYY-MM-DD                               (required)
  campaignName    the Infobip campaign name (alias: name)  (optional)
  numberPoolId    only once your account manager agreed    (optional)
  nnid            Infobip (default) or Own                 (optional)
Lines starting with '#' are comments.

Every row is checked offline against the CRD's schema; when a cluster answers (or with
--dry-run-server) each object also goes through a server-side dry run, where the CRD's CEL rules
run. The report says which was done. Every bad row is reported with its line number and reasons,
and then nothing is written (unless --skip-invalid): either every output is complete or none is
touched. Without -o, -f, --secrets-out or --apply-secrets, plan only checks.

The LOA Secrets (labelled tendlc.io/usage=loa) never go into the manifests: write them to their
own file (--secrets-out, mode 0600, keep it out of Git) or apply them to the cluster
(--apply-secrets). Manifests carry a namespace only when -n is given.
"""

EPILOG = """\b
Examples:
  kubectl tendlc plan --csv inventory.csv                       # check only
  kubectl tendlc plan --csv inventory.csv -f cmig.yaml --secrets-out loa-secrets.yaml
  kubectl tendlc plan --csv inventory.csv --wave w1 -o migrations/ --apply-secrets --suspend
  kubectl tendlc plan --csv inventory.csv --wave w1 -f w1.yaml --apply-secrets --preflight
\b
Exit codes: 0 all rows valid (and written, if asked); 1 some rows invalid; 2 usage error;
3 --dry-run-server and no cluster answered; 4 the cluster refused (e.g. applying the Secrets).
"""


def _check_outputs(out_dir: Path | None, out_file: Path | None, secrets_out: Path | None, apply_secrets: bool) -> None:
    if out_dir and out_file:
        raise click.UsageError("give -o DIR or -f FILE, not both")
    if secrets_out and apply_secrets:
        raise click.UsageError("give --secrets-out FILE or --apply-secrets, not both")
    if secrets_out is None:
        return
    if str(secrets_out) == "-":
        raise click.UsageError("--secrets-out needs a file: LOA Secrets are never written to stdout")
    secrets = secrets_out.resolve()
    if out_file is not None and str(out_file) != "-" and out_file.resolve() == secrets:
        raise click.UsageError("--secrets-out must not be the manifests file: Secrets never mix with manifests")
    if out_dir is not None and secrets.is_relative_to(out_dir.resolve()):
        raise click.UsageError("--secrets-out must not be inside the manifests directory (-o): it would be committed")


def _report(request: PlanRequest, result: PlanResult) -> list[str]:
    bad_lines = {e.line for e in result.errors}
    lines = [f"{request.csv_path}: {result.rows} rows, {len(result.planned)} valid, {len(bad_lines)} invalid"]
    lines += [f"  {error}" for error in result.errors]
    lines.append(f"checked: {result.offline_check}")
    lines.append(f"checked: {result.server_check}" if result.server_checked else f"not checked: {result.server_check}")
    if result.errors and not request.skip_invalid:
        if request.writes_anything:
            lines.append(f"nothing written: {len(bad_lines)} invalid row(s); fix them, or --skip-invalid writes the "
                         f"{len(result.planned)} valid one(s)")
        return lines
    if not request.writes_anything:
        lines.append("nothing written: check only (give -f FILE or -o DIR, and --secrets-out FILE or --apply-secrets)")
        return lines
    if result.secrets_applied:
        lines.append(f"applied {result.secrets_applied} LOA Secret(s) (server-side apply, manager kubectl-tendlc)")
    lines += result.written
    if not (request.secrets_out or request.apply_secrets):
        lines.append("LOA Secrets not written: create them before applying (--secrets-out FILE or --apply-secrets)")
    return lines


@click.command(help=HELP, epilog=EPILOG, context_settings=CONTEXT_SETTINGS)
@click.option("--csv", "csv_path", required=True, metavar="FILE",
              type=click.Path(exists=True, dir_okay=False, readable=True, path_type=Path), help="The inventory.")
@wave_option("Label every object with the wave")
@click.option("-o", "--out-dir", type=click.Path(file_okay=False, path_type=Path), metavar="DIR",
              help="Write one manifest file per CampaignMigration into DIR.")
@click.option("-f", "--file", "out_file", type=click.Path(dir_okay=False, allow_dash=True, path_type=Path),
              metavar="FILE", help="Write every CampaignMigration into FILE ('-': stdout).")
@click.option("--secrets-out", type=click.Path(dir_okay=False, path_type=Path), metavar="FILE",
              help="Write the LOA Secrets into FILE (mode 0600).")
@click.option("--apply-secrets", is_flag=True, help="Apply the LOA Secrets to the cluster (server-side apply).")
@click.option("--suspend", is_flag=True, help="Annotate every CampaignMigration tendlc.io/suspend=true "
              "(nothing is sent to any partner until `kubectl tendlc resume`).")
@click.option("--preflight", is_flag=True, help="Write spec.mode: Preflight: the operator only reads the partners and "
              "reports Eligible and status.preflight; set spec.mode: Migrate to start.")
@click.option("--dry-run-server/--no-dry-run-server", "server_check", default=None,
              help="Require the server-side dry run (exit 3 without a cluster) / skip it. Default: when a "
              "cluster answers.")
@click.option("--skip-invalid", is_flag=True, help="Write the valid rows even when some are invalid (exit code 1).")
@click.option("--loa-max-age-days", type=click.IntRange(1, 3650), default=30, show_default=True,
              help="Refuse LOAs signed longer ago (the operator's TENDLC_LOA_MAX_AGE_DAYS).")
@cluster_options()
def plan(
    target: Target, csv_path: Path, wave: str | None, out_dir: Path | None, out_file: Path | None,
    secrets_out: Path | None, apply_secrets: bool, suspend: bool, preflight: bool, server_check: bool | None,
    skip_invalid: bool, loa_max_age_days: int,
) -> None:
    _check_outputs(out_dir, out_file, secrets_out, apply_secrets)
    if apply_secrets and server_check is False:
        raise click.UsageError("--apply-secrets needs the cluster: drop --no-dry-run-server")
    request = PlanRequest(
        csv_path=csv_path, today=utc_now().date(), wave=wave, out_dir=out_dir, out_file=out_file,
        secrets_out=secrets_out, apply_secrets=apply_secrets, suspend=suspend, preflight=preflight,
        server_check=True if apply_secrets else server_check, namespace=target.namespace, skip_invalid=skip_invalid,
        loa_max_age_days=loa_max_age_days,
    )
    result = run(request, Kube(target))
    to_stderr = result.stdout_manifests is not None
    if result.stdout_manifests is not None:
        click.echo(result.stdout_manifests, nl=False)
    for line in _report(request, result):
        click.echo(line, err=to_stderr)
    click.get_current_context().exit(ExitCode.PROBLEMS if result.errors else ExitCode.OK)
