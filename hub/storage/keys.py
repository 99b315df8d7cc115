"""Every Redis key the hub uses, built in one place.

Keys of one org carry the org id as a hash tag (``hub:{org}:...``) so that the
Lua scripts, which touch several of them at once, keep working on a Redis
Cluster. The few global keys are single-key lookups (API key → org, channel →
org) that never take part in a multi-key script, except the sign-in failure
counters, which share a ``{login}`` hash tag of their own.

The Lua scripts build their keys with the same functions: every per-org
function here becomes a builder of the ``KEY`` table prepended to each
script (``KEY.activity(prefix, id)``; see ``hub.storage.redis.lua_keys``), so
a key's shape is written here once.
"""

from __future__ import annotations

PREFIX = "hub"


def org_prefix(org_id: str) -> str:
    """Prefix shared by every key of one org; scripts get it as an argument
    and build their keys from it with the ``KEY`` table."""
    return f"{PREFIX}:{{{org_id}}}"


def slot(org_id: str) -> str:
    """Passed as KEYS[1] by the scripts that build their keys from the org
    prefix as they go (routing follows what they read): it names the org's
    hash slot, so a Redis Cluster client sends them to the node holding it,
    and every key they build shares that slot."""
    return org_prefix(org_id)


# -- global lookups -------------------------------------------------------------


def orgs_index() -> str:
    return f"{PREFIX}:orgs"


def api_key(key_hash: str) -> str:
    return f"{PREFIX}:apikey:{key_hash}"


def channel_owner(channel_id: str) -> str:
    return f"{PREFIX}:channel-org:{channel_id}"


def readiness_probe() -> str:
    """Read (never written) by /readyz: a command routed like any other."""
    return f"{PREFIX}:ready-probe"


def workers_heartbeat() -> str:
    return f"{PREFIX}:workers"


def org_partitions() -> str:
    """Global set of the partitions (``org_…~p``, p >= 1) of the orgs that have
    more than one (hub.domain.partitions): the work board's loops read them
    as they read the orgs."""
    return f"{PREFIX}:org-partitions"


def wake_stream() -> str:
    """Orgs that have new work, announced to every process (hub.storage.wake);
    written when an org turns busy, not once per message."""
    return f"{PREFIX}:wake"


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


def activity_history(org_id: str, activity_id: str) -> str:
    """List: every status the activity went through, with its callbacks."""
    return f"{activity(org_id, activity_id)}:h"


def activities(org_id: str) -> str:
    return f"{org_prefix(org_id)}:acts"


def activities_by_config(org_id: str, config_id: str) -> str:
    return f"{org_prefix(org_id)}:acts:cfg:{config_id}"


def last_outbound(org_id: str, channel_id: str, phone: str) -> str:
    """The activity a reply from this contact on this channel answers."""
    return f"{org_prefix(org_id)}:lastout:{channel_id}:{phone}"


def recent_outbound(org_id: str, channel_id: str, phone: str) -> str:
    """List, newest first: the last few activities sent to this contact on
    this channel within the correlation window, as small entries (see
    hub.domain.correlation.recent_entry), for a reply to pick the one it names.
    A list, not a sorted set: Redis keeps a sorted set of members longer than
    64 bytes as a skip list, several times bigger."""
    return f"{org_prefix(org_id)}:recent:{channel_id}:{phone}"


def provider_message(org_id: str, provider_sid: str) -> str:
    """The activity (or ``m|conversation|message`` for an agent's reply) the
    provider knows by this message id, for its status callbacks."""
    return f"{org_prefix(org_id)}:sid:{provider_sid}"


def early_callbacks(org_id: str, provider_sid: str) -> str:
    """Status callbacks that came before the send was recorded, parked until it is."""
    return f"{provider_message(org_id, provider_sid)}:early"


def inbound_message(org_id: str, provider_sid: str) -> str:
    """Set once an inbound message is stored, so a repeated webhook stores nothing."""
    return f"{org_prefix(org_id)}:inbound:{provider_sid}"


def contact(org_id: str, customer: str) -> str:
    """Hash: what the hub keeps of one customer (``last_in:<channel>``: their
    last message on a channel, for the WhatsApp 24-hour window)."""
    return f"{org_prefix(org_id)}:contact:{customer}"


def sweep_mark(org_id: str) -> str:
    """How far the hot-window sweeper has walked the org's archived activities."""
    return f"{org_prefix(org_id)}:sweep"


def outbound_stream(org_id: str) -> str:
    return f"{org_prefix(org_id)}:outbound"


def archive_stream(org_id: str) -> str:
    """Ids of activities that changed, for the archiver to copy to SQL."""
    return f"{org_prefix(org_id)}:archive"


