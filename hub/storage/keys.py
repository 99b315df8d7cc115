"""Every Redis key the hub uses, built in one place.

Keys of one org carry the org id as a hash tag (``hub:{org}:...``) so that the
Lua scripts, which touch several of them at once, keep working on a Redis
Cluster. The few global keys are single-key lookups (API key → org, channel →
org) that never take part in a multi-key script.
"""

from __future__ import annotations

PREFIX = "hub"


def org_prefix(org_id: str) -> str:
    """Prefix shared by every key of one org; scripts build keys from it."""
    return f"{PREFIX}:{{{org_id}}}"


# -- global lookups -------------------------------------------------------------

def orgs_index() -> str:
    return f"{PREFIX}:orgs"


def api_key(key_hash: str) -> str:
    return f"{PREFIX}:apikey:{key_hash}"


def channel_owner(channel_id: str) -> str:
    return f"{PREFIX}:channel-org:{channel_id}"


def workers_heartbeat() -> str:
    return f"{PREFIX}:workers"


# -- per org ---------------------------------------------------------------------

def org(org_id: str) -> str:
    return f"{org_prefix(org_id)}:org"


def record(org_id: str, kind: str, record_id: str) -> str:
    """A catalogue record (channel, template, configuration, ...) as JSON."""
    return f"{org_prefix(org_id)}:{kind}:{record_id}"


def records(org_id: str, kind: str) -> str:
    """Sorted set of a kind's record ids by creation time."""
    return f"{org_prefix(org_id)}:{kind}s"


def activity(org_id: str, activity_id: str) -> str:
    return f"{org_prefix(org_id)}:act:{activity_id}"


def activities(org_id: str) -> str:
    return f"{org_prefix(org_id)}:acts"


def activities_by_config(org_id: str, config_id: str) -> str:
    return f"{org_prefix(org_id)}:acts:cfg:{config_id}"


def outbound_stream(org_id: str) -> str:
    return f"{org_prefix(org_id)}:outbound"


def request_rate(org_id: str) -> str:
    return f"{org_prefix(org_id)}:rate"


def idempotency(org_id: str, key: str) -> str:
    return f"{org_prefix(org_id)}:idem:{key}"


def opted_out(org_id: str, channel_id: str) -> str:
    return f"{org_prefix(org_id)}:optout:{channel_id}"


def report(org_id: str, config_id: str) -> str:
    return f"{org_prefix(org_id)}:report:{config_id}"


def report_hours(org_id: str, config_id: str) -> str:
    return f"{org_prefix(org_id)}:report:{config_id}:hours"


def timeline(org_id: str, phone: str) -> str:
    return f"{org_prefix(org_id)}:timeline:{phone}"
