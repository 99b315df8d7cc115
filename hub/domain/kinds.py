"""The kinds of catalogue record, each with its own rules in one place.

A kind says what its records are called (stored under that name, and
named in messages), how their ids start, how a request body becomes one
(``validate``), and how configurations depend on it: which field of a
configuration names a record of this kind (such a record cannot be deleted)
and what a changed record must keep for the configurations using it.
Storage and the API follow the kind; neither asks which kind it is.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from hub.domain.catalog import (
    channel_suits,
    template_suits,
    validate_canned,
    validate_channel,
    validate_configuration,
)
from hub.domain.catalog_shapes import (
    CannedResponseInput,
    CannedResponsePatch,
    ChannelInput,
    ChannelPatch,
    OutboundConfigurationInput,
    OutboundConfigurationPatch,
    TemplateInput,
)
from hub.domain.records import CannedResponse, Channel, Configuration, Template
from hub.domain.shapes import convert
from hub.domain.templates import validate_template


class Record(Protocol):
    """What storage needs of a record."""

    @property
    def id(self) -> str: ...

    @property
    def created_at(self) -> float: ...

    def to_json(self) -> dict[str, Any]: ...

    def public(self) -> dict[str, Any]: ...


R = TypeVar("R", bound=Record)


@dataclass(frozen=True, slots=True)
class Stamp:
    """What the hub gives a record when it is created and keeps through changes."""

    id: str
    org_id: str
    created_at: float

    def json(self) -> dict[str, Any]:
        return {"id": self.id, "org_id": self.org_id, "created_at": self.created_at}


@dataclass(frozen=True, slots=True)
class UrlRule:
    """The operator's exceptions to the provider URL rule (hub.domain.provider_urls)."""

    allowed_hosts: Collection[str] = ()
    trusted_urls: Collection[str] = ()


# A body (and the record it changes, for a PATCH) made a record, or InvalidRequest.
Validate = Callable[[Any, R | None, Stamp, UrlRule], R]


@dataclass(frozen=True, slots=True)
class Kind(Generic[R]):
    name: str  # stored under this name; "no such <label>" in messages
    label: str
    prefix: str  # of its ids
    from_json: Callable[[Mapping[str, Any]], R]
    validate: Validate[R]
    # The configuration field naming a record of this kind: in use, it cannot be deleted.
    named_by: Callable[[Configuration], str] | None = None
    # Raises InvalidRequest when a changed record no longer suits a configuration using it.
    suits: Callable[[Configuration, R], None] | None = None
    # Webhooks name a channel alone: storage keeps which org it belongs to.
    found_by_id_alone: bool = False


# Each body is checked against its declaration (hub.domain.catalog_shapes)
# first, then against the kind's own rules (what a schema cannot say).


def _channel(body: Any, current: Channel | None, stamp: Stamp, urls: UrlRule) -> Channel:
    convert(body, ChannelPatch if current else ChannelInput)
    fields = validate_channel(
        body,
        current.to_json() if current else None,
        allowed_hosts=urls.allowed_hosts,
        trusted_urls=urls.trusted_urls,
    )
    return Channel.from_json({**fields, **stamp.json()})


def _template(body: Any, _current: Template | None, stamp: Stamp, _urls: UrlRule) -> Template:
    # A template is always given whole (a PATCH too).
    convert(body, TemplateInput)
    return Template.from_spec(validate_template(body), id=stamp.id, org_id=stamp.org_id, created_at=stamp.created_at)


def _configuration(body: Any, current: Configuration | None, stamp: Stamp, _urls: UrlRule) -> Configuration:
    convert(body, OutboundConfigurationPatch if current else OutboundConfigurationInput)
    fields = validate_configuration(body, current.to_json() if current else None)
    return Configuration.from_json({**fields, **stamp.json()})


def _canned(body: Any, current: CannedResponse | None, stamp: Stamp, _urls: UrlRule) -> CannedResponse:
    convert(body, CannedResponsePatch if current else CannedResponseInput)
    fields = validate_canned(body, current.to_json() if current else None)
    return CannedResponse.from_json({**fields, **stamp.json()})


CHANNELS: Kind[Channel] = Kind(
    "channel",
    "channel",
    "ch",
    Channel.from_json,
    _channel,
    named_by=lambda config: config.channel_id,
    suits=channel_suits,
    found_by_id_alone=True,
)
TEMPLATES: Kind[Template] = Kind(
    "template",
    "template",
    "tpl",
    Template.from_json,
    _template,
    named_by=lambda config: config.template_id,
    suits=template_suits,
)
CONFIGURATIONS: Kind[Configuration] = Kind(
    "configuration", "configuration", "cfg", Configuration.from_json, _configuration
)
CANNED_RESPONSES: Kind[CannedResponse] = Kind("canned", "canned response", "cr", CannedResponse.from_json, _canned)
