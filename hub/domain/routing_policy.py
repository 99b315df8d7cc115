"""Routing policy of a queue (pure): priority, skills, inactivity close,
overflow and operating hours.

The routing scripts apply the same rules in Lua (routing_lib.lua); what is
here validates what admins send and is the reference the tests read.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from hub.domain.agents import QUEUE_RE
from hub.domain.segments import MAX_BODY_LENGTH
from hub.errors import InvalidRequest

DEFAULT_PRIORITY = 50
MAX_PRIORITY = 100
# Waiting order: priority band first (higher first), then arrival. A band is
# wider than any arrival time in ms until the year 2603, and 100 bands stay
# below 2^53, so the score is exact in a double.
BAND = 2 * 10**13
DEFAULT_INACTIVE_CLOSE_S = 86_400
MIN_INACTIVE_CLOSE_S = 60
MAX_INACTIVE_CLOSE_S = 30 * 86_400
MAX_OVERFLOW_AFTER_S = 7 * 86_400
MAX_WAITING_OVER = 100_000
SKILL_RE = re.compile(r"^[A-Za-z0-9_.-]{1,50}$")
MAX_SKILLS = 50
MIN_LEVEL, MAX_LEVEL = 1, 5
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_CLOCK_RE = re.compile(r"^([01]\d|2[0-4]):([0-5]\d)$")
_LOCALE_RE = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$")
MAX_REPLY = MAX_BODY_LENGTH


def _bad(field: str, message: str) -> InvalidRequest:
    return InvalidRequest(message, details={"field": field})


def _int(value: Any, field: str, low: int, high: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise _bad(field, f"{field} must be an integer from {low} to {high}")
    return value


def waiting_score(priority: int, arrival_ms: int) -> int:
    """Where a waiting conversation sorts in its queue (lowest first)."""
    return (MAX_PRIORITY - priority) * BAND + arrival_ms


def validate_priority(value: Any, field: str = "priority") -> int:
    return _int(value, field, 0, MAX_PRIORITY)


def validate_conversation_patch(body: Any) -> int:
    """``PATCH /v1/conversations/{id}``: ``{"priority": 0-100}``; the priority."""
    if not isinstance(body, Mapping):
        raise InvalidRequest("the request body must be a JSON object")
    extra = set(body) - {"priority"}
    if extra:
        raise _bad(str(sorted(extra)[0]), f"unknown field {sorted(extra)[0]!r}")
    if "priority" not in body:
        raise _bad("priority", "priority is required")
    return validate_priority(body["priority"])


def validate_agent_skills(body: Any) -> dict[str, int]:
    """An agent's skills: ``{name: level}``, level 1 to 5."""
    if not isinstance(body, Mapping):
        raise InvalidRequest("the request body must be a JSON object of skill → level")
    if len(body) > MAX_SKILLS:
        raise _bad("skills", f"at most {MAX_SKILLS} skills")
    out: dict[str, int] = {}
    for name, level in body.items():
        if not isinstance(name, str) or not SKILL_RE.match(name):
            raise _bad(str(name)[:50], "skill names are 1 to 50 letters, digits, _ . -")
        out[name] = _int(level, name, MIN_LEVEL, MAX_LEVEL)
    return dict(sorted(out.items()))


def validate_required_skills(value: Any, field: str = "required_skills") -> list[dict[str, Any]]:
    """``[{"name": ..., "min_level": 1-5}]`` (min_level defaults to 1)."""
    if not isinstance(value, list) or len(value) > MAX_SKILLS:
        raise _bad(field, f"{field} must be a list of at most {MAX_SKILLS} skills")
    out: dict[str, int] = {}
    for item in value:
        if not isinstance(item, Mapping) or set(item) - {"name", "min_level"}:
            raise _bad(field, 'each required skill is {"name", "min_level"}')
        name = item.get("name")
        if not isinstance(name, str) or not SKILL_RE.match(name):
            raise _bad(field, "skill names are 1 to 50 letters, digits, _ . -")
        out[name] = max(out.get(name, 0), _int(item.get("min_level", 1), field, MIN_LEVEL, MAX_LEVEL))
    return [{"name": n, "min_level": level} for n, level in sorted(out.items())]


