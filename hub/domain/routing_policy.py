"""Routing policy of a queue (pure): priority, skills, inactivity close,
overflow and operating hours; their bodies, declared once.

The routing scripts apply the same rules in Lua (routing_lib.lua); what is
here validates what admins send and is the reference the tests read.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime, time, timedelta
from typing import Annotated, Any, ClassVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import msgspec
from msgspec import UNSET, Meta, UnsetType

from hub.domain import shapes
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
_LOCALE_RE = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$")
MAX_REPLY = MAX_BODY_LENGTH


# -- bodies, declared once -----------------------------------------------------------
# These Structs are what ``validate_*`` check bodies against and what
# /openapi.json publishes. Rules a JSON Schema cannot say are in their
# docstrings and checked below: a queue does not overflow into itself, a
# span starts before it ends, hours.timezone is a known zone, the name in a
# body is the name in the path.

_TEXT = r"\S"  # at least one character that is not white space
_CLOCK = r"^([01][0-9]|2[0-3]):[0-5][0-9]$|^24:00$"
SkillName = Annotated[str, Meta(pattern=SKILL_RE.pattern, description="Skill name.", examples=["spanish"])]
Level = Annotated[int, Meta(ge=MIN_LEVEL, le=MAX_LEVEL)]
QueueName = Annotated[str, Meta(pattern=QUEUE_RE.pattern)]
Clock = Annotated[str, Meta(pattern=_CLOCK, description="`HH:MM`, local time in `timezone`; an end may be `24:00`.")]
Spans = Annotated[list[tuple[Clock, Clock]], Meta(max_length=10)]
Locale = Annotated[str, Meta(pattern=_LOCALE_RE.pattern)]
InactiveClose = Annotated[
    int,
    Meta(
        ge=MIN_INACTIVE_CLOSE_S,
        le=MAX_INACTIVE_CLOSE_S,
        description="An open conversation with no customer message for this long closes with `close_reason: inactive`.",
        extra_json_schema={"default": DEFAULT_INACTIVE_CLOSE_S},
    ),
]
ClosedReply = Annotated[
    dict[Locale, Annotated[str, Meta(min_length=1, max_length=MAX_REPLY, pattern=_TEXT)]],
    Meta(
        max_length=50,
        description="Locale → text sent once to a customer who opens a conversation while the queue is closed.",
    ),
]
AgentSkills = Annotated[
    dict[SkillName, Level],
    Meta(max_length=MAX_SKILLS, description="Skill → level, 1 to 5; replaces the agent's skills."),
]


class RequiredSkill(msgspec.Struct, forbid_unknown_fields=True):
    name: SkillName
    min_level: Level = 1


RequiredSkills = Annotated[
    list[RequiredSkill],
    Meta(max_length=MAX_SKILLS, description="Only agents with these skills take the queue's conversations."),
]


class Overflow(msgspec.Struct, forbid_unknown_fields=True):
    """Exactly one of `after_seconds` and `waiting_over`; `queue` is another
    queue. Moved conversations keep their priority and arrival order."""

    queue: Annotated[str, Meta(pattern=QUEUE_RE.pattern, description="The queue to move to.")]
    after_seconds: (
        Annotated[int, Meta(ge=1, le=MAX_OVERFLOW_AFTER_S, description="A conversation waiting this long moves.")]
        | UnsetType
    ) = UNSET
    waiting_over: (
        Annotated[
            int,
            Meta(ge=0, le=MAX_WAITING_OVER, description="With more than this many waiting, the last ones move."),
        ]
        | UnsetType
    ) = UNSET


class WeeklyHours(msgspec.Struct, forbid_unknown_fields=True):
    """Open spans (`[start, end]`, start before end) per weekday; a day not named is closed."""

    mon: Spans = []
    tue: Spans = []
    wed: Spans = []
    thu: Spans = []
    fri: Spans = []
    sat: Spans = []
    sun: Spans = []


class OperatingHours(msgspec.Struct, forbid_unknown_fields=True):
    """Operating hours: outside them the queue assigns nothing; conversations
    wait and are assigned when it opens. `timezone` is an IANA name."""

    weekly: WeeklyHours
    timezone: Annotated[str, Meta(description="IANA name; default UTC.", examples=["Europe/Paris"])] = "UTC"
    holidays: Annotated[list[date], Meta(max_length=400, description="Dates (local) the queue stays closed.")] = []


class QueueInput(msgspec.Struct, forbid_unknown_fields=True):
    """A queue's whole routing policy (`PUT /v1/queues/{name}`); absent fields take their defaults."""

    name: Annotated[str, Meta(description="If given, the name in the path.")] | UnsetType = UNSET
    required_skills: RequiredSkills | None = None
    inactive_close_seconds: InactiveClose | None = None
    overflow: Overflow | None = None
    hours: OperatingHours | None = None
    closed_reply: ClosedReply | None = None
    refusals: ClassVar[dict[str, str]] = {
        "inactive_close_seconds": f"inactive_close_seconds must be an integer from {MIN_INACTIVE_CLOSE_S} "
        f"to {MAX_INACTIVE_CLOSE_S}",
        "required_skills": f'required_skills is a list of at most {MAX_SKILLS} {{"name", "min_level": 1-5}}',
        "overflow.queue": "overflow.queue must be a queue name",
        "hours.weekly": 'hours.weekly maps mon..sun to lists of at most 10 ["HH:MM", "HH:MM"] pairs',
        "hours.holidays": "hours.holidays must be a list of at most 400 dates, YYYY-MM-DD",
        "closed_reply": f"closed_reply maps locales such as en or zh-TW to texts of 1 to {MAX_REPLY} characters",
    }


