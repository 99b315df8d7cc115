"""Message templates: placeholders, locale choice, rendering and validation.

A template has one body per locale with ``{{ name }}`` placeholders. Rendering
is all-or-nothing: a message with an empty hole is worse than no message, so
any missing value rejects the contact (``MissingPlaceholder``).

Locale tags are compared loosely (case-insensitive, ``_`` == ``-``) but are
always returned exactly as spelled in the template, because that spelling is
the key into ``bodies`` and ``content_sids``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from hub.domain.segments import MAX_BODY_LENGTH
from hub.errors import InvalidRequest, MissingPlaceholder

PLACEHOLDER_RE = re.compile(r"\{\{\s*([A-Za-z0-9_.-]+)\s*\}\}")

# Plausible BCP 47 tag; deliberately loose (we match, we do not validate registries).
LOCALE_RE = re.compile(r"^[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8})*$")

CHANNEL_TYPES = frozenset({"sms", "whatsapp"})
MAX_NAME_LENGTH = 200


def placeholders(body: str) -> list[str]:
    """Placeholder names in first-appearance order, without duplicates."""
    return list(dict.fromkeys(PLACEHOLDER_RE.findall(body)))


def _locale_key(tag: str) -> str:
    return tag.strip().replace("_", "-").lower()


def _language(tag: str) -> str:
    return _locale_key(tag).split("-", 1)[0]


def _match_locale(available: list[str], wanted: str) -> str | None:
    """Exact match, else the bare language, else the first same-language tag (sorted)."""
    key = _locale_key(wanted)
    if not key:
        return None
    ordered = sorted(available, key=lambda tag: (_locale_key(tag), tag))
    for tag in ordered:
        if _locale_key(tag) == key:
            return tag
    language = key.split("-", 1)[0]
    same_language = [tag for tag in ordered if _language(tag) == language]
    for tag in same_language:
        if _locale_key(tag) == language:
            return tag
    return same_language[0] if same_language else None


def choose_locale(available: Iterable[str], requested: str | None, default_locale: str) -> str:
    """Pick the best key of ``available`` for ``requested``.

    Order: exact (case-insensitive, ``_`` or ``-``) -> same language (bare
    language first, e.g. ``zh-HK`` -> ``zh``, else the first of that language
    in sorted order, e.g. ``zh-TW``) -> ``default_locale``. The default itself
    goes through the same matching so the result is a real key whenever one
    fits; if none does, ``default_locale`` is returned unchanged.
    """
    tags = list(available)
    if requested:
        found = _match_locale(tags, requested)
        if found is not None:
            return found
    found = _match_locale(tags, default_locale)
    return found if found is not None else default_locale


def _is_missing(value: Any) -> bool:
    # Whitespace-only counts as missing too: it would render as a visible hole.
    return value is None or (isinstance(value, str) and not value.strip())


def render(body: str, values: Mapping[str, Any]) -> str:
    """Fill every placeholder of ``body`` from ``values``.

    Non-string values are converted with ``str()``. Replacement text is
    inserted literally, so a value containing ``{{x}}`` is not expanded again.
    Raises ``MissingPlaceholder`` listing every missing name at once, so the
    caller can fix the request in one go.
    """
    missing = [name for name in placeholders(body) if _is_missing(values.get(name))]
    if missing:
        raise MissingPlaceholder(
            f"missing value for placeholder(s): {', '.join(missing)}",
            details={"missing": missing},
        )
    return PLACEHOLDER_RE.sub(lambda m: str(values[m.group(1)]), body)


@dataclass(frozen=True)
class TemplateSpec:
    name: str
    channel_types: tuple[str, ...]
    default_locale: str
    bodies: dict[str, str]
    # WhatsApp approved template (Content API ``HX...`` sid) per locale; may be empty.
    content_sids: dict[str, str]


@dataclass(frozen=True)
class RenderedMessage:
    locale: str
    body: str
    content_sid: str | None
    # Content API variables: placeholder values in order of appearance, keyed "1", "2", ...
    content_variables: dict[str, str]


def _invalid(field: str, message: str) -> InvalidRequest:
    return InvalidRequest(message, details={"field": field})


def _check_locale_keys(field: str, mapping: Mapping[Any, Any]) -> dict[str, str]:
    """Return normalised-key -> key, rejecting implausible or ambiguous tags."""
    seen: dict[str, str] = {}
    for key in mapping:
        if not isinstance(key, str) or not LOCALE_RE.match(key):
            raise _invalid(field, f"{field}: {key!r} is not a valid locale tag")
        norm = _locale_key(key)
        if norm in seen:
            # Two spellings of one locale would make the choice depend on dict order.
            raise _invalid(field, f"{field}: {seen[norm]!r} and {key!r} are the same locale")
        seen[norm] = key
    return seen


def validate_template(data: Mapping[str, Any]) -> TemplateSpec:
    """Validate an API template body and return the spec.

    Raises ``InvalidRequest`` with ``details={"field": <name>}`` naming the
    first offending field (``"body"`` when the payload is not an object).
    Locale keys are kept as given; the name is stripped.
    """
    if not isinstance(data, Mapping):
        raise _invalid("body", "template must be a JSON object")

    name = data.get("name")
    if not isinstance(name, str) or not name.strip():
        raise _invalid("name", "name must be a non-empty string")
    name = name.strip()
    if len(name) > MAX_NAME_LENGTH:
        raise _invalid("name", f"name must be at most {MAX_NAME_LENGTH} characters")

    raw_channels = data.get("channel_types")
    if not isinstance(raw_channels, list) or not raw_channels:
        raise _invalid("channel_types", "channel_types must be a non-empty list")
    channels: list[str] = []
    for channel in raw_channels:
        if not isinstance(channel, str) or channel.strip().lower() not in CHANNEL_TYPES:
            raise _invalid("channel_types", f"channel_types: {channel!r} is not one of sms, whatsapp")
        channel = channel.strip().lower()
        if channel in channels:
            raise _invalid("channel_types", f"channel_types: {channel!r} is listed twice")
        channels.append(channel)

    default_locale = data.get("default_locale")
    if not isinstance(default_locale, str) or not LOCALE_RE.match(default_locale):
        raise _invalid("default_locale", "default_locale must be a locale tag such as 'en' or 'en-US'")

    bodies = data.get("bodies")
    if not isinstance(bodies, Mapping) or not bodies:
        raise _invalid("bodies", "bodies must be a non-empty object of locale -> text")
    body_keys = _check_locale_keys("bodies", bodies)
    for locale, text in bodies.items():
        if not isinstance(text, str) or not text.strip():
            raise _invalid("bodies", f"bodies[{locale!r}] must be a non-empty string")
        if len(text) > MAX_BODY_LENGTH:
            raise _invalid("bodies", f"bodies[{locale!r}] must be at most {MAX_BODY_LENGTH} characters")
        # A brace pair that is not a valid placeholder would be sent to customers verbatim.
        rest = PLACEHOLDER_RE.sub("", text)
        if "{{" in rest or "}}" in rest:
            raise _invalid("bodies", f"bodies[{locale!r}] has a malformed placeholder; use {{{{ name }}}}")
    if _locale_key(default_locale) not in body_keys:
        raise _invalid("default_locale", f"bodies has no text for default_locale {default_locale!r}")

    content_sids = data.get("content_sids")
    if content_sids is None:
        content_sids = {}
    if not isinstance(content_sids, Mapping):
        raise _invalid("content_sids", "content_sids must be an object of locale -> content sid")
    for norm, locale in _check_locale_keys("content_sids", content_sids).items():
        if norm not in body_keys:
            raise _invalid("content_sids", f"content_sids: no body for locale {locale!r}")
    for locale, sid in content_sids.items():
        if not isinstance(sid, str) or not sid.startswith("HX"):
            raise _invalid("content_sids", f"content_sids[{locale!r}] must be a content sid starting with 'HX'")

    return TemplateSpec(
        name=name,
        channel_types=tuple(channels),
        default_locale=default_locale,
        bodies=dict(bodies),
        content_sids=dict(content_sids),
    )


def render_for_contact(spec: TemplateSpec, locale: str | None, values: Mapping[str, Any]) -> RenderedMessage:
    """Render the best body for ``locale``, with Content API data when a sid exists for it."""
    chosen = choose_locale(spec.bodies, locale, spec.default_locale)
    body = spec.bodies[chosen]
    text = render(body, values)
    by_key = {_locale_key(key): sid for key, sid in spec.content_sids.items()}
    content_sid = by_key.get(_locale_key(chosen))
    variables: dict[str, str] = {}
    if content_sid is not None:
        variables = {str(i): str(values[name]) for i, name in enumerate(placeholders(body), start=1)}
    return RenderedMessage(locale=chosen, body=text, content_sid=content_sid, content_variables=variables)
