"""The org's records as typed values: channels, templates, configurations,
canned responses and orgs.

They are read from and written to JSON in hub/storage alone (``from_json``,
``to_json``); everything else uses their attributes. ``to_json`` writes the
stored form the hub has always written, and ``from_json`` reads any record
stored before, taking the defaults for fields it lacks and leaving out those
it does not know. ``public()`` is what the API answers.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from hub.domain.correlation import DEFAULT_KEYS
from hub.domain.reply_templates import approved_whatsapp
from hub.domain.routing_policy import DEFAULT_PRIORITY
from hub.domain.templates import TemplateSpec

JSON = dict[str, Any]


def _optional(out: JSON, **fields: Any) -> JSON:
    """``out`` with the fields that are set (a field left out of a record is absent, not null)."""
    out.update({k: v for k, v in fields.items() if v is not None})
    return out


@dataclass(frozen=True, slots=True)
class Channel:
    """A provider account and sender address. Credentials are write-only."""

    id: str
    org_id: str
    created_at: float
    type: str  # sms or whatsapp
    provider: str  # twilio, telesign or sandbox
    address: str
    credentials: Mapping[str, str] = field(default_factory=dict)
    api_base_url: str | None = None
    name: str | None = None
    messages_per_second: float | None = None
    keyword_replies: str | None = None  # None: auto

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> Channel:
        return cls(
            id=raw["id"],
            org_id=raw["org_id"],
            created_at=raw["created_at"],
            type=raw["type"],
            provider=raw["provider"],
            address=raw["address"],
            credentials=dict(raw.get("credentials") or {}),
            api_base_url=raw.get("api_base_url"),
            name=raw.get("name"),
            messages_per_second=raw.get("messages_per_second"),
            keyword_replies=raw.get("keyword_replies"),
        )

    def to_json(self) -> JSON:
        return _optional(
            self._fields(credentials=dict(self.credentials)),
            api_base_url=self.api_base_url,
            name=self.name,
            messages_per_second=self.messages_per_second,
            keyword_replies=self.keyword_replies,
        )

    def public(self) -> JSON:
        """Says which credentials are set, never their values."""
        out = self.to_json()
        out["credentials"] = {k: "set" for k in self.credentials}
        return out

    def _fields(self, **more: Any) -> JSON:
        return {
            "id": self.id,
            "org_id": self.org_id,
            "created_at": self.created_at,
            "type": self.type,
            "provider": self.provider,
            "address": self.address,
            **more,
        }


@dataclass(frozen=True, slots=True)
class Template:
    """A message's text per locale, and its approved WhatsApp content per locale."""

    id: str
    org_id: str
    created_at: float
    name: str
    channel_types: tuple[str, ...]
    default_locale: str
    bodies: Mapping[str, str]
    content_sids: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> Template:
        return cls(
            id=raw["id"],
            org_id=raw["org_id"],
            created_at=raw["created_at"],
            name=raw["name"],
            channel_types=tuple(raw["channel_types"]),
            default_locale=raw["default_locale"],
            bodies=dict(raw["bodies"]),
            content_sids=dict(raw.get("content_sids") or {}),
        )

    @classmethod
    def from_spec(cls, spec: TemplateSpec, *, id: str, org_id: str, created_at: float) -> Template:
        return cls(
            id=id,
            org_id=org_id,
            created_at=created_at,
            name=spec.name,
            channel_types=tuple(spec.channel_types),
            default_locale=spec.default_locale,
            bodies=dict(spec.bodies),
            content_sids=dict(spec.content_sids),
        )

    def to_json(self) -> JSON:
        return {
            "id": self.id,
            "org_id": self.org_id,
            "created_at": self.created_at,
            "name": self.name,
            "channel_types": list(self.channel_types),
            "default_locale": self.default_locale,
            "bodies": dict(self.bodies),
            "content_sids": dict(self.content_sids),
        }

    def public(self) -> JSON:
        return self.to_json()

    def spec(self) -> TemplateSpec:
        return TemplateSpec(
            name=self.name,
            channel_types=self.channel_types,
            default_locale=self.default_locale,
            bodies=dict(self.bodies),
            content_sids=dict(self.content_sids),
        )

    @property
    def approved_whatsapp(self) -> bool:
        """Whether it can be offered once a WhatsApp window has closed (the
        one rule, in ``hub.domain.reply_templates``)."""
        return approved_whatsapp({"channel_types": self.channel_types, "content_sids": self.content_sids})


