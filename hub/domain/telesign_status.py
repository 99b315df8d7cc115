"""TeleSign delivery status codes, as activity statuses (pure).

TeleSign reports a numeric ``status.code`` where Twilio sends a word. Final
failures keep TeleSign's code as the activity's error code, so reports and the
history say why. Which failures are ``failed`` and which ``undelivered``
follows Twilio's meaning of the two words: ``failed`` never left the provider
(blocked, unroutable content), ``undelivered`` reached the network but not the
handset, or nobody can say it did.
"""

from __future__ import annotations

from dataclasses import dataclass

from hub.domain.statuses import ActivityStatus


@dataclass(frozen=True)
class TelesignOutcome:
    status: ActivityStatus
    error_code: str = ""


# 290 message in progress, 291 queued, 292 queued at TeleSign's gateway.
IN_PROGRESS = frozenset({290, 291, 292})
# 203 delivered to the carrier's gateway; 295 sent to the carrier; 251 sent
# out for delivery but no handset receipt came back (TeleSign: "successfully
# sent out"), so it is sent, not failed, with the code kept for the record.
SENT = frozenset({203, 251, 295})
DELIVERED = frozenset({200})
UNDELIVERED = frozenset(
    {
        207,  # error delivering to the handset, reason unknown
        210,  # temporary phone error (off, memory full)
        211,  # permanent phone error
        220,  # gateway/network cannot route to the handset
        221,  # expired before delivery
        222,  # SMS not supported by phone, carrier or plan
        250,  # final status unknown
    }
)
FAILED = frozenset(
    {
        229,  # blocked at the customer's request
        230,  # blocked by TeleSign (global blocklist)
        231,  # invalid or unsupported content
        233,  # blocked for a high risk score
        237,  # blocked for the destination country
        238,  # blocked for the number prefix
    }
)


def _code(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    return None


def from_telesign_code(value: object) -> TelesignOutcome | None:
    """The activity status a TeleSign ``status.code`` means; ``None`` for codes
    that say nothing about delivery (unknown ones included)."""
    code = _code(value)
    if code is None:
        return None
    if code in DELIVERED:
        return TelesignOutcome(ActivityStatus.DELIVERED)
    if code in SENT:
        return TelesignOutcome(ActivityStatus.SENT, "251" if code == 251 else "")
    if code in IN_PROGRESS:
        return TelesignOutcome(ActivityStatus.SENDING)
    if code in UNDELIVERED:
        return TelesignOutcome(ActivityStatus.UNDELIVERED, str(code))
    if code in FAILED:
        return TelesignOutcome(ActivityStatus.FAILED, str(code))
    return None