class Queue(msgspec.Struct):
    """A queue and its routing policy (the defaults when none was set)."""

    name: QueueName
    required_skills: RequiredSkills
    inactive_close_seconds: InactiveClose
    overflow: Overflow | None
    hours: OperatingHours | None
    closed_reply: ClosedReply
    configured: Annotated[bool, Meta(description="Whether a policy was set (else the defaults).")]
    waiting: Annotated[int, Meta(ge=0, description="Conversations waiting now.")]
    open: Annotated[bool, Meta(description="Within its operating hours now (always without hours).")]


class ConversationPatch(msgspec.Struct, forbid_unknown_fields=True):
    """`PATCH /v1/conversations/{id}`."""

    priority: Annotated[int, Meta(ge=0, le=MAX_PRIORITY)]
    refusals: ClassVar[dict[str, str]] = {"priority": f"priority must be an integer from 0 to {MAX_PRIORITY}"}


# -- checks ---------------------------------------------------------------------------


def _bad(field: str, message: str) -> InvalidRequest:
    return InvalidRequest(message, details={"field": field})


def _object(body: Any) -> None:
    if not isinstance(body, Mapping):
        raise InvalidRequest("the request body must be a JSON object")


def waiting_score(priority: int, arrival_ms: int) -> int:
    """Where a waiting conversation sorts in its queue (lowest first)."""
    return (MAX_PRIORITY - priority) * BAND + arrival_ms


def validate_priority(value: Any, field: str = "priority") -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_PRIORITY:
        raise _bad(field, f"{field} must be an integer from 0 to {MAX_PRIORITY}")
    return value


def validate_conversation_patch(body: Any) -> int:
    """``PATCH /v1/conversations/{id}``: ``{"priority": 0-100}``; the priority."""
    _object(body)
    return shapes.convert(body, ConversationPatch).priority


