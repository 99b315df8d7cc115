"""When scheduled flows fire: a one-off time, or a cron expression in a time zone.

Pure: every function takes ``now`` (or ``after``) and returns values.

Cron expressions are parsed and iterated by croniter, over *wall-clock* times
(naive datetimes), and each wall-clock time is then placed on the time line
with the zone's rules (PEP 495, ``fold=0``). That keeps daylight saving
decisions here, in plain sight, rather than inside the iteration:

- a wall-clock time the clock skips (02:30 on a spring-forward night in New
  York) happens at the instant it would have had on the old offset, i.e. one
  hour later on the new clock (03:30 EDT, 07:30 UTC) — it is never dropped;
- a wall-clock time that happens twice (01:30 on a fall-back night) fires
  once, the first time (EDT).

Missed occurrences (the hub was down): only the latest one that is due fires,
marked late, with the number skipped before it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter

from hub.errors import InvalidRequest

UTC = UTC
# Counting missed occurrences stops here (a per-second cron down for a day).
CATCH_UP_LIMIT = 50_000
# A wall-clock time that happens twice is fired once: the scan past it is bounded.
_SCAN_LIMIT = 100_000


@dataclass(frozen=True)
class Firing:
    """What to do with an occurrence that is due."""

    occurrence: datetime  # the one that fires (UTC)
    skipped: int  # earlier occurrences that were missed and will never fire
    next_at: datetime | None  # the next occurrence after ``occurrence``; None when done
    late: bool


# The longest IANA name is 32 characters; past this no name can be one.
MAX_ZONE_NAME = 64


def parse_zone(name: object) -> ZoneInfo:
    if not isinstance(name, str) or not name.strip() or len(name) > MAX_ZONE_NAME:
        raise InvalidRequest(
            "timezone must be an IANA time zone name such as Europe/Paris", details={"field": "timezone"}
        )
    try:
        return ZoneInfo(name.strip())
    except (ZoneInfoNotFoundError, ValueError, OSError):
        # OSError: a name the file system refuses, or a folder ("America").
        raise InvalidRequest(f"unknown time zone {name!r}", details={"field": "timezone"}) from None


def parse_cron(expr: object) -> str:
    """Five fields (minute hour day month weekday), or six with seconds last."""
    if not isinstance(expr, str) or not 5 <= len(expr.split()) <= 6 or not croniter.is_valid(expr):
        raise InvalidRequest("cron must be a cron expression such as '0 9 * * 1-5'", details={"field": "cron"})
    return " ".join(expr.split())


def parse_at(text: object, zone: tzinfo) -> datetime:
    """An ISO 8601 time; without an offset it is read in ``zone``."""
    if not isinstance(text, str):
        raise InvalidRequest("at must be an ISO 8601 time", details={"field": "at"})
    try:
        value = datetime.fromisoformat(text.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise InvalidRequest("at must be an ISO 8601 time", details={"field": "at"}) from None
    if value.tzinfo is None:
        value = wall_to_instant(value, zone)
    return value.astimezone(UTC)


def wall_to_instant(wall: datetime, zone: tzinfo) -> datetime:
    """The UTC instant of a wall-clock time in ``zone`` (fold=0, see the module doc)."""
    return wall.replace(tzinfo=zone, fold=0).astimezone(UTC)


def occurrences(cron: str, zone: ZoneInfo, after: datetime) -> Iterator[datetime]:
    """Occurrences strictly after ``after`` (aware), in UTC, strictly increasing."""
    # The wall-clock time of ``after`` maps back to an instant <= ``after``
    # (equal, or an hour earlier inside a repeated hour), so no occurrence
    # after ``after`` is earlier than it on the wall clock.
    it = croniter(cron, after.astimezone(zone).replace(tzinfo=None))
    last, passed = after, 0
    while True:
        candidate = wall_to_instant(it.get_next(datetime), zone)
        if candidate > last:
            last, passed = candidate, 0
            yield candidate
        else:
            # The second pass of a repeated hour, or a skipped time that lands
            # on one already fired: nothing new happens.
            passed += 1
            if passed > _SCAN_LIMIT:
                raise InvalidRequest("the cron expression has no occurrence in reach", details={"field": "cron"})


def next_occurrence(cron: str, zone: ZoneInfo, after: datetime) -> datetime:
    """The first occurrence strictly after ``after`` (aware), in UTC."""
    return next(occurrences(cron, zone, after))


def upcoming(cron: str | None, zone: ZoneInfo, first: datetime, count: int) -> list[datetime]:
    """``first`` and, for a cron schedule, the occurrences after it: at most ``count``."""
    if cron is None or count <= 1:
        return [first][:count]
    found = [first]
    for moment in occurrences(cron, zone, first):
        found.append(moment)
        if len(found) == count:
            break
    return found


def latest_occurrence(cron: str, zone: ZoneInfo, at_or_before: datetime) -> datetime:
    """The last occurrence at or before ``at_or_before``, in UTC."""
    start = at_or_before.astimezone(zone).replace(tzinfo=None) + timedelta(seconds=1)
    it = croniter(cron, start)
    for _ in range(_SCAN_LIMIT):
        candidate = wall_to_instant(it.get_prev(datetime), zone)
        if candidate <= at_or_before:
            return candidate
    raise InvalidRequest("the cron expression has no occurrence in reach", details={"field": "cron"})


def first_occurrence(*, at: datetime | None, cron: str | None, zone: ZoneInfo, now: datetime) -> datetime:
    """When a new schedule fires first."""
    if at is not None:
        return at
    if cron is None:
        raise InvalidRequest("a schedule needs at, cron or delay_seconds")
    return next_occurrence(cron, zone, now)


def due_firing(*, cron: str | None, zone: ZoneInfo, due: datetime, now: datetime, late_after_s: float) -> Firing:
    """What fires for an occurrence ``due`` that is at or before ``now``.

    A one-off fires once. A cron fires its latest occurrence at or before
    ``now`` (earlier missed ones are counted as skipped, not replayed), and
    names the next one. Late: it is more than ``late_after_s`` behind its
    time, or occurrences were skipped.
    """
    if cron is None:
        late = (now - due).total_seconds() > late_after_s
        return Firing(occurrence=due, skipped=0, next_at=None, late=late)
    occurrence, skipped = due, 0
    upcoming = iter(occurrences(cron, zone, due))
    following = next(upcoming)
    while following <= now:
        if skipped >= CATCH_UP_LIMIT:
            # Too many to count one by one: jump to the latest; ``skipped``
            # stays at the limit (documented as "at least").
            occurrence = latest_occurrence(cron, zone, now)
            following = next_occurrence(cron, zone, occurrence)
            break
        occurrence, skipped = following, skipped + 1
        following = next(upcoming)
    late = skipped > 0 or (now - occurrence).total_seconds() > late_after_s
    return Firing(occurrence=occurrence, skipped=skipped, next_at=following, late=late)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)


def to_ms(moment: datetime) -> int:
    """Exact integer arithmetic: a time and its milliseconds round-trip."""
    return (moment - _EPOCH) // _MS


def from_ms(ms: int | float) -> datetime:
    return _EPOCH + int(ms) * _MS


def iso(moment: datetime) -> str:
    """UTC, ISO 8601 with a Z, to the millisecond when it has one."""
    text = moment.astimezone(UTC).isoformat(timespec="milliseconds")
    text = text.replace("+00:00", "Z")
    return text.replace(".000Z", "Z")
