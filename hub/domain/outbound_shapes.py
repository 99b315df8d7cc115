"""What the outbound API answers, declared once (pure): the send answer, an
activity with its history, the delivery report, a contact's timeline and a
conversation.
/openapi.json publishes these Structs' JSON Schema (``shapes.components``);
the handlers build the same keys."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

import msgspec
from msgspec import UNSET, Meta, UnsetType

from hub.domain.catalog import CHANNEL_TYPES
from hub.domain.segments import MAX_BODY_LENGTH
from hub.domain.statuses import ActivityStatus

Count = Annotated[int, Meta(ge=0)]
Timestamp = Annotated[float, Meta(description="Unix time in seconds.")]
ChannelType = Literal[CHANNEL_TYPES]  # type: ignore[valid-type]
SendResultStatus = Literal["queued", "deferred", "skipped_no_optin", "skipped_opted_out", "rejected"]
# The codes of ``hub.errors.ContactError``'s kinds (tests check the two agree).
ContactErrorCode = Literal[
    "missing_field",
    "invalid_field",
    "channel_mismatch",
    "configuration_mismatch",
    "invalid_phone",
    "missing_relationship",
    "missing_placeholder",
]
Encoding = Annotated[
    Literal["GSM-7", "UCS-2"],
    Meta(
        description="SMS encoding of the rendered body: one character outside the GSM alphabet "
        "sends it all in UCS-2 (70 characters a segment, not 160)."
    ),
]
_SEGMENTS = "SMS segments the rendered body costs (providers bill by segment)."
SendAt = Annotated[
    str,
    Meta(
        description="When `deferred`: the instant (ISO 8601, UTC) the recipient's quiet hours open, "
        "when the hub sends it.",
        extra_json_schema={"format": "date-time"},
    ),
]


# -- segments ---------------------------------------------------------------------


class SegmentsRequest(msgspec.Struct):
    """POST /v1/templates/segments."""

    body: Annotated[str, Meta(min_length=1, max_length=MAX_BODY_LENGTH, description="A rendered body.")]
    refusals: ClassVar[dict[str, str]] = {"body": f"body must be 1 to {MAX_BODY_LENGTH} characters"}


class Segments(msgspec.Struct):
    """How a body is sent and billed."""

    encoding: Encoding
    segments: Annotated[int, Meta(ge=0, description=_SEGMENTS)]
    characters: Count
    ucs2_characters: Annotated[
        list[str], Meta(description="The characters that force UCS-2, in order of first use (empty for GSM-7).")
    ]


# -- the send answer ----------------------------------------------------------------


class ContactRejection(msgspec.Struct):
    """Why a contact was rejected."""

    code: ContactErrorCode
    message: str
    details: Any = UNSET


class SendResult(msgspec.Struct):
    """What became of one contact."""

    index: Annotated[int, Meta(ge=0, description="Position of the contact in the request.")]
    status: SendResultStatus
    activity_id: Annotated[str, Meta(description="Present unless `rejected`.")] | UnsetType = UNSET
    send_at: SendAt | UnsetType = UNSET
    encoding: Encoding | UnsetType = UNSET
    segments: (
        Annotated[int, Meta(ge=0, description=_SEGMENTS + " Present with `encoding` for SMS unless `rejected`.")]
        | UnsetType
    ) = UNSET
    error: Annotated[ContactRejection, Meta(description="Present when `rejected`.")] | UnsetType = UNSET


class SendAnswer(msgspec.Struct):
    """The 202 answer of a send request."""

    request_id: str
    results: Annotated[list[SendResult], Meta(description="One per contact, in order.")]


# -- activities -----------------------------------------------------------------------


class HistoryEvent(msgspec.Struct):
    """One status event of an activity."""

    status: ActivityStatus
    at: Timestamp
    source: Literal["hub", "worker", "provider", "callback"]
    error_code: Annotated[str, Meta(description="Provider error code.")] | UnsetType = UNSET
    provider_status: str | UnsetType = UNSET


class Retrying(msgspec.Struct):
    """Only while `sending` and waiting on a retry after the provider could not take
    it (unreachable, 429, 5xx): tried again until `HUB_SEND_RETRY_WINDOW` after the
    first attempt, then `failed` with the last error."""

    attempts: Annotated[int, Meta(ge=0, description="Provider attempts that failed and will be retried.")]
    next_at: Annotated[float, Meta(description="When the next attempt is due (Unix time in seconds).")]
    last_error: Annotated[
        str | None,
        Meta(
            description="The last failure's provider code (`unreachable`: no connection; `timeout`: no "
            "answer in time; `circuit_open`: held back, provider not called)."
        ),
    ]


class Activity(msgspec.Struct):
    """One message to one contact."""

    id: str
    org_id: str
    configuration_id: str
    request_id: str
    channel_id: str
    channel_type: ChannelType
    to: Annotated[str, Meta(description="E.164.")]
    from_: Annotated[str, Meta(description="E.164 sender.")] = msgspec.field(name="from")
    status: ActivityStatus
    created_at: Timestamp
    updated_at: Timestamp
    locale: Annotated[str | None, Meta(description="Template locale used.")] | UnsetType = UNSET
    body: Annotated[str | None, Meta(description="Rendered text; null once the customer was erased.")] | UnsetType = (
        UNSET
    )
    customer_name: str | None | UnsetType = UNSET
    case_name: str | None | UnsetType = UNSET
    entityrelationshipname: str | None | UnsetType = UNSET
    provider_message_id: str | None | UnsetType = UNSET
    error_code: Annotated[str | None, Meta(description="Provider error code.")] | UnsetType = UNSET
    delivered_at: Timestamp | None | UnsetType = UNSET
    send_at: (
        Annotated[
            str | None,
            Meta(
                description="Set when the recipient's quiet hours deferred it: when it was (or will be) "
                "released to send (ISO 8601, UTC).",
                extra_json_schema={"format": "date-time"},
            ),
        ]
        | UnsetType
    ) = UNSET
    content_sid: Annotated[str | None, Meta(description="WhatsApp approved template used, if any.")] | UnsetType = UNSET
    erased: (
        Annotated[
            Literal[True],
            Meta(
                description="Only once the customer was erased (`DELETE /v1/contacts/{phone}`): body and "
                "customer details are null."
            ),
        ]
        | UnsetType
    ) = UNSET
    encoding: Encoding | UnsetType = UNSET
    segments: Annotated[int, Meta(ge=0, description=_SEGMENTS + " SMS only.")] | UnsetType = UNSET
    retrying: Retrying | UnsetType = UNSET
    history: (
        Annotated[
            list[HistoryEvent],
            Meta(description="Every status event in arrival order (only on `GET /v1/outbound/activities/{id}`)."),
        ]
        | UnsetType
    ) = UNSET


# -- the report ---------------------------------------------------------------------

StatusCounts = msgspec.defstruct(
    "StatusCounts",
    [(status.value, Count, UNSET) for status in ActivityStatus],
    module=__name__,
)
StatusCounts.__doc__ = "Activities by status."
NonZeroCounts = Annotated[dict[str, int], Meta(description="Non-zero counts by status.")]
Rate = Annotated[float, Meta(ge=0)] | None


class SmsTotals(msgspec.Struct):
    """SMS messages and their segments."""

    messages: Annotated[
        int,
        Meta(description="SMS messages that left the hub (`sending` to `failed`: the delivery rate's denominator)."),
    ]
    segments: Annotated[
        int,
        Meta(
            description="Their SMS segments, the unit providers bill (messages archived before the hub "
            "recorded segments count 0)."
        ),
    ]


class Durations(msgspec.Struct):
    """How long, over the activities counted: a histogram's count, average and
    the upper bounds of the buckets holding the median and the 90th percentile
    (null past the last bucket)."""

    count: int
    average_seconds: float | None
    p50_seconds_at_most: float | None
    p90_seconds_at_most: float | None


class Replies(msgspec.Struct):
    """What customers answered."""

    delivered: Annotated[int, Meta(description="Activities delivered or read: the rates' denominator.")]
    replied: Annotated[
        int,
        Meta(
            description="Activities a customer answered within the correlation window (a conversation "
            "correlated to them opened)."
        ),
    ]
    reply_rate: Annotated[
        Rate,
        Meta(
            description="`replied` over `delivered` (null: none delivered; above 1 when replies come to "
            "messages whose receipt never came)."
        ),
    ]
    opted_out: Annotated[
        int, Meta(description="Activities answered by an opt-out keyword (STOP) within the correlation window.")
    ]
    opt_out_rate: Annotated[Rate, Meta(description="`opted_out` over `delivered`.")]
    conversations_opened: Annotated[
        int, Meta(description="Conversations opened in answer to the activities (a customer may open more than one).")
    ]
    time_to_first_reply: Durations


class HourRow(msgspec.Struct):
    """The activities created in one UTC hour."""

    hour: Annotated[
        str, Meta(description="UTC hour the activities were created in.", extra_json_schema={"format": "date-time"})
    ]
    counts: NonZeroCounts
    sms: SmsTotals
    replies: Replies


class TemplateRow(msgspec.Struct):
    """The activities rendered from one template."""

    template_id: str | None
    counts: NonZeroCounts
    sms: SmsTotals
    replies: Replies


class LocaleRow(msgspec.Struct):
    """The activities rendered in one locale (null: none recorded)."""

    locale: Annotated[str | None, Meta(examples=["es-MX"])]
    counts: NonZeroCounts
    sms: SmsTotals
    replies: Replies


class Report(msgspec.Struct):
    """A configuration's delivery report, over all history."""

    configuration_id: str
    total: int
    counts: StatusCounts  # type: ignore[valid-type]
    delivery_rate: (
        Annotated[float, Meta(ge=0, le=1, description="Delivered or read, over messages that left the hub.")] | None
    )
    time_to_deliver: Durations
    sms: SmsTotals
    replies: Replies
    by_hour: list[HourRow]
    by_template: Annotated[
        list[TemplateRow],
        Meta(
            description="Counts by the template each activity was rendered from (a configuration's template can change)."
        ),
    ]
    by_locale: Annotated[
        list[LocaleRow], Meta(description="Counts by the locale each body was rendered in (null: none recorded).")
    ]


