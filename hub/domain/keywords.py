"""Carrier-style keywords in inbound messages (STOP, START, HELP).

Only a message that is exactly a keyword counts: "stop please" or "don't
stop" is a conversation for an agent, not an opt-out.
"""

from __future__ import annotations

from enum import StrEnum

from hub.domain.records import Channel


class Keyword(StrEnum):
    OPT_OUT = "opt_out"
    OPT_IN = "opt_in"
    HELP = "help"

    # Lower-case aliases (same members), matching the stored values.
    opt_out = OPT_OUT
    opt_in = OPT_IN
    help = HELP


# The standard carrier keyword sets (Twilio's default opt-out handling uses the same words).
_KEYWORDS: dict[str, Keyword] = {
    **dict.fromkeys(("stop", "stopall", "unsubscribe", "cancel", "end", "quit", "revoke", "optout"), Keyword.OPT_OUT),
    **dict.fromkeys(("start", "yes", "unstop"), Keyword.OPT_IN),
    **dict.fromkeys(("help", "info"), Keyword.HELP),
}


def classify_keyword(body: str | None) -> Keyword | None:
    """The keyword the whole message is, ignoring case, surrounding space and a trailing ``.``/``!``."""
    if not isinstance(body, str):
        return None
    text = body.strip().rstrip(".!").strip()
    return _KEYWORDS.get(text.casefold())


# The one reply an opt-out or an opt-in gets (carriers expect exactly one).
# Twilio's own default wording, so a customer reads the same whatever the
# provider.
OPT_OUT_CONFIRMATION = (
    "You have successfully been unsubscribed. You will not receive any more messages "
    "from this number. Reply START to resubscribe."
)
OPT_IN_CONFIRMATION = (
    "You have successfully been re-subscribed to messages from this number. "
    "Reply HELP for help. Reply STOP to unsubscribe."
)
CONFIRMATIONS = {Keyword.OPT_OUT: OPT_OUT_CONFIRMATION, Keyword.OPT_IN: OPT_IN_CONFIRMATION}

# Who answers STOP and START on a channel (its ``keyword_replies``).
KEYWORD_REPLIES = ("auto", "hub", "provider")


def provider_confirms_opt_out(provider: str, channel_type: str) -> bool:
    """Whether the provider itself answers STOP and START: Twilio does on SMS
    (its default opt-out handling, and Advanced Opt-Out on a Messaging
    Service; it refuses later sends with 21610), not on WhatsApp; TeleSign
    and the sandbox leave it to the hub."""
    return provider == "twilio" and channel_type == "sms"


def hub_confirms(channel: Channel) -> bool:
    """Whether the hub sends the confirmation on this channel: ``hub`` always,
    ``provider`` never (the provider answers), ``auto`` (the default) unless
    the provider answers by itself."""
    setting = channel.keyword_replies or "auto"
    if setting == "auto":
        return not provider_confirms_opt_out(channel.provider, channel.type)
    return setting == "hub"