def validate_agent_skills(body: Any) -> dict[str, int]:
    """An agent's skills: ``{name: level}``, level 1 to 5; a refusal names the skill."""
    if not isinstance(body, Mapping):
        raise InvalidRequest("the request body must be a JSON object of skill → level")
    if len(body) > MAX_SKILLS:
        raise _bad("skills", f"at most {MAX_SKILLS} skills")
    for name, level in body.items():  # msgspec names no key of a map: one entry at a time
        try:
            msgspec.convert({name: level}, AgentSkills)
        except msgspec.ValidationError as exc:
            if "`key`" in str(exc):
                raise _bad(str(name)[:50], "skill names are 1 to 50 letters, digits, _ . -") from None
            raise _bad(str(name)[:50], f"{name} must be an integer from {MIN_LEVEL} to {MAX_LEVEL}") from None
    return dict(sorted(msgspec.convert(body, AgentSkills).items()))


def _merged(skills: list[RequiredSkill]) -> list[dict[str, Any]]:
    out: dict[str, int] = {}
    for skill in skills:
        out[skill.name] = max(out.get(skill.name, 0), skill.min_level)
    return [{"name": n, "min_level": level} for n, level in sorted(out.items())]


def validate_required_skills(value: Any, field: str = "required_skills") -> list[dict[str, Any]]:
    """``[{"name": ..., "min_level": 1-5}]`` (min_level defaults to 1)."""
    try:
        return _merged(msgspec.convert(value, RequiredSkills))
    except msgspec.ValidationError:
        raise _bad(field, f'{field} is a list of at most {MAX_SKILLS} {{"name", "min_level": 1-5}}') from None


def qualifies(skills: Mapping[str, int], required: list[dict[str, Any]]) -> bool:
    """Whether an agent with ``skills`` may take work that requires ``required``."""
    return all(skills.get(r["name"], 0) >= r["min_level"] for r in required)


def _clock(text: str) -> int:
    """Minutes since midnight of ``HH:MM`` (``24:00`` as an end)."""
    return int(text[:2]) * 60 + int(text[3:])


def _hours(hours: OperatingHours) -> dict[str, Any]:
    try:
        if not hours.timezone:
            raise ValueError
        ZoneInfo(hours.timezone)
    except (ValueError, ZoneInfoNotFoundError):
        raise _bad("hours.timezone", "hours.timezone must be an IANA time zone name") from None
    week: dict[str, list[list[str]]] = {}
    for day in DAYS:
        field = f"hours.weekly.{day}"
        spans = [list(span) for span in getattr(hours.weekly, day)]
        if any(_clock(start) >= _clock(end) for start, end in spans):
            raise _bad(field, f"{field}: each start must come before its end")
        week[day] = sorted(spans)
    return {
        "timezone": hours.timezone,
        "weekly": week,
        "holidays": sorted({d.isoformat() for d in hours.holidays}),
    }


QUEUE_FIELDS = ("required_skills", "inactive_close_seconds", "overflow", "hours", "closed_reply")


def validate_queue(name: str, body: Any) -> dict[str, Any]:
    """A queue's policy as stored (every field present; null: not used)."""
    if not QUEUE_RE.match(name):
        raise _bad("name", "queue names are 1 to 100 letters, digits, _ . -")
    _object(body)
    given = shapes.convert(body, QueueInput)
    if given.name is not UNSET and given.name != name:
        raise _bad("name", "name must match the path")
    overflow = given.overflow
    if overflow is not None:
        if overflow.queue == name:
            raise _bad("overflow.queue", "a queue cannot overflow into itself")
        if (overflow.after_seconds is UNSET) == (overflow.waiting_over is UNSET):
            raise _bad("overflow", "give exactly one of after_seconds and waiting_over")
    return {
        "name": name,
        "required_skills": _merged(given.required_skills or []),
        "inactive_close_seconds": given.inactive_close_seconds or DEFAULT_INACTIVE_CLOSE_S,
        "overflow": None if overflow is None else msgspec.to_builtins(overflow),
        "hours": None if given.hours is None else _hours(given.hours),
        "closed_reply": dict(given.closed_reply or {}),
    }


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
    return [(_clock(s), _clock(e)) for s, e in hours["weekly"].get(DAYS[day.weekday()], [])]


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
