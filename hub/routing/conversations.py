"""Conversation services: inbound replies, routing commands, agent replies.

An agent's reply is recorded and queued as a job in one script; the outbound
workers send it (hub.services.dispatch), with their retries and crash recovery."""

from __future__ import annotations

import functools
import json
import secrets
import time
from dataclasses import dataclass
from typing import Any

from hub.domain import partitions
from hub.domain.correlation import content_match
from hub.domain.keywords import Keyword, classify_keyword
from hub.domain.media import check_channel_media, media_items
from hub.domain.phones import normalize_phone
from hub.domain.records import Channel
from hub.domain.reply_templates import render_reply_template
from hub.domain.routing_policy import closed_reply_text
from hub.domain.templates import RenderedMessage
from hub.errors import (
    Conflict,
    Forbidden,
    HubError,
    InvalidPhone,
    InvalidRequest,
    NotFound,
    RecipientOptedOut,
    WhatsAppWindowClosed,
)
from hub.logs import get_logger
from hub.providers.base import InboundMessage
from hub.services import history
from hub.services.confirmations import KeywordConfirmations
from hub.services.context import Hub

log = get_logger("hub.routing")

_OUTCOME_ERRORS: dict[str, HubError] = {
    "missing": NotFound("no such conversation"),
    "not_yours": Forbidden("this conversation is not assigned to you", code="not_your_conversation"),
    "closed": Conflict("this conversation is closed", code="conversation_closed"),
    "recipient_opted_out": RecipientOptedOut("the customer opted out of this channel"),
    "whatsapp_window_closed": WhatsAppWindowClosed(
        "more than 24 hours since the customer's last message: only an approved template may be sent"
    ),
    "agent_unavailable": Conflict("that agent is not available or is at capacity", code="agent_unavailable"),
    "no_agent": NotFound("no such agent", code="agent_not_found"),
}


def _raise_for(outcome: str) -> None:
    error = _OUTCOME_ERRORS.get(outcome)
    if error is not None:
        raise type(error)(error.message, code=error.code)


def now_ms() -> int:
    return int(time.time() * 1000)


@functools.lru_cache(maxsize=65536)
def customer_number(raw: str) -> str:
    """The customer's E.164 number; cached, since customers write more than once
    and parsing a number is a sizeable part of a webhook's cost."""
    number = raw.split(":", 1)[1] if raw.startswith("whatsapp:") else raw
    try:
        return normalize_phone(number, "US")
    except InvalidPhone:
        return number  # keep what the provider gave (short codes, alphanumeric senders)


@dataclass(frozen=True)
class Rendered:
    template_id: str
    message: RenderedMessage