def request_rate(org_id: str) -> str:
    return f"{org_prefix(org_id)}:rate"


def idempotency(org_id: str, key: str) -> str:
    return f"{org_prefix(org_id)}:idem:{key}"


def accepting(org_id: str, request_id: str) -> str:
    """A send request of a partitioned org being accepted: its activities by
    partition and its answer, until every partition holds them (hub.storage.activities)."""
    return f"{org_prefix(org_id)}:accepting:{request_id}"


def accepting_index(org_id: str) -> str:
    """Sorted set: request being accepted → when its acceptance began (ms)."""
    return f"{org_prefix(org_id)}:accepting"


def accepted_part(unit_id: str, request_id: str) -> str:
    """Set once a partition holds its share of a request's activities, so a
    second run of that step changes nothing."""
    return f"{org_prefix(unit_id)}:accepted:{request_id}"


def rate_outbox(org_id: str) -> str:
    """Sorted set, in an org's partition 1 and up: send requests some of whose
    messages held by quiet hours the partition released → when (ms), until
    they are counted in the org's rolling-hour set (``request_rate``, in the
    org's slot; hub.storage.activities.release_deferred)."""
    return f"{org_prefix(org_id)}:rate:outbox"


def opted_out(org_id: str, channel_id: str) -> str:
    return f"{org_prefix(org_id)}:optout:{channel_id}"


def timeline(org_id: str, phone: str) -> str:
    return f"{org_prefix(org_id)}:timeline:{phone}"


def opted_out_hashed(org_id: str, channel_id: str) -> str:
    """Opted-out numbers of erased customers, as their HMAC under the org's
    salt (hub.storage.consent): they stay opted out without the number kept."""
    return f"{org_prefix(org_id)}:optout:h:{channel_id}"


def consent_state(org_id: str, channel_id: str) -> str:
    """Hash: number → the consent the ledger last recorded (``in`` / ``out``),
    so a send request's opt-in is recorded once, not per message."""
    return f"{org_prefix(org_id)}:consent:{channel_id}"


def consent_salt(org_id: str) -> str:
    """The org's secret salt for hashing numbers (ledger, erasure tombstones)."""
    return f"{org_prefix(org_id)}:consent-salt"


# -- flows, schedules, events and bulk jobs ------------------------------------------


def flows_by_event_type(org_id: str, event_type: str) -> str:
    """Set of the automated flows bound to one event type."""
    return f"{org_prefix(org_id)}:flows:type:{event_type}"


def flow_runs(org_id: str, flow_id: str) -> str:
    return f"{org_prefix(org_id)}:flow:{flow_id}:runs"


def schedule_due(org_id: str) -> str:
    """Sorted set: scheduled flow or delayed send → its next occurrence (ms)."""
    return f"{org_prefix(org_id)}:sched:due"


def schedule_firing(org_id: str) -> str:
    """Sorted set: claimed occurrence → lease expiry (ms); taken over when it lapses."""
    return f"{org_prefix(org_id)}:sched:firing"


def delayed_send(org_id: str, delayed_id: str) -> str:
    """The contacts of one event's delayed flow, until they are sent."""
    return f"{org_prefix(org_id)}:delayed:{delayed_id}"


def event(org_id: str, event_id: str) -> str:
    """The answer to a completed event, so a repeated event id does nothing."""
    return f"{org_prefix(org_id)}:event:{event_id}"


def bulk_job(org_id: str, job_id: str) -> str:
    return f"{org_prefix(org_id)}:bulk:{job_id}"


def bulk_chunk(org_id: str, job_id: str, index: int) -> str:
    return f"{org_prefix(org_id)}:bulk:{job_id}:chunk:{index}"


def bulk_results(org_id: str, job_id: str, index: int) -> str:
    return f"{org_prefix(org_id)}:bulk:{job_id}:res:{index}"


def bulk_active(org_id: str) -> str:
    """Sorted set: pending or running job → lease expiry (ms; 0 = unclaimed)."""
    return f"{org_prefix(org_id)}:bulk:active"


def bulk_jobs(org_id: str) -> str:
    """Sorted set of the org's bulk jobs by creation time."""
    return f"{org_prefix(org_id)}:bulk:jobs"


# -- sending pace ---------------------------------------------------------------------


def pace(org_id: str, channel_id: str) -> str:
    """A channel's pace (GCRA): when its next message may go, shared by every process."""
    return f"{org_prefix(org_id)}:pace:{channel_id}"


# -- agents, conversations and queues --------------------------------------------------


def agent_token(token_hash: str) -> str:
    return f"{PREFIX}:agent-token:{token_hash}"


