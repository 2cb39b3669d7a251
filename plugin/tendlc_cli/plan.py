"""`plan`: from an inventory to manifests and LOA Secrets, all or nothing.

The order is what makes it all-or-nothing: parse every row, read every LOA file, validate every
manifest against the CRD's schema offline, then (when a cluster answers, or when asked) let the API
server judge each object in a server-side dry run — which is where the CEL rules run. Only when no
row is bad (or `skip_invalid` says to go on with the good ones) are the LOA Secrets applied and the
files written, each file to a temporary name first and renamed into place, so a failure leaves the
old files as they were. It never writes a Secret into the manifests, nor onto stdout.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from tendlc_cli import schema
from tendlc_cli.errors import CliError, ClusterRefused, ClusterUnreachable
from tendlc_cli.inventory import InventoryRow, RowError, parse_inventory
from tendlc_cli.kube import ApiRejected, Kube
from tendlc_cli.manifests import loa_secret_manifest, migration_manifest, resource_name

MAX_LOA_BYTES = 1_000_000
"""A Secret holds at most 1 MiB of data; the signing date and the key names need a little of it."""


@dataclass(frozen=True)
class PlanRequest:
    csv_path: Path
    today: date
    wave: str | None = None
    out_dir: Path | None = None
    out_file: Path | None = None
    """`Path("-")` writes the manifests to stdout."""
    secrets_out: Path | None = None
    apply_secrets: bool = False
    suspend: bool = False
    preflight: bool = False
    """`spec.mode: Preflight` in every CampaignMigration (read-only checks, D64)."""
    server_check: bool | None = None
    """True: must dry-run on the server; False: offline only; None: dry-run when a cluster answers."""
    namespace: str | None = None
    """An explicit `-n`: written into the manifests. Without it they carry no namespace."""
    skip_invalid: bool = False
    loa_max_age_days: int = 30

    @property
    def writes_anything(self) -> bool:
        return bool(self.out_dir or self.out_file or self.secrets_out or self.apply_secrets)


@dataclass
class Planned:
    row: InventoryRow
    migration: dict[str, Any]
    secret: dict[str, Any]


@dataclass
class PlanResult:
    rows: int
    planned: list[Planned]
    errors: list[RowError]
    offline_check: str
    server_check: str
    server_checked: bool = False
    written: list[str] = field(default_factory=list)
    """What was written, one line each, as the report prints it."""
    secrets_applied: int = 0
    stdout_manifests: str | None = None


def read_loa(path: Path) -> bytes | str:
    """The LOA's bytes, or why they cannot be used."""
    try:
        if not path.exists():
            return f"LOA file {str(path)!r} does not exist"
        if not path.is_file():
            return f"LOA file {str(path)!r} is not a file"
        size = path.stat().st_size
        if size == 0:
            return f"LOA file {str(path)!r} is empty"
        if size > MAX_LOA_BYTES:
            return f"LOA file {str(path)!r} is {size} bytes; a Secret holds at most {MAX_LOA_BYTES}"
        return path.read_bytes()
    except OSError as error:
        return f"LOA file {str(path)!r} cannot be read: {error.strerror}"


def _with_loa_problem(error: RowError) -> RowError:
    """A bad row's LOA file is checked too, so that one run reports every reason of the row."""
    if error.loa_file is None:
        return error
    problem = read_loa(error.loa_file)
    if not isinstance(problem, str):
        return error
    return RowError(error.line, (*error.reasons, problem), error.campaign_id, error.loa_file)


def build(request: PlanRequest, text: str) -> tuple[int, list[Planned], list[RowError]]:
    """Every row parsed, its LOA read and its manifest validated offline; no cluster involved."""
    inventory = parse_inventory(
        text, base_dir=request.csv_path.parent, today=request.today, max_age_days=request.loa_max_age_days
    )
    errors = [_with_loa_problem(error) for error in inventory.errors]
    planned: list[Planned] = []
    for row in inventory.rows:
        document = read_loa(row.loa_file)
        migration = migration_manifest(row, namespace=request.namespace, wave=request.wave, suspend=request.suspend,
                                       preflight=request.preflight)
        reasons = [document] if isinstance(document, str) else []
        reasons += [f"CRD schema: {problem}" for problem in schema.validate(migration)]
        if reasons or isinstance(document, str):
            errors.append(RowError(row.line, tuple(reasons), row.campaign_id))
            continue
        secret = loa_secret_manifest(row, document, namespace=request.namespace, wave=request.wave)
        planned.append(Planned(row, migration, secret))
    return inventory.data_rows, planned, errors


def dry_run(kube: Kube, planned: list[Planned], *, secrets: bool) -> tuple[list[RowError], str]:
    """Each object through the API server with dryRun=All (schema, CEL rules, admission); nothing is stored."""
    namespace = kube.namespace
    errors: list[RowError] = []
    for item in planned:
        objects = [item.migration, item.secret] if secrets else [item.migration]
        reasons: list[str] = []
        for manifest in objects:
            try:
                kube.apply(manifest, namespace, dry_run=True)
            except ApiRejected as rejected:
                reasons.append(f"the API server refuses {manifest['kind']} {manifest['metadata']['name']}: "
                               f"{rejected.message}")
        if reasons:
            errors.append(RowError(item.row.line, tuple(reasons), item.row.campaign_id))
    where = f"namespace {namespace} of {kube.server} (context {kube.context_name or '-'})"
    return errors, f"CEL rules and admission, by a server-side dry run in {where}"


