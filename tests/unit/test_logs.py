"""Structured logs: one JSON object per line with resource context, and no registered secret ever shown."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import kopf
import pytest
from pydantic import SecretStr

from tendlc.logs import (
    SECRETS,
    RedactingFilter,
    configure_logging,
    register_secret,
    resource_logger,
)
from tendlc.redaction import REDACTED, Redactor, SecretRegistry

CANARY = "canary-secret-9f8e7d6c"
CANARY_TOO = "canary-key-0a1b2c3d4e"


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root, kopf_objects = logging.getLogger(), logging.getLogger("kopf.objects")
    handlers, level, kopf_level = list(root.handlers), root.level, kopf_objects.level
    try:
        yield
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
        kopf_objects.setLevel(kopf_level)


@pytest.fixture
def registry() -> SecretRegistry:
    registry = SecretRegistry()
    registry.add(CANARY, SecretStr(CANARY_TOO))
    return registry


def json_lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_each_record_is_one_json_line_with_time_level_logger_message(restore_logging: None) -> None:
    stream = io.StringIO()
    configure_logging("json", "DEBUG", stream=stream)
    logging.getLogger("tendlc.test").info("hello %s", "world")
    logging.getLogger("tendlc.test").debug("multi\nline")
    first, second = json_lines(stream)
    assert first["message"] == "hello world"
    assert first["level"] == "INFO"
    assert first["logger"] == "tendlc.test"
    assert first["time"].endswith("Z")
    assert second["message"] == "multi\nline"
    assert len(stream.getvalue().splitlines()) == 2


def test_resource_context_comes_from_extra(restore_logging: None) -> None:
    stream = io.StringIO()
    configure_logging("json", stream=stream)
    logging.getLogger("tendlc.test").info(
        "imported", extra={"namespace": "team-a", "resource_name": "cojd655", "campaign_id": "COJD655", "attempt": 2}
    )
    (line,) = json_lines(stream)
    assert (line["namespace"], line["name"], line["campaign_id"], line["attempt"]) == (
        "team-a", "cojd655", "COJD655", 2,
    )
    assert "resource_name" not in line


def test_resource_logger_stamps_every_record(restore_logging: None) -> None:
    stream = io.StringIO()
    configure_logging("json", stream=stream)
    log = resource_logger(logging.getLogger("tendlc.reconciler"), "team-a", "cojd655", "COJD655")
    log.info("submitted", extra={"phase": "InMigration"})
    (line,) = json_lines(stream)
    assert (line["namespace"], line["name"], line["campaign_id"], line["phase"]) == (
        "team-a", "cojd655", "COJD655", "InMigration",
    )


def test_resource_context_comes_from_kopf_object_loggers(restore_logging: None) -> None:
    stream = io.StringIO()
    configure_logging("json", stream=stream)
    body = {"apiVersion": "tendlc.io/v1alpha1", "kind": "CampaignMigration",
            "metadata": {"namespace": "team-b", "name": "c0o3xvu", "uid": "u-1"}}
    kopf_logger = kopf.ObjectLogger(body=kopf.Body(body), settings=kopf.OperatorSettings())  # type: ignore[arg-type]
    kopf_logger.warning("handler failed", extra={"campaign_id": "C0O3XVU"})
    (line,) = json_lines(stream)
    assert (line["namespace"], line["name"], line["campaign_id"]) == ("team-b", "c0o3xvu", "C0O3XVU")
    assert "settings" not in line
    assert "k8s_ref" not in line


def test_text_format_shows_the_resource(restore_logging: None) -> None:
    stream = io.StringIO()
    configure_logging("text", stream=stream)
    context = {"namespace": "ns", "resource_name": "n", "campaign_id": "C1"}
    logging.getLogger("tendlc.test").warning("stalled", extra=context)
    assert "WARNING" in stream.getvalue()
    assert "tendlc.test [ns/n C1] stalled" in stream.getvalue()


def test_unknown_format_is_refused(restore_logging: None) -> None:
    with pytest.raises(ValueError, match="log format"):
        configure_logging("yaml")  # type: ignore[arg-type]


def test_configure_replaces_previous_root_handlers(restore_logging: None) -> None:
    logging.getLogger().addHandler(logging.StreamHandler(io.StringIO()))
    handler = configure_logging("json", stream=io.StringIO())
    assert logging.getLogger().handlers == [handler]


def test_canary_secret_is_redacted_from_message_args_extra_and_exception(
    restore_logging: None, registry: SecretRegistry
) -> None:
    stream = io.StringIO()
    configure_logging("json", "DEBUG", stream=stream, registry=registry)
    log = logging.getLogger("tendlc.test")
    log.info(f"inline {CANARY}")
    log.info("as argument %s and %r", CANARY, {"key": CANARY_TOO})
    log.info("in extra", extra={"detail": f"token={CANARY}", "nested": {"a": CANARY_TOO}})
    try:
        raise RuntimeError(f"failed with {CANARY}")
    except RuntimeError:
        log.exception("boom")
    log.info("stack", stack_info=True, extra={"resource_name": CANARY})
    output = stream.getvalue()
    assert CANARY not in output
    assert CANARY_TOO not in output
    lines = json_lines(stream)
    assert lines[0]["message"] == f"inline {REDACTED}"
    assert lines[1]["message"] == f"as argument {REDACTED} and {{'key': '{REDACTED}'}}"
    assert lines[2]["detail"] == f"token={REDACTED}"
    assert REDACTED in lines[3]["exception"]
    assert "RuntimeError" in lines[3]["exception"]


def test_process_wide_registry_feeds_the_default_handler(restore_logging: None) -> None:
    stream = io.StringIO()
    configure_logging("json", stream=stream)
    secret = "canary-process-wide-31337"
    register_secret(secret, None)
    try:
        logging.getLogger("tendlc.test").error("credential %s leaked?", secret)
    finally:
        SECRETS.discard(secret)
    assert secret not in stream.getvalue()
    assert REDACTED in stream.getvalue()


def test_records_of_libraries_are_redacted_too(restore_logging: None, registry: SecretRegistry) -> None:
    stream = io.StringIO()
    configure_logging("text", stream=stream, registry=registry)
    logging.getLogger("some.library.deep").warning("Authorization: App %s", CANARY)
    assert CANARY not in stream.getvalue()


def test_registry_ignores_short_values_and_blanks_longest_first() -> None:
    registry = SecretRegistry()
    registry.add("abc", "", "password", "password-extended")
    assert len(registry) == 2
    assert registry.redact("x password-extended y password abc") == f"x {REDACTED} y {REDACTED} abc"
    assert "password" not in repr(registry)
    registry.clear()
    assert registry.redact("password") == "password"


def test_filter_never_drops_a_record_even_with_bad_format_args(registry: SecretRegistry) -> None:
    record = logging.LogRecord("t", logging.INFO, __file__, 1, "%d items for " + CANARY, ("x",), None)
    assert RedactingFilter(registry).filter(record)
    assert CANARY not in record.getMessage()


def test_one_redactor_serves_the_logs_and_the_partner_clients() -> None:
    """The clients' per-request redactor and the log registry are the same mechanism (tendlc.redaction)."""
    from tendlc.clients import http

    assert http.Redactor is Redactor
    base = Redactor(["api-key-1234"])
    extended = base.with_extra([SecretStr("hmac-secret-5678"), "abc", None])
    assert extended("api-key-1234 / hmac-secret-5678 / abc") == f"{REDACTED} / {REDACTED} / abc"
    assert base("hmac-secret-5678") == "hmac-secret-5678"  # immutable: the base is unchanged
    assert base.with_extra([]) is base


def test_kopfs_per_event_info_lines_are_dropped_unless_debug(restore_logging: None) -> None:
    """"Handler 'changed' succeeded." for every watch event costs CPU and says nothing; failures stay."""
    body = {"apiVersion": "tendlc.io/v1alpha1", "kind": "CampaignMigration",
            "metadata": {"namespace": "team-b", "name": "c0o3xvu", "uid": "u-1"}}
    cases = (("INFO", ["handler failed"]), ("DEBUG", ["Handler 'changed' succeeded.", "handler failed"]))
    for level, expected in cases:
        stream = io.StringIO()
        configure_logging("json", level, stream=stream)
        kopf_logger = kopf.ObjectLogger(body=kopf.Body(body), settings=kopf.OperatorSettings())  # type: ignore[arg-type]
        kopf_logger.info("Handler 'changed' succeeded.")
        kopf_logger.warning("handler failed")
        assert [line["message"] for line in json_lines(stream)] == expected, level