# -- a contact's timeline -------------------------------------------------------------


class Media(msgspec.Struct):
    """An attachment."""

    url: Annotated[str, Meta(extra_json_schema={"format": "uri"})] | UnsetType = UNSET
    content_type: str | UnsetType = UNSET


class Message(msgspec.Struct):
    """One message of a conversation."""

    id: str
    direction: Annotated[
        Literal["inbound", "outbound", "system", "note"],
        Meta(description="`note`: an agent's internal note, never sent to the customer."),
    ]
    body: str
    at: Timestamp
    provider_message_id: str | UnsetType = UNSET
    media: (
        Annotated[
            list[Media],
            Meta(
                description="Attachments. Inbound: the provider's media links and content types; outbound: "
                "the https links an agent's reply attached (content type from the file extension, "
                "empty when unknown)."
            ),
        ]
        | UnsetType
    ) = UNSET
    profile_name: Annotated[str, Meta(description="WhatsApp profile name of the customer.")] | UnsetType = UNSET
    agent_id: Annotated[str, Meta(description="Outbound and note: the agent who replied or wrote it.")] | UnsetType = (
        UNSET
    )
    client_id: Annotated[str, Meta(description="Outbound and note: the console's id for the command.")] | UnsetType = (
        UNSET
    )
    status: Annotated[str, Meta(description="Outbound: delivery status.")] | UnsetType = UNSET
    template_id: (
        Annotated[str, Meta(description="Outbound: the template an agent sent (the `template` command).")] | UnsetType
    ) = UNSET
    locale: Annotated[str, Meta(description="Outbound from a template: the locale it was rendered in.")] | UnsetType = (
        UNSET
    )
    error_code: str | UnsetType = UNSET


