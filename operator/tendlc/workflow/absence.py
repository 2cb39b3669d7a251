"""When a campaign may be taken to be absent at Infobip: the rule before any migrate is sent (D24).

Infobip's campaign list has no filter by `externalCampaignId` and may lag a create, and a migrate
is not idempotent, so absence is never concluded from one empty answer: it takes
`policy.absence_searches` searches that found nothing, the last at least `policy.absence_window`
after the first. After an interrupted submission the window is counted from when the POST was
sent, plus the request timeout (`policy.in_flight`), because that POST may still be taking effect
when we look. Pure: the record of the searches lives in `status.migrationSearch`.

The same rule decides whether an interrupted add-numbers batch landed (D61), over reads of the
campaign's numbers recorded in `status.numbers.search`, with a window of its own (`base`): the
batch is applied asynchronously, so numbers not shown yet are no proof either.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Protocol

from tendlc.api.status import MigrationSearch
from tendlc.workflow.facts import Policy


class Searches(Protocol):
    """What the rule needs of a record of negative searches (`MigrationSearch`, `NumbersSearch`)."""

    @property
    def negative(self) -> int: ...

    @property
    def since(self) -> datetime: ...

    @property
    def last_at(self) -> datetime: ...


def window(policy: Policy, *, interrupted: bool, base: timedelta | None = None) -> timedelta:
    start = policy.absence_window if base is None else base
    return start + (policy.in_flight if interrupted else timedelta(0))


def concluded(
    search: Searches | None, policy: Policy, *, interrupted: bool, base: timedelta | None = None
) -> bool:
    """Enough searches found nothing, spread over enough time."""
    if search is None:
        return False
    return (
        search.negative >= policy.absence_searches
        and search.last_at - search.since >= window(policy, interrupted=interrupted, base=base)
    )


def conclusion_at(search: Searches | None, policy: Policy, *, interrupted: bool) -> datetime | None:
    """The earliest time absence can be concluded (None: no search yet, or concluded already).

    Nothing that depends on the absence can happen before it, whatever else is learnt meanwhile.
    """
    if search is None or concluded(search, policy, interrupted=interrupted):
        return None
    return search.since + window(policy, interrupted=interrupted)


def next_search_at(
    search: Searches | None, policy: Policy, *, interrupted: bool, base: timedelta | None = None
) -> datetime | None:
    """When the next search is due (None: now). Searches are spread evenly over the window."""
    if search is None:
        return None
    remaining = max(policy.absence_searches - search.negative, 1)
    span = window(policy, interrupted=interrupted, base=base)
    end = search.since + span
    if search.negative >= policy.absence_searches:
        return end  # enough searches, not yet spread far enough: one more at the end of the window
    step = (end - search.last_at) / remaining if end > search.last_at else timedelta(0)
    return search.last_at + step


def record_negative(
    search: MigrationSearch | None, now: datetime, name: str, number: str, *, since: datetime | None = None
) -> MigrationSearch:
    """One more search that found nothing (a record for other filters starts again)."""
    if search is None or (search.name, search.number) != (name, number):
        return MigrationSearch(negative=1, since=since or now, last_at=now, name=name, number=number)
    return search.model_copy(update={"negative": search.negative + 1, "last_at": now})
