-- Outbound activities and their status history, archived from Redis.
-- Times are Unix milliseconds (BIGINT), as in Redis, on both engines.
-- `record` is the activity as Redis held it (JSON), so a read from SQL
-- answers exactly what a read from Redis did; the other columns serve
-- filters, paging and reports. `version` is the length of the history the
-- row was written from: an upsert never replaces a row with an older copy.
CREATE TABLE activities (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL,
    configuration_id TEXT NOT NULL,
    template_id TEXT,
    request_id TEXT,
    channel_id TEXT,
    channel_type TEXT,
    to_addr TEXT NOT NULL,
    locale TEXT,
    status TEXT NOT NULL,
    error_code TEXT,
    provider_message_id TEXT,
    body TEXT,
    in_timeline INTEGER NOT NULL DEFAULT 0,
    score BIGINT NOT NULL,
    created_ms BIGINT NOT NULL,
    updated_ms BIGINT,
    delivered_ms BIGINT,
    version INTEGER NOT NULL,
    record TEXT NOT NULL
);

-- The activities list: newest first (score, then id, as the cursor), all of
-- an org's or one configuration's, optionally by status.
CREATE INDEX activities_org_page ON activities (org_id, score DESC, id DESC);
CREATE INDEX activities_config_page ON activities (org_id, configuration_id, score DESC, id DESC);
CREATE INDEX activities_status_page ON activities (org_id, status, score DESC, id DESC);
CREATE INDEX activities_config_status_page
    ON activities (org_id, configuration_id, status, score DESC, id DESC);
-- A contact's timeline, and a late callback finding its archived activity.
CREATE INDEX activities_timeline ON activities (org_id, to_addr, score DESC) WHERE in_timeline = 1;
CREATE INDEX activities_provider_id ON activities (org_id, provider_message_id);

-- Every status event, in the order Redis recorded it (seq from 0).
CREATE TABLE activity_history (
    activity_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    status TEXT NOT NULL,
    at_ms BIGINT NOT NULL,
    error_code TEXT,
    source TEXT,
    event TEXT NOT NULL,
    PRIMARY KEY (activity_id, seq)
);
