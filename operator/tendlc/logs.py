"""Logging set-up: one JSON object per line, resource context on each, and a secret-redaction net.

`configure_logging("json" | "text", level)` installs one handler on the root logger. Each JSON line
holds `time`, `level`, `logger`, `message` and, when known, `namespace`, `name` and `campaign_id`
— from `extra={"namespace": …, "resource_name": …, "campaign_id": …}` (`name` is taken by
`logging` itself), from `resource_logger(...)`, or from Kopf's per-object loggers (their
`k8s_ref`) — plus any other simple `extra` values and the formatted exception.

Redaction is a safety net, not the first defence (clients already keep secrets out of messages):
`register_secret(value)` adds a credential to a process-wide registry the moment the operator reads
it, and `RedactingFilter` (attached to the handler, so it sees records of every logger) replaces
each registered value with `***` in the message, its arguments, extra values, exception text and
stack. Values shorter than 4 characters are not registered (they would blank ordinary words). This
room never decides what to log and imports no Kopf.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterable, Mapping, MutableMapping
from datetime import UTC, datetime
from typing import Any, Final, Literal, TextIO

from pydantic import SecretStr

from tendlc.redaction import SecretRegistry

CONTEXT_FIELDS: Final = ("namespace", "name", "campaign_id")
#: `extra` keys read for the context fields (`name` is a LogRecord attribute: pass `resource_name`).
CONTEXT_EXTRAS: Final = {"namespace": "namespace", "resource_name": "name", "campaign_id": "campaign_id"}

LogFormat = Literal["json", "text"]

# Attributes every LogRecord has; anything else on a record came from `extra`.
_STANDARD_ATTRIBUTES: Final = frozenset(
    vars(logging.LogRecord("", logging.INFO, "", 0, "", None, None)).keys()
    | {"message", "asctime", "taskName"}
)
# Kopf's own bookkeeping on its object loggers: `k8s_ref` is read for context, the rest is skipped.
_SKIPPED_EXTRAS: Final = frozenset({"settings", "k8s_skip", "k8s_ref"})


SECRETS: Final = SecretRegistry()
"""The process-wide registry: the operator registers every credential it reads here."""


def register_secret(*values: str | SecretStr | None) -> None:
    """Add credentials to the process-wide registry (see `SecretRegistry.add`)."""
    SECRETS.add(*values)


class RedactingFilter(logging.Filter):
    """Rewrites a record so that no registered secret survives in it; never drops a record.

    The message is formatted with its arguments first (so a secret passed as an argument is caught)
    and stored back with no arguments; exception and stack text are formatted and redacted too.
    """

    def __init__(self, registry: SecretRegistry = SECRETS) -> None:
        super().__init__()
        self.registry = registry

    def filter(self, record: logging.LogRecord) -> bool:
        redact = self.registry.redact
        try:
            message = record.getMessage()
        except Exception:
            message = f"{record.msg!s} {record.args!r}"
        record.msg = redact(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        for key, value in list(vars(record).items()):
            if key in _STANDARD_ATTRIBUTES or key in _SKIPPED_EXTRAS:
                continue
            if isinstance(value, str):
                setattr(record, key, redact(value))
            elif not isinstance(value, int | float | bool | type(None)):
                setattr(record, key, redact(str(value)))
        return True


def record_context(record: logging.LogRecord) -> dict[str, str]:
    """namespace, name and campaign_id of the resource a record is about, where known."""
    context: dict[str, str] = {}
    ref = getattr(record, "k8s_ref", None)
    if isinstance(ref, Mapping):
        for key in ("namespace", "name"):
            value = ref.get(key)
            if isinstance(value, str) and value:
                context[key] = value
    for attribute, key in CONTEXT_EXTRAS.items():
        value = getattr(record, attribute, None)
        if isinstance(value, str) and value:
            context[key] = value
    return context


def _format_time(created: float) -> str:
    return datetime.fromtimestamp(created, tz=UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": _format_time(record.created),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update(record_context(record))
        for key, value in vars(record).items():
            if key in _STANDARD_ATTRIBUTES or key in _SKIPPED_EXTRAS or key in CONTEXT_EXTRAS or key in entry:
                continue
            entry[key] = value if isinstance(value, str | int | float | bool | type(None)) else str(value)
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = record.stack_info
        return json.dumps(entry, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """`time LEVEL logger [namespace/name campaign] message`, for people reading a terminal."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)-7s %(name)s %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        context = record_context(record)
        line = super().format(record)
        if not context:
            return line
        where = "/".join(context[key] for key in ("namespace", "name") if key in context)
        if "campaign_id" in context:
            where = f"{where} {context['campaign_id']}".strip()
        prefix, _, rest = line.partition(f"{record.name} ")
        return f"{prefix}{record.name} [{where}] {rest}"


class ResourceLogger(logging.LoggerAdapter[logging.Logger]):
    """A logger that stamps namespace, name and campaign_id on every record (like Kopf's object logger)."""

    def process(self, msg: Any, kwargs: MutableMapping[str, Any]) -> tuple[Any, MutableMapping[str, Any]]:
        kwargs["extra"] = dict(self.extra or {}) | dict(kwargs.get("extra") or {})
        return msg, kwargs


def resource_logger(
    logger: logging.Logger, namespace: str | None, name: str | None, campaign_id: str | None = None
) -> ResourceLogger:
    pairs = (("namespace", namespace), ("resource_name", name), ("campaign_id", campaign_id))
    context = {key: value for key, value in pairs if value}
    return ResourceLogger(logger, context)


def configure_logging(
    format: LogFormat = "json",
    level: int | str = logging.INFO,
    *,
    stream: TextIO | None = None,
    registry: SecretRegistry = SECRETS,
    quiet: Iterable[str] = ("aiohttp.access", "httpx", "httpcore"),
) -> logging.Handler:
    """Replace the root logger's handlers with one redacting handler in `format`; return it.

    Call it once at start-up, after anything else (Kopf's `kopf.configure`) that installs handlers.
    Loggers in `quiet` are raised to WARNING (their INFO lines are per request or per call).
    """
    if format not in ("json", "text"):
        raise ValueError(f"log format must be 'json' or 'text', not {format!r}")
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.setFormatter(JsonFormatter() if format == "json" else TextFormatter())
    handler.addFilter(RedactingFilter(registry))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper() if isinstance(level, str) else level)
    for name in quiet:
        logging.getLogger(name).setLevel(logging.WARNING)
    # Kopf's per-object logger says "Handler 'changed' succeeded." at INFO for every watch event —
    # about six lines per migration that say nothing (its failures are WARNING and ERROR, kept),
    # each formatted, redacted and written. Shown only when asked for with DEBUG.
    logging.getLogger("kopf.objects").setLevel(logging.NOTSET if root.level <= logging.DEBUG else logging.WARNING)
    return handler
