"""Quiet hours: the local hours and days a recipient may be sent to, and the
next instant a message may go (pure: ``now`` is passed in).

A window is open from ``start`` (inclusive) to ``end`` (exclusive), local
wall-clock time, on its ``days``; it never spans midnight (``end`` may be
``24:00``). A number whose country spans several zones may be in any of
them, so it is sent to only when the window is open in all of them at once
(the most restrictive reading); when the zones are so far apart that the
window is never open in all of them, the earliest instant open in the most
of them is taken instead.

Daylight saving: local times are read with zoneinfo. A window start that
the clock skips (02:30 on a spring-forward night) opens at the instant it
would have had on the old offset (03:30 on the new clock); times that happen
twice are open both times.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from hub.errors import InvalidRequest

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MAX_ZONE_NAME = 64
# phonenumbers' answer for a number it cannot place.
UNKNOWN_ZONE = "Etc/Unknown"
_CLOCK = re.compile(r"(\d{2}):(\d{2})(?::(\d{2}))?")
# A window open on at least one day opens within a week; a day either side
# covers zones ahead of and behind UTC.
_HORIZON_DAYS = 9


@dataclass(frozen=True)
class QuietHours:
    """Send only from ``start_s`` to ``end_s`` (seconds after local midnight)
    on ``days`` (0 = Monday)."""

    start_s: int
    end_s: int
    days: frozenset[int]
    # The zone assumed for a number whose own zone is unknown (None: such a
    # number is not held).
    default_zone: str | None = None

    def is_open(self, at: datetime, zone: ZoneInfo) -> bool:
        local = at.astimezone(zone)
        second = local.hour * 3600 + local.minute * 60 + local.second
        return local.weekday() in self.days and self.start_s <= second < self.end_s

    def openings(self, zone: ZoneInfo, around: date) -> list[datetime]:
        """The instants (UTC) the window opens in ``zone`` on the days around ``around``."""
        out = []
        for offset in range(-1, _HORIZON_DAYS):
            day = around + timedelta(days=offset)
            if day.weekday() not in self.days:
                continue
            clock = time(self.start_s // 3600, self.start_s // 60 % 60, self.start_s % 60)
            # fold=0: a skipped time takes the offset before the jump (see the module note).
            out.append(datetime.combine(day, clock, zone).astimezone(UTC))
        return out

    def public(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "start": _clock_text(self.start_s),
            "end": _clock_text(self.end_s),
            "days": [DAYS[d] for d in sorted(self.days)],
        }
        if self.default_zone:
            out["default_timezone"] = self.default_zone
        return out


def next_send_at(now: datetime, zones: Sequence[ZoneInfo], window: QuietHours) -> datetime:
    """``now`` when the window is open in every zone, else the earliest later
    instant it is (or, when it never is, the earliest open in the most zones).

    The intersection of the zones' open intervals starts at one of their
    openings, so the openings (and ``now``) are the only candidates."""
    if not zones:
        return now
    candidates = sorted({now, *(o for z in zones for o in window.openings(z, now.date()) if o > now)})
    for at in candidates:
        if all(window.is_open(at, z) for z in zones):
            return at
    return max(candidates, key=lambda at: (sum(window.is_open(at, z) for z in zones), -at.timestamp()))


def effective_window(org_window: Any, config_window: Any) -> QuietHours | None:
    """The configuration's window wins; ``false`` there means none at all;
    without one, the org's (stored as validated, see hub.domain.catalog)."""
    if config_window is False:
        return None
    chosen = config_window if config_window is not None else org_window
    return parse_quiet_hours(chosen) if chosen else None


def zones_for(number_zones: Collection[str], contact_zone: str | None, window: QuietHours) -> list[ZoneInfo]:
    """The zones to honour: the contact's own ``timezone`` when given, else
    the number's (phonenumbers' names), else the window's default zone, else
    none (sent at once)."""
    if contact_zone:
        return [ZoneInfo(contact_zone)]
    known = sorted(z for z in number_zones if z != UNKNOWN_ZONE)
    if known:
        return [ZoneInfo(z) for z in known]
    return [ZoneInfo(window.default_zone)] if window.default_zone else []


def parse_zone_name(value: Any, field: str) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_ZONE_NAME:
        raise InvalidRequest(
            f"{field} must be an IANA time zone name such as Australia/Sydney", details={"field": field}
        )
    name = value.strip()
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        # OSError: a name the file system refuses, or a folder ("America").
        raise InvalidRequest(f"unknown time zone {name!r}", details={"field": field}) from None
    return name


def parse_quiet_hours(raw: Any, field: str = "quiet_hours") -> QuietHours:
    """``{"start": "08:00", "end": "21:00", "days": ["mon", ...], "default_timezone"?}``;
    ``days`` defaults to every day. Raises InvalidRequest naming the field."""
    if not isinstance(raw, Mapping):
        raise InvalidRequest(f"{field} must be an object with start, end and days", details={"field": field})
    unknown = set(raw) - {"start", "end", "days", "default_timezone"}
    if unknown:
        name = sorted(unknown)[0]
        raise InvalidRequest(f"unknown field {name!r}", details={"field": f"{field}.{name}"})
    start = _parse_clock(raw.get("start"), f"{field}.start")
    end = _parse_clock(raw.get("end"), f"{field}.end")
    if end <= start:
        raise InvalidRequest(
            "end must be after start (a window does not span midnight)", details={"field": f"{field}.end"}
        )
    days_raw = raw.get("days", list(DAYS))
    if (
        not isinstance(days_raw, list)
        or not days_raw
        or not all(isinstance(d, str) and d.lower() in DAYS for d in days_raw)
    ):
        raise InvalidRequest(f"days must be a non-empty list of {', '.join(DAYS)}", details={"field": f"{field}.days"})
    default_zone = None
    if raw.get("default_timezone") is not None:
        default_zone = parse_zone_name(raw["default_timezone"], f"{field}.default_timezone")
    return QuietHours(start, end, frozenset(DAYS.index(d.lower()) for d in days_raw), default_zone)


def _parse_clock(value: Any, field: str) -> int:
    match = _CLOCK.fullmatch(value) if isinstance(value, str) else None
    if match:
        h, m, s = int(match[1]), int(match[2]), int(match[3] or 0)
        if (h < 24 and m < 60 and s < 60) or (h, m, s) == (24, 0, 0):
            return h * 3600 + m * 60 + s
    raise InvalidRequest(f"{field} must be a time of day HH:MM (or HH:MM:SS), 00:00 to 24:00", details={"field": field})


def _clock_text(second: int) -> str:
    h, m, s = second // 3600, second // 60 % 60, second % 60
    return f"{h:02d}:{m:02d}:{s:02d}" if s else f"{h:02d}:{m:02d}"
