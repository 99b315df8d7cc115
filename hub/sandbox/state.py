"""In-memory state of the sandbox provider: accounts, messages, rules, counters.

Pure data and decisions, no I/O (the app and the callback sender do the HTTP).
Creates run thousands of times a second in benchmarks, so they stick to dict work.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any

from hub.domain.segments import count_segments

API_VERSION = "2010-04-01"
DEFAULT_ERROR_CODE = "30003"
CREATE_ACTIONS = frozenset({"http_error", "refuse", "timeout", "store_then_timeout"})
# Status sequence posted per callback mode; failed/undelivered carry the error code.
CALLBACK_PLANS: dict[str, tuple[str, ...]] = {
    "normal": ("sent", "delivered"),
    "none": (),
    "fail": ("failed",),
    "undelivered": ("sent", "undelivered"),
    "out_of_order": ("delivered", "sent"),
    "duplicate": ("sent", "sent", "delivered", "delivered"),
    "read": ("sent", "delivered", "read"),
}
# Later statuses never go back to earlier ones, whatever order callbacks go out in.
STATUS_RANK = {
    "queued": 0,
    "sending": 1,
    "sent": 2,
    "delivered": 3,
    "undelivered": 3,
    "failed": 3,
    "read": 4,
    "received": 0,
}
ERROR_MESSAGES = {
    20003: "Authenticate",
    20404: "The requested resource was not found",
    20429: "Too Many Requests",
    20500: "Internal Server Error",
    20503: "Service Unavailable",
    21211: "The 'To' number is not a valid phone number.",
    21602: "Message body is required.",
    21603: "A 'From' phone number is required.",
    21604: "A 'To' phone number is required.",
    21610: "Attempt to send to unsubscribed recipient",
    21614: "'To' number is not a valid mobile number",
    21656: "The ContentVariables Parameter is invalid.",
    30003: "Unreachable destination handset",
    30005: "Unknown destination handset",
    30006: "Landline or unreachable carrier",
    30008: "Unknown error",
    63016: "Failed to send freeform message because you are outside the allowed window.",
}


def new_sid(prefix: str = "SM") -> str:
    return prefix + os.urandom(16).hex()


def error_body(code: int, status: int, message: str | None = None) -> dict[str, Any]:
    """Twilio's REST error shape; the twilio library reads `code` and `message`."""
    return {
        "code": code,
        "message": message or ERROR_MESSAGES.get(code, "Error"),
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }


def _is_json_object(text: str) -> bool:
    try:
        return isinstance(json.loads(text), dict)
    except ValueError:
        return False


@dataclass(slots=True)
class Rule:
    id: str
    action: str
    to: str | None
    times: int | None
    params: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "action": self.action, "to": self.to, "times": self.times, **self.params}


@dataclass(slots=True)
class RuleOutcome:
    """A create that does not simply answer 201: an error, or a delayed answer."""

    action: str
    status: int = 400
    body: dict[str, Any] | None = None
    retry_after: int | None = None
    seconds: float = 0.0
    stored: StoredMessage | None = None


@dataclass(slots=True)
class StoredMessage:
    seq: int
    account_sid: str
    resource: dict[str, Any]
    sent_at: float
    status_callback: str | None = None
    media_urls: list[str] = field(default_factory=list)
    content_sid: str | None = None
    content_variables: str | None = None
    mode: str = "normal"
    error_code: str = DEFAULT_ERROR_CODE
    delay_ms: int | None = None

    def control_view(self) -> dict[str, Any]:
        return {
            **self.resource,
            "status_callback": self.status_callback,
            "media_urls": self.media_urls,
            "content_sid": self.content_sid,
            "content_variables": self.content_variables,
        }


@dataclass(slots=True)
class Settings:
    callbacks_enabled: bool = True
    default_delay_ms: int = 0


