"""`kubectl tendlc report`: the audit records of tendlc_cli.audit, on stdout as CSV or JSON."""

from __future__ import annotations

import click

from tendlc_cli.audit import LoaFingerprint, fingerprint, loa_keys, record, render_csv, render_json
from tendlc_cli.errors import ClusterRefused
from tendlc_cli.kube import Kube, Target
from tendlc_cli.options import CONTEXT_SETTINGS, cluster_options, project_version, selector_option, wave_option
from tendlc_cli.options import selector as label_selector
from tendlc_cli.times import show, utc_now

HELP = """Write one audit record per CampaignMigration: campaign, phase, Infobip UUID and stage, the time
of each step (numbers imported, CNP elected, migration submitted, registered, failed), downtime
start, end and length, and the LOA's signing date and the SHA-256 of the LOA document read from its
Secret. The document itself is never printed. Reading the Secrets needs `get secrets`; without it
the LOA fields are empty and loaNote says why.
"""

EPILOG = """\b
Examples:
  kubectl tendlc report --wave w1 -o csv > w1-audit.csv
  kubectl tendlc report -A -o json | jq '.campaigns[] | select(.phase == "Registered")'
\b
Exit codes: 0 written; 3 no cluster; 4 refused (forbidden, CRD not installed).
"""


@click.command(help=HELP, epilog=EPILOG, context_settings=CONTEXT_SETTINGS)
@wave_option("Only the migrations of one wave")
@selector_option()
@click.option("-o", "--output", type=click.Choice(["csv", "json"]), default="csv", show_default=True)
@cluster_options(all_namespaces=True)
def report(target: Target, wave: str | None, selector: str | None, output: str) -> None:
    kube = Kube(target)
    namespace = kube.list_namespace()
    items, _ = kube.list_migrations(namespace, label_selector(selector, wave))
    items.sort(key=lambda o: (o["metadata"]["namespace"], o["metadata"]["name"]))
    records = []
    for obj in items:
        keys = loa_keys(obj)
        loa = LoaFingerprint(note="spec does not parse")
        if keys is not None:
            secret_name, document_key, signed_date_key = keys
            try:
                secret = kube.get_secret(obj["metadata"]["namespace"], secret_name)
                loa = fingerprint(secret, document_key, signed_date_key)
            except ClusterRefused as refused:
                loa = LoaFingerprint(note=f"Secret not readable: {refused.message}")
        records.append(record(obj, loa))
    if output == "csv":
        click.echo(render_csv(records), nl=False)
        return
    meta = {"generatedAt": show(utc_now()), "generator": f"kubectl-tendlc {project_version()}",
            "context": kube.context_name, "namespace": namespace, "wave": wave}
    click.echo(render_json(records, meta), nl=False)