def qualifies(skills: Mapping[str, int], required: list[dict[str, Any]]) -> bool:
    """Whether an agent with ``skills`` may take work that requires ``required``."""
    return all(skills.get(r["name"], 0) >= r["min_level"] for r in required)


def _overflow(value: Any, queue: str) -> dict[str, Any]:
    if not isinstance(value, Mapping) or set(value) - {"queue", "after_seconds", "waiting_over"}:
        raise _bad("overflow", 'overflow is {"queue", "after_seconds" or "waiting_over"}')
    target = value.get("queue")
    if not isinstance(target, str) or not QUEUE_RE.match(target):
        raise _bad("overflow.queue", "overflow.queue must be a queue name")
    if target == queue:
        raise _bad("overflow.queue", "a queue cannot overflow into itself")
    out: dict[str, Any] = {"queue": target}
    if ("after_seconds" in value) == ("waiting_over" in value):
        raise _bad("overflow", "give exactly one of after_seconds and waiting_over")
    if "after_seconds" in value:
        out["after_seconds"] = _int(value["after_seconds"], "overflow.after_seconds", 1, MAX_OVERFLOW_AFTER_S)
    else:
        out["waiting_over"] = _int(value["waiting_over"], "overflow.waiting_over", 0, MAX_WAITING_OVER)
    return out


def _clock(text: Any, field: str) -> int:
    """Minutes since midnight of ``HH:MM`` (``24:00`` allowed as an end)."""
    m = _CLOCK_RE.match(text) if isinstance(text, str) else None
    if m is None or (m.group(1) == "24" and m.group(2) != "00"):
        raise _bad(field, f"{field} times are HH:MM")
    return int(m.group(1)) * 60 + int(m.group(2))


def _hours(value: Any) -> dict[str, Any]:
    if not isinstance(value, Mapping) or set(value) - {"timezone", "weekly", "holidays"}:
        raise _bad("hours", 'hours is {"timezone", "weekly", "holidays"}')
    tz = value.get("timezone", "UTC")
    try:
        if not isinstance(tz, str) or not tz:
            raise ValueError
        ZoneInfo(tz)
    except (ValueError, ZoneInfoNotFoundError):
        raise _bad("hours.timezone", "hours.timezone must be an IANA time zone name") from None
    weekly = value.get("weekly")
    if not isinstance(weekly, Mapping) or set(weekly) - set(DAYS):
        raise _bad("hours.weekly", 'hours.weekly maps mon..sun to lists of ["HH:MM", "HH:MM"]')
    week: dict[str, list[list[str]]] = {}
    for day in DAYS:
        spans = weekly.get(day, [])
        field = f"hours.weekly.{day}"
        if not isinstance(spans, list) or len(spans) > 10:
            raise _bad(field, f"{field} must be a list of at most 10 [start, end] pairs")
        out = []
        for span in spans:
            if not isinstance(span, list) or len(span) != 2:
                raise _bad(field, f"{field} must be a list of [start, end] pairs")
            start, end = _clock(span[0], field), _clock(span[1], field)
            if start >= end or start == 24 * 60:
                raise _bad(field, f"{field}: each start must come before its end")
            out.append([span[0], span[1]])
        week[day] = sorted(out)
    holidays = value.get("holidays", [])
    if not isinstance(holidays, list) or len(holidays) > 400:
        raise _bad("hours.holidays", "hours.holidays must be a list of at most 400 dates")
    days = set()
    for h in holidays:
        try:
            days.add(date.fromisoformat(h).isoformat())
        except (TypeError, ValueError):
            raise _bad("hours.holidays", "hours.holidays are dates, YYYY-MM-DD") from None
    return {"timezone": tz, "weekly": week, "holidays": sorted(days)}


def _closed_reply(value: Any) -> dict[str, str]:
    if not isinstance(value, Mapping) or len(value) > 50:
        raise _bad("closed_reply", "closed_reply maps locales to text")
    out = {}
    for locale, text in value.items():
        if not isinstance(locale, str) or not _LOCALE_RE.match(locale):
            raise _bad("closed_reply", "closed_reply keys are locales such as en or zh-TW")
        if not isinstance(text, str) or not text.strip() or len(text) > MAX_REPLY:
            raise _bad("closed_reply", f"closed_reply texts are 1 to {MAX_REPLY} characters")
        out[locale] = text
    return out