@dataclass(frozen=True, slots=True)
class Configuration:
    """How an outbound message goes: which channel and template, where replies wait."""

    id: str
    org_id: str
    created_at: float
    name: str
    channel_type: str
    channel_id: str
    template_id: str
    show_in_timeline: bool = False
    queue: str = "default"
    # None: the org's quiet hours apply; False: any hour; else the window's public form.
    quiet_hours: Mapping[str, Any] | bool | None = None
    correlation_keys: tuple[str, ...] = DEFAULT_KEYS
    priority: int = DEFAULT_PRIORITY
    required_skills: tuple[Mapping[str, Any], ...] = ()

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> Configuration:
        quiet = raw.get("quiet_hours")
        return cls(
            id=raw["id"],
            org_id=raw["org_id"],
            created_at=raw["created_at"],
            name=raw["name"],
            channel_type=raw["channel_type"],
            channel_id=raw["channel_id"],
            template_id=raw["template_id"],
            show_in_timeline=bool(raw.get("show_in_timeline", False)),
            queue=raw.get("queue") or "default",
            quiet_hours=dict(quiet) if isinstance(quiet, Mapping) else quiet,
            correlation_keys=tuple(raw.get("correlation_keys", DEFAULT_KEYS)),
            priority=raw.get("priority", DEFAULT_PRIORITY),
            required_skills=tuple(dict(s) for s in raw.get("required_skills") or ()),
        )

    def to_json(self) -> JSON:
        out: JSON = {
            "id": self.id,
            "org_id": self.org_id,
            "created_at": self.created_at,
            "name": self.name,
            "show_in_timeline": self.show_in_timeline,
            "channel_type": self.channel_type,
            "channel_id": self.channel_id,
            "template_id": self.template_id,
            "queue": self.queue,
            "correlation_keys": list(self.correlation_keys),
            "priority": self.priority,
            "required_skills": [dict(s) for s in self.required_skills],
        }
        if self.quiet_hours is not None:
            out["quiet_hours"] = dict(self.quiet_hours) if isinstance(self.quiet_hours, Mapping) else self.quiet_hours
        return out

    def public(self) -> JSON:
        return self.to_json()


@dataclass(frozen=True, slots=True)
class CannedResponse:
    """A text an agent picks in the console instead of typing it."""

    id: str
    org_id: str
    created_at: float
    title: str
    body: str

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> CannedResponse:
        return cls(
            id=raw["id"], org_id=raw["org_id"], created_at=raw["created_at"], title=raw["title"], body=raw["body"]
        )

    def to_json(self) -> JSON:
        return {
            "id": self.id,
            "org_id": self.org_id,
            "created_at": self.created_at,
            "title": self.title,
            "body": self.body,
        }

    def public(self) -> JSON:
        return self.to_json()


@dataclass(frozen=True, slots=True)
class Org:
    """A tenant: its limits, where its numbers are, when it does not send.
    Its API key is kept as a hash (hub.storage.orgs)."""

    id: str
    name: str
    created_at: float
    limits: Mapping[str, int]
    default_region: str = "US"
    quiet_hours: Mapping[str, Any] | None = None  # the window's public form; None: any hour
    api_key_hash: str | None = None
    partitions: int = 1  # outbound partitions (hub.domain.partitions); set at creation only

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> Org:
        quiet = raw.get("quiet_hours")
        return cls(
            id=raw["id"],
            name=raw["name"],
            created_at=raw["created_at"],
            limits=dict(raw["limits"]),
            default_region=raw.get("default_region") or "US",
            quiet_hours=dict(quiet) if quiet else None,
            api_key_hash=raw.get("api_key_hash"),
            partitions=int(raw.get("partitions") or 1),
        )

    def to_json(self) -> JSON:
        return _optional(self.public(), api_key_hash=self.api_key_hash)

    def public(self) -> JSON:
        """Everything but the key's hash (``partitions`` only when above 1)."""
        out: JSON = {
            "id": self.id,
            "name": self.name,
            "limits": dict(self.limits),
            "default_region": self.default_region,
            "created_at": self.created_at,
            "quiet_hours": dict(self.quiet_hours) if self.quiet_hours else None,
        }
        if self.partitions > 1:
            out["partitions"] = self.partitions
        return out
