"""A contact's consent through the API, declared once (pure): the opt-out or
opt-in body ``POST /v1/contacts/{phone}/consent`` takes, and what the consent
and erasure calls answer. /openapi.json publishes these Structs' JSON Schema."""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal, get_args

import msgspec
from msgspec import Meta

Action = Literal["opt_in", "opt_out"]
ACTIONS: tuple[str, ...] = get_args(Action)
Count = Annotated[int, Meta(ge=0)]
Timestamp = Annotated[float, Meta(description="Unix time in seconds.")]


class ConsentInput(msgspec.Struct, forbid_unknown_fields=True):
    """An opt-out or opt-in of one channel, recorded with source `api`."""

    channel_id: Annotated[str, Meta(min_length=1)]
    action: Action
    refusals: ClassVar[dict[str, str]] = {
        "channel_id": "channel_id is required",
        "action": "action must be opt_in or opt_out",
    }


class ConsentEntry(msgspec.Struct):
    """One change in the consent ledger."""

    id: Annotated[str, Meta(description="The entry's place in the ledger; the cursor of a page ends at it.")]
    phone: Annotated[
        str | None,
        Meta(description="E.164; null once the customer was erased (the entry stays, found by the number's hash)."),
    ]
    channel_id: str
    action: Action
    source: Annotated[
        Literal["keyword", "api", "send_request"],
        Meta(
            description="`keyword`: the customer's STOP/START-type message; `api`: "
            "`POST /v1/contacts/{phone}/consent`; `send_request`: a send request's `optin: true`, "
            "recorded when the ledger's last word for the number and channel was not already an opt-in."
        ),
    ]
    at: Timestamp
    message_id: Annotated[str | None, Meta(description="Keyword: the hub's id of the customer's message.")] = None
    provider_message_id: Annotated[
        str | None, Meta(description="Keyword: the provider's id of the customer's message.")
    ] = None
    activity_id: Annotated[str | None, Meta(description="Send request: the activity that carried the opt-in.")] = None
    actor: Annotated[str | None, Meta(description="API: who asked (`api_key:` and the start of the key's hash).")] = (
        None
    )


class ErasedCounts(msgspec.Struct):
    """What an erasure erased."""

    activities: Annotated[Count, Meta(description="Activities whose body and customer details were erased.")]
    conversations: Annotated[Count, Meta(description="Conversations deleted.")]
    messages: Annotated[Count, Meta(description="Conversation messages deleted.")]
    opt_outs_kept: Annotated[
        Count, Meta(description="Channels the customer stays opted out of (kept as the number's hash).")
    ]
    activities_in_flight: Annotated[
        Count,
        Meta(
            description="Activities still queued, deferred or sending, left whole: they go out as "
            "accepted. Erase again once they are sent."
        ),
    ]


class ChannelConsent(msgspec.Struct):
    """The current state on one channel."""

    channel_id: str
    opted_out: bool


class PastErasure(msgspec.Struct):
    """One erasure of the number."""

    at: Timestamp
    requested_by: str
    erased: ErasedCounts


class Consent(msgspec.Struct):
    """A contact's consent: the state per channel, past erasures and a page of the ledger."""

    phone: Annotated[str, Meta(description="E.164.")]
    channels: Annotated[list[ChannelConsent], Meta(description="The current state on each of the org's channels.")]
    erasures: Annotated[list[PastErasure], Meta(description="Erasures of this number, newest first (at most 20).")]
    items: Annotated[
        list[ConsentEntry],
        Meta(
            description="The ledger, newest first. An entry shows a few seconds after the change (it is "
            "written to the history by the archiver)."
        ),
    ]
    next_cursor: Annotated[str | None, Meta(description="Pass as `cursor` for the next page; null on the last page.")]


class Erasure(msgspec.Struct):
    """What `DELETE /v1/contacts/{phone}` erased."""

    phone: Annotated[str, Meta(description="E.164.")]
    erased: ErasedCounts
