"""Which numbers travel with the migration, which are added afterwards, and in which batches (D60).

A migrate request carries at most 200 numbers (D3); a number-pooling campaign holds up to 35,000,
the rest added with `add-numbers` once the campaign is REGISTERED (D34, D60). Everything here is
derived from the *set* of numbers, never their order in the spec or the ConfigMap, so a list that
is only reordered (which the CRD's set semantics allow after submission) changes nothing:

- a campaign of at most 200 numbers migrates all of them, in the order given (as before);
- a larger one migrates the 200 that sort first and adds the others in ascending order, the
  cursor `status.numbers.added` counting how many of those were accepted.

Pure and cheap to call repeatedly: sorting 35,000 numbers is cached per list.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache

from tendlc.api.spec import MIGRATE_MAX_NUMBERS, CampaignMigrationSpec
from tendlc.api.status import MigrationStatus
from tendlc.workflow.number_actions import AddNumbers


@lru_cache(maxsize=64)
def sorted_numbers(numbers: tuple[str, ...]) -> tuple[str, ...]:
    """`numbers` in ascending order (cached: a pass asks several times for the same list)."""
    return tuple(sorted(numbers))




def migrated_numbers(spec: CampaignMigrationSpec) -> tuple[str, ...]:
    """The numbers the migrate request carries (all of them for a campaign of at most 200)."""
    if len(spec.numbers) <= MIGRATE_MAX_NUMBERS:
        return spec.numbers
    return sorted_numbers(spec.numbers)[:MIGRATE_MAX_NUMBERS]


def numbers_to_add(spec: CampaignMigrationSpec) -> tuple[str, ...]:
    """The numbers added after registration, in the order they are sent (empty for ≤ 200)."""
    if len(spec.numbers) <= MIGRATE_MAX_NUMBERS:
        return ()
    return sorted_numbers(spec.numbers)[MIGRATE_MAX_NUMBERS:]


def search_number(spec: CampaignMigrationSpec) -> str:
    """The number the D4 search filters by: the first the migration carries."""
    return migrated_numbers(spec)[0]


def digest_of(numbers: tuple[str, ...]) -> str:
    """A short digest of some numbers as a set (what a marker records of a batch)."""
    return hashlib.sha256(",".join(sorted_numbers(numbers)).encode()).hexdigest()[:16]


def next_batch(spec: CampaignMigrationSpec, added: int, batch_size: int) -> tuple[str, ...]:
    """The next add-numbers batch after `added` accepted numbers (empty: none left)."""
    to_add = numbers_to_add(spec)
    return to_add[added : added + max(batch_size, 1)]


def batch_at(spec: CampaignMigrationSpec, first_number: str, count: int) -> tuple[int, tuple[str, ...]] | None:
    """The batch a marker describes (its offset in `numbers_to_add` and its numbers), if the list still holds it."""
    to_add = numbers_to_add(spec)
    try:
        offset = to_add.index(first_number)
    except ValueError:
        return None
    return offset, to_add[offset : offset + count]


def visible_prefix(spec: CampaignMigrationSpec, visible: frozenset[str]) -> int:
    """How many of `numbers_to_add`, from the first on, the campaign already shows."""
    count = 0
    for number in numbers_to_add(spec):
        if number not in visible:
            break
        count += 1
    return count


def planned_additions(spec: CampaignMigrationSpec, status: MigrationStatus, batch_size: int) -> list[str]:
    """The add-numbers requests still to come, as a dry run lists them."""
    to_add = numbers_to_add(spec)
    done = status.numbers.added if status.numbers is not None else 0
    campaign = status.infobip_campaign_id or "{infobipCampaignId}"
    size = max(batch_size, 1)
    return [
        AddNumbers(campaign, to_add[start : start + size]).planned_calls()[0]
        for start in range(done, len(to_add), size)
    ]
