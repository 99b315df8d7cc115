-- Conversations and their messages (archived from Redis once closed).
CREATE TABLE conversations (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL,
    channel_id TEXT NOT NULL,
    channel_type TEXT,
    customer TEXT NOT NULL,
    status TEXT NOT NULL,
    agent_id TEXT,
    queue TEXT,
    activity_id TEXT,
    previous_id TEXT,
    created_ms BIGINT NOT NULL,
    closed_ms BIGINT,
    updated_ms BIGINT,
    version INTEGER NOT NULL,
    record TEXT NOT NULL
);

CREATE INDEX conversations_org_page ON conversations (org_id, created_ms DESC, id DESC);
CREATE INDEX conversations_status_page ON conversations (org_id, status, created_ms DESC, id DESC);
CREATE INDEX conversations_customer ON conversations (org_id, customer, created_ms DESC);

CREATE TABLE conversation_messages (
    conversation_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    id TEXT NOT NULL,
    org_id TEXT NOT NULL,
    customer TEXT NOT NULL,
    direction TEXT NOT NULL,
    status TEXT,
    provider_message_id TEXT,
    at_ms BIGINT NOT NULL,
    record TEXT NOT NULL,
    PRIMARY KEY (conversation_id, seq)
);

-- The contact timeline merges these with activities_timeline.
CREATE INDEX conversation_messages_timeline ON conversation_messages (org_id, customer, at_ms DESC);
CREATE INDEX conversation_messages_provider_id ON conversation_messages (org_id, provider_message_id);