def agent_ticket(ticket_hash: str) -> str:
    """A one-time websocket ticket (short-lived; consumed by the connection)."""
    return f"{PREFIX}:agent-ticket:{ticket_hash}"


def agent_logins(email: str) -> str:
    """Set of ``org|agent`` signing in with this email (one per org at most)."""
    return f"{PREFIX}:agent-logins:{email.lower()}"


def legacy_agent_email(email: str) -> str:
    """Where emails were kept when they were unique across orgs (read only)."""
    return f"{PREFIX}:agent-email:{email.lower()}"


def login_failures(scope: str, subject: str) -> str:
    """Failed sign-ins of one email, one client address, or one pair, in a
    window. One hash tag for all, so one script counts an attempt in each."""
    return f"{PREFIX}:{{login}}:fail:{scope}:{subject}"


def agent(org_id: str, agent_id: str) -> str:
    """The agent's hash; its connections, events and conversations hang below it."""
    return f"{org_prefix(org_id)}:agent:{agent_id}"


def agent_email(org_id: str, email: str) -> str:
    """An email is unique within its org (so one org learns nothing of another's)."""
    return f"{org_prefix(org_id)}:agent-email:{email.lower()}"


def agent_sessions(org_id: str, agent_id: str) -> str:
    """Set of the hashes of the agent's sign-in tokens, so that a new password
    or a deactivation ends them all."""
    return f"{agent(org_id, agent_id)}:sessions"


def agent_conversations(org_id: str, agent_id: str) -> str:
    return f"{agent(org_id, agent_id)}:convs"


def agent_served(org_id: str, agent_id: str) -> str:
    """Sorted set: customer → when the agent was last assigned a conversation
    with them (the customers whose history the agent may read)."""
    return f"{agent(org_id, agent_id)}:served"


def agent_connections(org_id: str, agent_id: str) -> str:
    return f"{agent(org_id, agent_id)}:conns"


def agent_client(org_id: str, agent_id: str, client_id: str) -> str:
    """One of the agent's connections (a console tab), while it lives."""
    return f"{agent(org_id, agent_id)}:client:{client_id}"


def agent_note(org_id: str, agent_id: str, client_id: str) -> str:
    return f"{agent(org_id, agent_id)}:note:{client_id}"


def agent_events(org_id: str, agent_id: str) -> str:
    """Sorted set: the agent's events by sequence number, for a socket to catch up."""
    return f"{agent(org_id, agent_id)}:events"


def agent_sequence(org_id: str, agent_id: str) -> str:
    """The sequence number of the agent's last event."""
    return f"{agent(org_id, agent_id)}:seq"


def agent_notify(org_id: str, agent_id: str) -> str:
    """Pub/sub channel: the agent's new events (it hashes to the org's slot)."""
    return f"{agent(org_id, agent_id)}:notify"


def agents_online(org_id: str) -> str:
    return f"{org_prefix(org_id)}:agents:online"


def agents_gone(org_id: str) -> str:
    """Sorted set: agent → when its last connection closed (grace period)."""
    return f"{org_prefix(org_id)}:agents:gone"


def agents_available(org_id: str) -> str:
    return f"{org_prefix(org_id)}:agents:available"


def conversations(org_id: str) -> str:
    return f"{org_prefix(org_id)}:convs"


def conversation(org_id: str, conversation_id: str) -> str:
    """The conversation's hash; its messages (``:msgs``) and reply statuses
    (``:mstatus``) hang below it."""
    return f"{org_prefix(org_id)}:conv:{conversation_id}"


def conversation_messages(org_id: str, conversation_id: str) -> str:
    """List: the conversation's messages, oldest first."""
    return f"{conversation(org_id, conversation_id)}:msgs"


def conversation_reply_statuses(org_id: str, conversation_id: str) -> str:
    """Hash: an agent's reply (message id) → where its delivery stands."""
    return f"{conversation(org_id, conversation_id)}:mstatus"


def open_conversation(org_id: str, channel_id: str, customer: str) -> str:
    """The open conversation with this customer on this channel."""
    return f"{org_prefix(org_id)}:conv:open:{channel_id}:{customer}"


def last_conversation(org_id: str, channel_id: str, customer: str) -> str:
    """The customer's previous conversation on this channel (a new one links to it)."""
    return f"{org_prefix(org_id)}:conv:last:{channel_id}:{customer}"


def conversation_sweep_mark(org_id: str) -> str:
    """How far the hot-window sweeper has walked the org's archived conversations."""
    return f"{org_prefix(org_id)}:sweep:conv"


def queues(org_id: str) -> str:
    return f"{org_prefix(org_id)}:queues"


