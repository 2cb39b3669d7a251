"""The domain errors a partner call can end in: the vocabulary between the clients and the workflow.

The clients (`tendlc.clients`) raise these instead of HTTP outcomes, so no status code or partner
error shape leaks past them; the workflow maps them to waiting, failing or stopping in exactly one
place (`tendlc.workflow.errors`). The module stands apart from both so the pure workflow can name
the errors without importing any client (the import contract, tests/unit/test_import_contract.py).
It imports nothing of tendlc, and no error message may carry a credential or a request body.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PartnerProblem:
    """One problem reported by a partner: Infobip's validation error or one TCR error entry."""

    code: str
    description: str
    field: str | None = None


class PartnerError(Exception):
    """Base of every error a partner call can end in."""

    def __init__(
        self,
        partner: str,
        endpoint: str,
        message: str,
        *,
        status: int | None = None,
        problems: tuple[PartnerProblem, ...] = (),
    ) -> None:
        super().__init__(f"{partner} {endpoint}: {message}")
        self.partner = partner
        self.endpoint = endpoint
        self.message = message
        self.status = status
        self.problems = problems


class PartnerUnavailable(PartnerError):
    """Temporary: 429, 5xx, timeouts, dropped connections, TCR codes 590/591/630.

    The call may or may not have reached the partner; a non-idempotent call that ends here must be
    followed by an observation before it is sent again.
    """

    def __init__(
        self,
        partner: str,
        endpoint: str,
        message: str,
        *,
        status: int | None = None,
        problems: tuple[PartnerProblem, ...] = (),
        retry_after: float | None = None,
        rate_limited: bool = False,
    ) -> None:
        super().__init__(partner, endpoint, message, status=status, problems=problems)
        self.retry_after = retry_after
        self.rate_limited = rate_limited


class PartnerRejected(PartnerError):
    """Permanent: the partner understood the request and refused it (4xx other than 401/403/429)."""


class PartnerAuthFailed(PartnerError):
    """401: the credentials are wrong or missing. Retrying will not help until they change."""


class PartnerForbidden(PartnerError):
    """403: the account is not enabled for this capability (e.g. self-service number import)."""


class PartnerNotFound(PartnerRejected):
    """404: the thing asked for does not exist at the partner."""


class RequestNotSent(PartnerError):
    """The request was never sent: its rate-limit turn came after the time it had to be sent by.

    Certain, unlike every other error: nothing reached the partner, so a marker may be cleared.
    """


class PartnerResponseInvalid(PartnerError):
    """The partner answered 2xx with a body we cannot understand; the outcome is unknown."""