class AnsweredActivity(msgspec.Struct):
    """The outbound activity the customer answers (once it has left Redis, an
    older one than the latest may show only its id, case and time)."""

    id: str
    body: str | UnsetType = UNSET
    configuration_id: str | UnsetType = UNSET
    configuration_name: str | None | UnsetType = UNSET
    case_name: str | UnsetType = UNSET
    customer_name: str | UnsetType = UNSET
    sent_at: Timestamp | UnsetType = UNSET
    locale: str | UnsetType = UNSET


class Correlation(msgspec.Struct):
    """Which outbound activity the conversation answers and how the hub found it."""

    activity_id: str
    method: Annotated[
        Literal["provider_context", "content_match", "latest"],
        Meta(
            description="`provider_context`: the provider said which message is answered (a WhatsApp "
            "quoted reply); `content_match`: the reply names that message's case or another of its "
            "configuration's `correlation_keys`, and other recent messages went to the customer; "
            "`latest`: the latest message sent to the customer on this channel within the correlation "
            "window."
        ),
    ]


class Conversation(msgspec.Struct):
    """A customer's thread with the org's agents."""

    id: str
    customer: Annotated[str, Meta(description="Customer phone number.")]
    channel_id: str
    status: Literal["waiting", "assigned", "closed"]
    agent_id: str | None
    queue: str
    correlated: Annotated[bool, Meta(description="Whether it answers an outbound activity.")]
    created_at: Timestamp
    activity: AnsweredActivity | None
    correlation: Annotated[Correlation | None, Meta(description="`null` when it answers none.")]
    channel_type: ChannelType | UnsetType = UNSET
    previous_conversation_id: (
        Annotated[str | None, Meta(description="The closed conversation this one follows.")] | UnsetType
    ) = UNSET
    messages: Annotated[list[Message], Meta(description="Only on `GET /v1/conversations/{id}`.")] | UnsetType = UNSET
    priority: (
        Annotated[int, Meta(ge=0, le=100, description="Waiting order: higher first, then oldest (default 50).")]
        | UnsetType
    ) = UNSET
    close_reason: (
        Annotated[
            str,
            Meta(
                description="Why the hub closed it: `inactive` (no customer message for the queue's "
                "`inactive_close_seconds`), `erased`; absent when an agent closed it."
            ),
        ]
        | UnsetType
    ) = UNSET
    whatsapp_window_closes_at: (
        Annotated[
            float,
            Meta(
                description="Open WhatsApp conversations: when free text stops being allowed (24 h after "
                "the customer's last message on this channel); after it, only an approved template (the "
                "agent's `template` command)."
            ),
        ]
        | UnsetType
    ) = UNSET


class ActivityItem(msgspec.Struct, tag_field="kind", tag="activity"):
    """An outbound activity of a configuration shown in the timeline."""

    at: Timestamp
    activity: Activity


class MessageItem(msgspec.Struct, tag_field="kind", tag="message"):
    """A message of a conversation with the contact."""

    at: Timestamp
    conversation_id: str
    message: Message


TimelineItem = Annotated[
    ActivityItem | MessageItem,
    Meta(description="An outbound activity (of a configuration shown in the timeline) or a conversation message."),
]