def _dump(documents: Iterable[dict[str, Any]], header: str) -> str:
    return header + yaml.safe_dump_all(list(documents), sort_keys=False, explicit_start=True)


def _write_all(files: dict[Path, tuple[str, int]]) -> None:
    """Each file to a temporary name beside it, then every rename: either all new files are in place or none."""
    temporary: dict[Path, Path] = {}
    try:
        for path, (content, mode) in files.items():
            path.parent.mkdir(parents=True, exist_ok=True)
            handle, name = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
            temporary[path] = Path(name)
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                out.write(content)
                out.flush()
                os.fsync(out.fileno())
            os.chmod(name, mode)
        for path, temp in temporary.items():
            os.replace(temp, path)
    finally:
        for temp in temporary.values():
            temp.unlink(missing_ok=True)


MANIFEST_HEADER = "# CampaignMigrations planned by kubectl tendlc from {csv}. The LOA Secrets are not in this file.\n"
SECRET_HEADER = (
    "# LOA Secrets planned by kubectl tendlc from {csv}: signed documents. Do not commit this file;\n"
    "# apply it (kubectl apply -f) or seal it with your secret tooling.\n"
)


def write(kube: Kube | None, request: PlanRequest, result: PlanResult) -> None:
    """Apply the Secrets (if asked) and write the files of every planned row; the caller checked for errors."""
    csv_name = request.csv_path.name
    if request.apply_secrets and result.planned:
        assert kube is not None
        for item in result.planned:
            suffix = (f" ({result.secrets_applied} of {len(result.planned)} LOA Secrets were applied before this; "
                      "no file was written; running plan again is safe)")
            try:
                kube.apply(item.secret, kube.namespace, dry_run=False)
            except ApiRejected as rejected:
                name = item.secret["metadata"]["name"]
                raise ClusterRefused(f"the API server refused Secret {name}: {rejected.message}{suffix}") from None
            except CliError as error:
                raise type(error)(error.message + suffix) from None
            result.secrets_applied += 1
    files: dict[Path, tuple[str, int]] = {}
    done: list[str] = []
    header = MANIFEST_HEADER.format(csv=csv_name)
    count = len(result.planned)
    if request.out_file is not None:
        content = _dump((p.migration for p in result.planned), header)
        if str(request.out_file) == "-":
            result.stdout_manifests = content
            done.append(f"wrote {count} CampaignMigration manifest(s) to stdout")
        else:
            files[request.out_file] = (content, 0o644)
            done.append(f"wrote {request.out_file}: {count} CampaignMigration manifest(s)")
    if request.out_dir is not None:
        for item in result.planned:
            path = request.out_dir / f"{resource_name(item.row.campaign_id)}.yaml"
            files[path] = (_dump([item.migration], header), 0o644)
        done.append(f"wrote {count} CampaignMigration manifest(s) into {request.out_dir}/ (one file each)")
    if request.secrets_out is not None:
        secrets = _dump((p.secret for p in result.planned), SECRET_HEADER.format(csv=csv_name))
        files[request.secrets_out] = (secrets, 0o600)
        done.append(f"wrote {request.secrets_out}: {count} LOA Secret(s), mode 0600; keep this file out of Git")
    if result.planned:
        _write_all(files)
        result.written = done


def run(request: PlanRequest, kube: Kube | None) -> PlanResult:
    """The whole plan: check everything, then write everything (or nothing)."""
    try:
        text = request.csv_path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as error:
        raise CliError(f"{request.csv_path} is not UTF-8 (byte {error.start} is {error.object[error.start]:#04x}): "
                       "save the inventory as UTF-8 CSV") from None
    rows, planned, errors = build(request, text)
    rules = ", ".join(f'"{rule}"' for rule in schema.cel_rules())
    result = PlanResult(
        rows=rows, planned=planned, errors=errors,
        offline_check="the CRD schema, offline (the plugin's copy of crds/campaignmigrations.tendlc.io.yaml)",
        server_check=f"the CEL rules ({rules}), because ",
    )
    if request.server_check is False or kube is None:
        result.server_check += "the server-side dry run is turned off (--no-dry-run-server)"
    elif planned:
        try:
            kube.probe()
            server_errors, result.server_check = dry_run(kube, planned, secrets=request.apply_secrets)
            result.server_checked = True
        except (ClusterUnreachable, ClusterRefused) as error:
            if request.server_check:
                raise
            result.server_check += f"the server-side dry run could not be done ({error.message})"
            server_errors = []
        bad_lines = {e.line for e in server_errors}
        result.errors = sorted([*errors, *server_errors], key=lambda e: e.line)
        result.planned = [p for p in planned if p.row.line not in bad_lines]
    else:
        result.server_check += "no valid row is left to send"
    if result.errors and not request.skip_invalid:
        return result
    write(kube, request, result)
    return result
