-- Bulk jobs, each contact's outcome, and scheduled flows' runs, archived
-- from Redis. `record` is what Redis held (JSON), so a read from SQL answers
-- exactly what a read from Redis did. `in_redis` is 1 until the hot-window
-- sweeper has dropped the Redis copy (an archiver write sets it again).
CREATE TABLE bulk_jobs (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL,
    configuration_id TEXT NOT NULL,
    status TEXT NOT NULL,
    total INTEGER NOT NULL,
    processed INTEGER NOT NULL,
    created_ms BIGINT NOT NULL,
    finished_ms BIGINT,
    -- 2 × chunks recorded, + 1 once stopped: an upsert never goes back.
    version INTEGER NOT NULL,
    record TEXT NOT NULL,
    archived_ms BIGINT NOT NULL,
    in_redis INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX bulk_jobs_created ON bulk_jobs (org_id, created_ms);
CREATE INDEX bulk_jobs_hot ON bulk_jobs (org_id, in_redis, archived_ms);

-- One row per contact of a job, by its row in the uploaded file (from 1):
-- the send result, or why it was never sent (canceled, failed).
CREATE TABLE bulk_outcomes (
    job_id TEXT NOT NULL,
    row_number INTEGER NOT NULL,
    tocontactid TEXT NOT NULL,
    status TEXT NOT NULL,
    activity_id TEXT,
    error_code TEXT,
    error_message TEXT,
    sent INTEGER NOT NULL,
    PRIMARY KEY (job_id, row_number)
);

-- A scheduled flow's runs, identified by the archive stream entry that
-- carried them (Redis' time and sequence when the run was recorded).
CREATE TABLE flow_runs (
    flow_id TEXT NOT NULL,
    entry_ms BIGINT NOT NULL,
    entry_seq BIGINT NOT NULL,
    org_id TEXT NOT NULL,
    run TEXT NOT NULL,
    in_redis INTEGER NOT NULL DEFAULT 1,
    PRIMARY KEY (flow_id, entry_ms, entry_seq)
);
CREATE INDEX flow_runs_hot ON flow_runs (org_id, in_redis, entry_ms);
CREATE INDEX flow_runs_age ON flow_runs (org_id, entry_ms);
