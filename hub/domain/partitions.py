"""An org's outbound partitions (the org setting ``partitions``, 1 to 16).

With one partition (the default) every key of an org shares the org's hash
tag, as it always has. With P > 1 a contact (channel and number) belongs to
one partition, and its activities, their indexes, the outbound stream that
carries them and their per-message state live under that partition's own
hash tag (``{org_…~p}``), so that one org's sends spread over the slots, and
the nodes, of a Redis Cluster. Partition 0 is the org itself.

An activity's id names its partition (its first hex digit), so that a read
by id goes straight to it.
"""

from __future__ import annotations

import hashlib
import secrets

from hub.errors import InvalidRequest

MAX_PARTITIONS = 16
MARK = "~"  # between the org id and the partition number in a unit id


def validate_partitions(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_PARTITIONS:
        raise InvalidRequest(
            f"partitions must be a whole number from 1 to {MAX_PARTITIONS}", details={"field": "partitions"}
        )
    return value


def unit(org_id: str, partition: int) -> str:
    """What the storage layer takes for an org id: the org itself for
    partition 0, ``org_…~p`` for the others (its keys' hash tag)."""
    return org_id if partition == 0 else f"{org_id}{MARK}{partition}"


def units(org_id: str, partitions: int) -> list[str]:
    return [unit(org_id, p) for p in range(partitions)]


def org_of(unit_id: str) -> str:
    return unit_id.split(MARK, 1)[0]


def partition_of(unit_id: str) -> int:
    _, sep, p = unit_id.partition(MARK)
    return int(p) if sep else 0


def is_partition(unit_id: str) -> bool:
    """A unit other than the org itself (partition 1 and up)."""
    return MARK in unit_id


def contact_partition(partitions: int, channel_id: str, phone: str) -> int:
    """The partition a contact's messages go through: the same for every
    message to it, so that they keep their order."""
    if partitions <= 1:
        return 0
    digest = hashlib.sha256(f"{channel_id}\0{phone}".encode()).digest()
    return int.from_bytes(digest[:4], "big") % partitions


def activity_id(partitions: int, partition: int) -> str:
    """A new activity id; with several partitions its first hex digit is the partition."""
    token = secrets.token_hex(10)
    if partitions <= 1:
        return f"act_{token}"
    return f"act_{partition:x}{token[1:]}"


def activity_partition(partitions: int, activity_id_: str) -> int | None:
    """The partition an activity id names, or None for an id no partition of
    this org can hold."""
    if partitions <= 1:
        return 0
    if not activity_id_.startswith("act_") or len(activity_id_) < 5:
        return None
    try:
        p = int(activity_id_[4], 16)
    except ValueError:
        return None
    return p if p < partitions else None