class Conversations:
    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self.store = hub.conversations
        self.confirmations = KeywordConfirmations(hub)

    async def ingest(
        self, channel: Channel, inbound: InboundMessage, received_ms: int | None = None
    ) -> tuple[str, str, str]:
        """Store and route one inbound message (``received_ms``: when the webhook
        came, for one replayed from the journal)."""
        keyword = classify_keyword(inbound.body)
        at = received_ms or now_ms()
        customer = customer_number(inbound.from_)
        message = {
            "id": "msg_" + secrets.token_hex(8),
            "direction": "inbound",
            "body": inbound.body,
            "at": at / 1000,
            "provider_message_id": inbound.provider_id,
            "media": [{"url": u, "content_type": t} for u, t in inbound.media],
        }
        if inbound.extra.get("ProfileName"):
            message["profile_name"] = inbound.extra["ProfileName"]
        ingest = functools.partial(
            self.store.ingest,
            channel.org_id,
            provider_id=inbound.provider_id,
            channel_id=channel.id,
            channel_type=channel.type,
            customer=customer,
            message=message,
            now_ms=at,
            keyword=str(keyword) if keyword else "",
            new_id="conv_" + secrets.token_hex(10),
            retention_s=self.hub.settings.retention_s,
            default_queue="default",
            replied_to=inbound.extra.get("OriginalRepliedMessageSid", ""),
            since_ms=at - self.hub.settings.correlation_window_s * 1000,
        )
        if self.hub.board.partitioned(channel.org_id):
            # What was sent to the contact lives in the contact's partition.
            org = await self.hub.orgs.load(channel.org_id)
            if org is not None and org.partitions > 1:
                unit = partitions.unit(org.id, partitions.contact_partition(org.partitions, channel.id, customer))
                snapshot = await self.store.correlation_snapshot(
                    unit, channel.id, customer, inbound.extra.get("OriginalRepliedMessageSid", "")
                )
                ingest = functools.partial(ingest, correlation=snapshot)
        result = await ingest()
        for _ in range(2):  # the script may ask for each of these once; nothing is stored until then
            if isinstance(result, list):
                # Several recent messages, and nothing else says which is answered:
                # the text decides (the next call is atomic again on its own).
                ingest = functools.partial(ingest, named_activity=content_match(inbound.body, result) or "")
            elif result[0] == "need_hash":  # the channel holds erased customers' opt-outs
                ingest = functools.partial(ingest, customer_hash=await self.hub.consent.hash(channel.org_id, customer))
            else:
                break
            result = await ingest()
        assert isinstance(result, tuple)
        if keyword in (Keyword.OPT_OUT, Keyword.OPT_IN) and result[0] != "duplicate":
            self.confirmations.confirm(channel, customer, keyword)
            self._archive(channel.org_id)  # the ledger entry
        if result[0] in ("created", "appended"):
            self._archive(channel.org_id)
            self.hub.board.poke(channel.org_id, "policy")  # its inactivity deadline moved
        if result[0] == "created" and not result[2]:
            await self._closed_hours_reply(channel.org_id, result[1], at)
        return result

    async def _closed_hours_reply(self, org_id: str, conversation_id: str, at: int) -> None:
        """A conversation opened while its queue is outside its hours: the
        queue's closed-hours reply, once (the conversation's own client id
        makes a second one a duplicate), in the customer's locale."""
        found = await self.store.views(org_id, [conversation_id], messages=False)
        if not found or not await self.hub.queues.closed(org_id, found[0]["queue"]):
            return
        policy = await self.hub.queues.load(org_id, found[0]["queue"])
        locale = ((found[0].get("activity") or {}).get("locale")) or None
        text = closed_reply_text((policy or {}).get("closed_reply") or {}, locale)
        if text is None:
            return
        message = {
            "id": "msg_" + secrets.token_hex(8),
            "direction": "outbound",
            "body": text,
            "at": at / 1000,
            "auto_reply": "closed_hours",
        }
        result = await self.store.reply(
            org_id,
            "",
            conversation_id,
            "closed:" + conversation_id,
            json.dumps(message),
            at,
            self.hub.settings.retention_s,
        )
        if result[0] == "ok":
            self.hub.board.announce(org_id, "replies")
            self._archive(org_id)

    async def set_presence(self, org_id: str, agent_id: str, presence: str) -> None:
        outcome = await self.store.set_presence(org_id, agent_id, presence, now_ms=now_ms())
        self._archive(org_id)  # conversations it was given or gave back
        _raise_for(outcome)

    async def update_agent(self, org_id: str, agent_id: str, capacity: int | None, queues: list[str] | None) -> None:
        """New capacity and/or queues; the agent is offered waiting work at once."""
        outcome = await self.store.update_agent(org_id, agent_id, capacity=capacity, queues=queues, now_ms=now_ms())
        self._archive(org_id)
        if outcome == "deactivated":
            raise Conflict("this agent is deactivated", details={"field": "id"})
        if outcome == "missing":
            raise NotFound("no such agent")

    async def deactivate_agent(self, org_id: str, agent_id: str) -> int:
        """Offline for good: its open conversations go back to their queues (how many)."""
        moved = await self.store.deactivate_agent(org_id, agent_id, now_ms=now_ms())
        self._archive(org_id)
        if moved is None:
            raise NotFound("no such agent")
        return moved

    async def close(self, org_id: str, conversation_id: str, actor: str, reason: str = "") -> None:
        outcome = await self.store.close(org_id, conversation_id, actor=actor, now_ms=now_ms(), reason=reason)
        self._archive(org_id)
        await self._refuse(org_id, conversation_id, outcome)

    async def transfer(
        self, org_id: str, conversation_id: str, actor: str, agent_id: str | None, queue: str | None
    ) -> None:
        if agent_id and await self.hub.agents.load(org_id, agent_id) is None:
            raise NotFound("no such agent", code="agent_not_found")
        if queue and not await self.queue_exists(org_id, queue):
            raise NotFound(
                "no such queue: no agent serves it and no configuration routes to it",
                code="queue_not_found",
                details={"field": "queue"},
            )
        outcome = await self.store.transfer(
            org_id, conversation_id, actor=actor, to_agent=agent_id, to_queue=queue, now_ms=now_ms()
        )
        self._archive(org_id)
        self.hub.board.poke(org_id, "policy")  # the queue may overflow after a wait
        await self._refuse(org_id, conversation_id, outcome)

    async def queue_exists(self, org_id: str, queue: str) -> bool:
        """A queue exists while it has a policy (``PUT /v1/queues/{name}``), an
        agent of the org serves it or a configuration routes replies to it; anything else would strand what is sent there."""
        if await self.hub.queues.load(org_id, queue) is not None:
            return True
        if any(queue in json.loads(a.get("queues") or "[]") for a in await self.hub.agents.all(org_id)):
            return True
        after: float | None = None
        while True:
            configs, after = await self.hub.configurations.page(org_id, after=after, limit=500)
            if any(c.queue == queue for c in configs):
                return True
            if after is None:
                return False

    async def reply(
        self,
        org_id: str,
        agent_id: str,
        conversation_id: str,
        client_id: str,
        body: str,
        *,
        template: Rendered | None = None,
        media: tuple[str, ...] = (),
    ) -> str:
        """``media``: checked https URLs (hub.domain.media) the provider attaches."""
        if media:
            await self._check_media(org_id, agent_id, conversation_id, len(media))
        at = now_ms()
        message: dict[str, Any] = {
            "id": "msg_" + secrets.token_hex(8),
            "direction": "outbound",
            "body": body,
            "at": at / 1000,
            "agent_id": agent_id,
            "client_id": client_id,
        }
        extra: dict[str, str] = {}
        if media:
            message["media"] = media_items(media)
            extra["media"] = json.dumps(list(media))
        if template is not None:
            message.update(template_id=template.template_id, locale=template.message.locale)
            if template.message.content_sid:
                extra = {
                    "content_sid": template.message.content_sid,
                    "content_vars": json.dumps(template.message.content_variables),
                }
        result = await self.store.reply(
            org_id,
            agent_id,
            conversation_id,
            client_id,
            json.dumps(message),
            at,
            self.hub.settings.retention_s,
            **extra,
        )
        await self._refuse(org_id, conversation_id, result[0])
        # ok or duplicate: the message id. The send is a job in the org's
        # replies stream (see hub.services.dispatch): its workers look now.
        self.hub.board.announce(org_id, "replies")
        self._archive(org_id)
        return str(result[1])

    async def _check_media(self, org_id: str, agent_id: str, conversation_id: str, count: int) -> None:
        """Whether the conversation's channel can send ``count`` attachments
        (a missing, closed or another agent's conversation is left to the reply script to refuse)."""
        found = await self.store.views(org_id, [conversation_id], messages=False)
        if not found or found[0].get("agent_id") != agent_id or found[0].get("status") == "closed":
            return
        channel = await self.hub.channels.load(org_id, found[0]["channel_id"])
        check_channel_media(channel.provider if channel else "", str(found[0].get("channel_type") or ""), count)

    async def send_template(
        self, org_id: str, agent_id: str, conversation_id: str, client_id: str, template_id: str, values: dict[str, str]
    ) -> str:
        """One of the org's templates as a reply, in the customer's locale (the
        locale their outbound message was written in, with the usual fallback).
        On WhatsApp it must be approved for that locale (a content sid): it is
        then sent by its content sid, also once the 24-hour window has closed."""
        found = await self.store.views(org_id, [conversation_id], messages=False)
        if not found:
            await self._refuse(org_id, conversation_id, "missing")
        conv = found[0]
        if conv.get("agent_id") != agent_id:
            _raise_for("not_yours")
        template = await self.hub.templates.load(org_id, template_id)
        if template is None:
            raise NotFound("no such template", code="template_not_found", details={"field": "template_id"})
        rendered = render_reply_template(template.spec(), conv, values)
        return await self.reply(
            org_id, agent_id, conversation_id, client_id, rendered.body, template=Rendered(template_id, rendered)
        )

    async def note(
        self, org_id: str, agent_id: str, conversation_id: str, client_id: str, body: str, *, supervisor: bool = False
    ) -> str:
        """An internal note: stored and shown with the conversation, never sent.
        A supervisor's (a whisper) may go on any open conversation of the org."""
        at = now_ms()
        message = {
            "id": "msg_" + secrets.token_hex(8),
            "direction": "note",
            "body": body,
            "at": at / 1000,
            "agent_id": agent_id,
            "client_id": client_id,
        }
        if supervisor:
            message["author_role"] = "supervisor"
        result = await self.store.note(
            org_id, agent_id, conversation_id, client_id, json.dumps(message), at, supervisor=supervisor
        )
        await self._refuse(org_id, conversation_id, result[0])
        self._archive(org_id)
        return str(result[1])

    async def set_priority(self, org_id: str, conversation_id: str, priority: int) -> None:
        """A waiting conversation takes its new place in its queue at once."""
        outcome = await self.store.set_priority(org_id, conversation_id, priority, now_ms=now_ms())
        self._archive(org_id)
        await self._refuse(org_id, conversation_id, outcome)

    def archive(self, org_id: str) -> None:
        self._archive(org_id)

    def _archive(self, org_id: str) -> None:
        """A conversation script may have put changes on the archive stream:
        this process's archiver looks soon."""
        self.hub.board.poke(org_id, "archive")

    async def _refuse(self, org_id: str, conversation_id: str, outcome: str) -> None:
        if outcome == "missing" and await history.conversations(self.hub, org_id, [conversation_id], messages=False):
            outcome = "closed"  # only a closed conversation leaves Redis (for SQL)
        _raise_for(outcome)

    async def aclose(self) -> None:
        await self.confirmations.aclose()

    async def get(self, org_id: str, conversation_id: str) -> dict[str, Any]:
        found = await history.conversation(self.hub, org_id, conversation_id)
        if found is None:
            raise NotFound("no such conversation")
        return found

    async def page(
        self, org_id: str, status: str | None, cursor: str | None, limit: int
    ) -> tuple[list[dict[str, Any]], str | None]:
        if status is not None and status not in ("waiting", "assigned", "closed"):
            raise InvalidRequest("status must be waiting, assigned or closed", details={"field": "status"})
        return await history.conversations_page(self.hub, org_id, status=status, cursor=cursor, limit=limit)