QUEUE_FIELDS = ("required_skills", "inactive_close_seconds", "overflow", "hours", "closed_reply")


def validate_queue(name: str, body: Any) -> dict[str, Any]:
    """A queue's policy as stored (every field present; null: not used)."""
    if not QUEUE_RE.match(name):
        raise _bad("name", "queue names are 1 to 100 letters, digits, _ . -")
    if not isinstance(body, Mapping):
        raise InvalidRequest("the request body must be a JSON object")
    extra = set(body) - set(QUEUE_FIELDS) - {"name"}
    if extra:
        raise _bad(sorted(extra)[0], f"unknown field {sorted(extra)[0]!r}")
    if body.get("name", name) != name:
        raise _bad("name", "name must match the path")
    inactive = body.get("inactive_close_seconds")
    policy: dict[str, Any] = {
        "name": name,
        "required_skills": validate_required_skills(body.get("required_skills") or []),
        "inactive_close_seconds": DEFAULT_INACTIVE_CLOSE_S
        if inactive is None
        else _int(inactive, "inactive_close_seconds", MIN_INACTIVE_CLOSE_S, MAX_INACTIVE_CLOSE_S),
        "overflow": None if body.get("overflow") is None else _overflow(body["overflow"], name),
        "hours": None if body.get("hours") is None else _hours(body["hours"]),
        "closed_reply": _closed_reply(body.get("closed_reply") or {}),
    }
    return policy


def closed_reply_text(replies: Mapping[str, str], locale: str | None) -> str | None:
    """The closed-hours reply for a customer whose messages were in ``locale``:
    that locale, else its language, else English, else the first one set."""
    if not replies:
        return None
    by_lower = {k.lower(): v for k, v in replies.items()}
    wanted = (locale or "").lower()
    language = wanted.split("-", 1)[0]
    for key in (wanted, language):
        if key and key in by_lower:
            return by_lower[key]
    for key, text in sorted(by_lower.items()):
        if language and key.split("-", 1)[0] == language:
            return text
    for key in ("en", "en-us"):
        if key in by_lower:
            return by_lower[key]
    return next(iter(replies.values()))


def default_queue(name: str) -> dict[str, Any]:
    """The policy of a queue nobody has set one for."""
    return validate_queue(name, {})


# -- operating hours ---------------------------------------------------------------------


def _spans(hours: Mapping[str, Any], day: date) -> list[tuple[int, int]]:
    if day.isoformat() in hours["holidays"]:
        return []
    return [(_clock(s, "hours"), _clock(e, "hours")) for s, e in hours["weekly"].get(DAYS[day.weekday()], [])]


def is_open(hours: Mapping[str, Any] | None, at: datetime) -> bool:
    """Whether a queue with these hours routes at ``at`` (aware). No hours: always."""
    if hours is None:
        return True
    local = at.astimezone(ZoneInfo(hours["timezone"]))
    minute = local.hour * 60 + local.minute
    return any(start <= minute < end for start, end in _spans(hours, local.date()))


def next_change(hours: Mapping[str, Any] | None, at: datetime) -> datetime | None:
    """When ``is_open`` next changes after ``at`` (to the minute, UTC), or None
    when it never does (no hours, or no open span in the next 400 days)."""
    if hours is None:
        return None
    tz = ZoneInfo(hours["timezone"])
    now_open = is_open(hours, at)
    local = at.astimezone(tz)
    for offset in range(0, 401):
        day = local.date() + timedelta(days=offset)
        edges = sorted({m for span in _spans(hours, day) for m in span} | {0, 24 * 60})
        for minute in edges:
            if minute >= 24 * 60:
                continue
            wall = datetime.combine(day, time(minute // 60, minute % 60), tzinfo=tz)
            if wall <= at:
                continue
            if is_open(hours, wall) != now_open:
                return wall.astimezone(ZoneInfo("UTC"))
    return None