def queue_waiting(org_id: str, queue: str) -> str:
    return f"{org_prefix(org_id)}:q:{queue}:waiting"


def queue_agents(org_id: str, queue: str) -> str:
    """Sorted set: the queue's available agents with free capacity, by
    (open conversations, last assignment time)."""
    return f"{org_prefix(org_id)}:q:{queue}:agents"


def wait_stats(org_id: str) -> str:
    return f"{org_prefix(org_id)}:stats:wait"


def queue_policy(org_id: str, queue: str) -> str:
    """A queue's routing policy as JSON (hub.domain.routing_policy)."""
    return f"{org_prefix(org_id)}:qp:{queue}"


def queue_policies(org_id: str) -> str:
    """Sorted set (all scores 0, so by name) of the queues with a policy."""
    return f"{org_prefix(org_id)}:qps"


def queue_closed(org_id: str, queue: str) -> str:
    """Set while the queue is outside its operating hours: it routes nothing."""
    return f"{org_prefix(org_id)}:qclosed:{queue}"


def inactive_due(org_id: str) -> str:
    """Sorted set: open conversation → when it closes unless the customer writes (ms)."""
    return f"{org_prefix(org_id)}:inactive"


def overflow_due(org_id: str) -> str:
    """Sorted set: waiting conversation → when it moves to its queue's overflow queue (ms)."""
    return f"{org_prefix(org_id)}:overflow:due"


# -- retries and provider outages -------------------------------------------------------


def reply_stream(org_id: str) -> str:
    """Agents' replies waiting to go out: read by their own workers, before any bulk backlog."""
    return f"{org_prefix(org_id)}:outbound:replies"


def reply_job(org_id: str, message_id: str) -> str:
    """What a worker needs to send one agent's reply, and where its send stands."""
    return f"{org_prefix(org_id)}:reply:{message_id}"


def send_retries(org_id: str) -> str:
    """Sorted set: activity or reply id → when its next attempt is due (ms)."""
    return f"{org_prefix(org_id)}:outbound:retry"


def deferred_sends(org_id: str) -> str:
    """Sorted set: activity held by the recipient's quiet hours → its send_at (ms)."""
    return f"{org_prefix(org_id)}:outbound:deferred"


def circuit(org_id: str, channel_id: str) -> str:
    """A channel's circuit breaker: consecutive retryable failures, open until, probe lease."""
    return f"{org_prefix(org_id)}:circuit:{channel_id}"


def circuits_open(org_id: str) -> str:
    """Sorted set: channel → until when its circuit is open (ms), for metrics and the API."""
    return f"{org_prefix(org_id)}:circuits"


# -- supervisors ---------------------------------------------------------------------


def board_watch(org_id: str) -> str:
    """Set while a supervisor watches the org's board: the routing scripts
    then publish their changes on ``board_notify``."""
    return f"{org_prefix(org_id)}:board:watch"


def board_notify(org_id: str) -> str:
    """Pub/sub channel: the ids of the conversations a routing script changed."""
    return f"{org_prefix(org_id)}:board:notify"


# -- the event feed ------------------------------------------------------------------


def event_orgs() -> str:
    """Global set of the orgs with event endpoints: the only orgs the
    deliverer looks at (read once every few seconds per process)."""
    return f"{PREFIX}:event-orgs"


def event_log(org_id: str) -> str:
    """Stream: the org's event log (its ids are the events' ids)."""
    return f"{org_prefix(org_id)}:events"


def event_types(org_id: str) -> str:
    """Set of the event types the org's enabled endpoints subscribe to; the
    scripts append an event to the log only when its type is in it."""
    return f"{org_prefix(org_id)}:events:types"


def event_floor(org_id: str) -> str:
    """The id the log was last trimmed to: a cursor before it has expired."""
    return f"{org_prefix(org_id)}:events:floor"


def event_endpoint(org_id: str, endpoint_id: str) -> str:
    """An endpoint's record (JSON, with its secret)."""
    return f"{org_prefix(org_id)}:evendpoint:{endpoint_id}"


def event_endpoints(org_id: str) -> str:
    """Sorted set of the org's endpoint ids by creation time."""
    return f"{org_prefix(org_id)}:evendpoints"


def event_delivery(org_id: str, endpoint_id: str) -> str:
    """Hash: where delivery to one endpoint stands (cursor, failures, next attempt)."""
    return f"{org_prefix(org_id)}:evendpoint:{endpoint_id}:delivery"


def event_lease(org_id: str, endpoint_id: str) -> str:
    """The process delivering to the endpoint (one at a time), until it lapses."""
    return f"{org_prefix(org_id)}:evendpoint:{endpoint_id}:lease"