class SandboxState:
    def __init__(self) -> None:
        self.accounts: dict[str, str] = {}
        # Account id (Twilio sid or TeleSign customer id) -> the org that holds
        # it, when the sandbox is mounted in a hub (see hub.sandbox.access).
        self.owners: dict[str, str] = {}
        self.messages: dict[str, StoredMessage] = {}
        self.by_account: dict[str, list[StoredMessage]] = {}
        self.rules: list[Rule] = []
        self.settings = Settings()
        self.created = self.callbacks_sent = self.callbacks_failed = self.inbound_sent = 0
        self._seq = 0
        # Decoded Authorization header -> account sid, so creates skip base64 work.
        self.auth_cache: dict[str, str] = {}
        self._date_second = -1
        self._date_str = ""

    def add_account(self, account_sid: str, auth_token: str) -> None:
        self.accounts[account_sid] = auth_token
        self.auth_cache.clear()  # a changed token must invalidate cached headers

    def authenticate(self, account_sid: str, auth_token: str) -> bool:
        return auth_token is not None and self.accounts.get(account_sid) == auth_token

    def add_rule(self, spec: dict[str, Any]) -> Rule:
        spec = dict(spec)
        action = spec.pop("action", None)
        if action not in CREATE_ACTIONS and action != "callbacks":
            raise ValueError(f"unknown action {action!r}")
        if action == "callbacks" and spec.get("mode", "normal") not in CALLBACK_PLANS:
            raise ValueError(f"unknown callback mode {spec.get('mode')!r}")
        times = spec.pop("times", None)
        rule = Rule(new_sid("RL"), action, spec.pop("to", None), None if times is None else int(times), spec)
        self.rules.append(rule)
        return rule

    def clear_rules(self) -> None:
        self.rules.clear()

    def match_rule(self, to: str, callbacks: bool = False) -> Rule | None:
        """First rule of the kind with times left whose `to` matches; uses one time.

        Create-path and callback rules match separately: a standing callback rule
        must not hide a one-off error rule."""
        bare = to[9:] if to.startswith("whatsapp:") else to
        for rule in self.rules:
            if (rule.action == "callbacks") != callbacks:
                continue
            if rule.to is not None and rule.to != to and rule.to != bare:
                continue
            if rule.times is not None:
                if rule.times <= 0:
                    continue
                rule.times -= 1
            return rule
        return None

    def _now(self) -> tuple[float, str]:
        now = time.time()
        second = int(now)
        if second != self._date_second:  # formatting dates is the costliest step
            self._date_second = second
            self._date_str = format_datetime(datetime.fromtimestamp(second, UTC))
        return now, self._date_str

    def create_message(
        self, account_sid: str, fields: dict[str, str], media_urls: list[str]
    ) -> StoredMessage | RuleOutcome:
        to, from_, service = fields.get("To"), fields.get("From"), fields.get("MessagingServiceSid")
        body, content_sid = fields.get("Body"), fields.get("ContentSid")
        variables = fields.get("ContentVariables")
        code = (
            21604
            if not to
            else 21603
            if not (from_ or service)
            else 21602
            if not (body or content_sid or media_urls)
            else 21656
            if variables and not _is_json_object(variables)
            else 0
        )
        if code or not to:
            return RuleOutcome("refuse", 400, error_body(code, 400))
        rule = self.match_rule(to) if self.rules else None
        outcome: RuleOutcome | None = None
        if rule is not None:
            outcome = self._outcome(rule)
            if outcome.action != "store_then_timeout":
                return outcome
        stored = self._store(
            account_sid,
            to,
            from_,
            body or "",
            service,
            fields.get("StatusCallback"),
            media_urls,
            "outbound-api",
            "queued",
        )
        stored.content_sid, stored.content_variables = content_sid, variables
        cb_rule = self.match_rule(to, callbacks=True) if self.rules else None
        if cb_rule is not None:
            stored.mode = cb_rule.params.get("mode", "normal")
            stored.error_code = str(cb_rule.params.get("error_code", DEFAULT_ERROR_CODE))
            stored.delay_ms = cb_rule.params.get("delay_ms")
        self.created += 1
        if outcome is not None:
            outcome.stored = stored
            return outcome
        return stored

    def _outcome(self, rule: Rule) -> RuleOutcome:
        p = rule.params
        if rule.action == "http_error":
            status = int(p.get("status", 500))
            code = int(p.get("code", {429: 20429, 503: 20503}.get(status, 20500)))
            ra = p.get("retry_after")
            return RuleOutcome(
                "http_error",
                status,
                error_body(code, status, p.get("message")),
                retry_after=None if ra is None else int(ra),
            )
        if rule.action == "refuse":
            status, code = int(p.get("status", 400)), int(p.get("code", 21211))
            return RuleOutcome("refuse", status, error_body(code, status, p.get("message")))
        return RuleOutcome(rule.action, 201, seconds=float(p.get("seconds", 30)))

    def _store(
        self,
        account_sid: str,
        to: str,
        from_: str | None,
        body: str,
        service: str | None,
        status_callback: str | None,
        media_urls: list[str],
        direction: str,
        status: str,
        sid: str | None = None,
    ) -> StoredMessage:
        now, date = self._now()
        sid = sid or new_sid()
        resource: dict[str, Any] = {
            "sid": sid,
            "status": status,
            "account_sid": account_sid,
            "messaging_service_sid": service,
            "from": from_,
            "to": to,
            "body": body,
            "num_segments": str(count_segments(body).segments),
            "num_media": str(len(media_urls)),
            "direction": direction,
            "date_created": date,
            "date_sent": date,
            "date_updated": date,
            "error_code": None,
            "error_message": None,
            "price": None,
            "price_unit": "USD",
            "api_version": API_VERSION,
            "subresource_uris": {},
            "uri": f"/{API_VERSION}/Accounts/{account_sid}/Messages/{sid}.json",
        }
        self._seq += 1
        stored = StoredMessage(self._seq, account_sid, resource, now, status_callback, media_urls)
        self.messages[sid] = stored
        self.by_account.setdefault(account_sid, []).append(stored)
        return stored

    def record_outbound(
        self, account: str, to: str, from_: str | None, body: str, status_callback: str | None, sid: str
    ) -> StoredMessage:
        """A message sent through another provider's API (TeleSign), in the same store."""
        self.created += 1
        return self._store(account, to, from_, body, None, status_callback, [], "outbound-api", "queued", sid)

    def record_inbound(
        self, account_sid: str, from_: str, to: str, body: str, media_urls: list[str], sid: str
    ) -> StoredMessage:
        return self._store(account_sid, to, from_, body, None, None, media_urls, "inbound", "received", sid)

    def get_message(self, account_sid: str, sid: str) -> StoredMessage | None:
        stored = self.messages.get(sid)
        return stored if stored is not None and stored.account_sid == account_sid else None

    def list_messages(
        self,
        account_sid: str,
        to: str | None = None,
        from_: str | None = None,
        sent_after: float | None = None,
        sent_before: float | None = None,
        before_seq: int | None = None,
        limit: int | None = None,
    ) -> list[StoredMessage]:
        """Newest first, like Twilio; `before_seq` continues a previous page stably."""
        out: list[StoredMessage] = []
        for m in reversed(self.by_account.get(account_sid, ())):
            r = m.resource
            if (
                before_seq is not None
                and m.seq >= before_seq
                or to is not None
                and r["to"] != to
                or from_ is not None
                and r["from"] != from_
                or sent_after is not None
                and m.sent_at < sent_after
                or sent_before is not None
                and m.sent_at >= sent_before
            ):
                continue
            out.append(m)
            if limit is not None and len(out) >= limit:
                break
        return out

    def callback_plan(self, stored: StoredMessage) -> list[tuple[str, str | None]]:
        code = stored.error_code
        return [
            (status, code if status in ("failed", "undelivered") else None)
            for status in CALLBACK_PLANS.get(stored.mode, CALLBACK_PLANS["normal"])
        ]

    def apply_status(self, stored: StoredMessage, status: str, error_code: str | None) -> None:
        r = stored.resource
        if STATUS_RANK.get(status, 0) < STATUS_RANK.get(r["status"], 0):
            return
        r["status"], r["date_updated"] = status, self._now()[1]
        if error_code is not None:
            numeric = int(error_code) if error_code.isdigit() else 0
            r["error_code"] = numeric or error_code
            r["error_message"] = ERROR_MESSAGES.get(numeric, f"Message {status}")

    def reset_messages(self) -> None:
        self.messages, self.by_account = {}, {}
        self.created = self.callbacks_sent = self.callbacks_failed = self.inbound_sent = 0

    def stats(self) -> dict[str, Any]:
        by_to: dict[str, int] = {}
        for m in self.messages.values():  # computed on demand to keep creates cheap
            if m.resource["direction"] == "outbound-api":
                to = m.resource["to"]
                by_to[to] = by_to.get(to, 0) + 1
        return {
            "created": self.created,
            "by_to": by_to,
            "callbacks_sent": self.callbacks_sent,
            "callbacks_failed": self.callbacks_failed,
            "inbound_sent": self.inbound_sent,
        }
