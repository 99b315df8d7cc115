-- Conversations are archived on every change, like activities. When the
-- archiver last wrote the row (Unix ms): once a closed conversation has not
-- changed for HUB_HOT_SECONDS, the sweeper drops it from Redis, walking an
-- org's rows in this order.
ALTER TABLE conversations ADD COLUMN archived_ms BIGINT NOT NULL DEFAULT 0;
CREATE INDEX conversations_archived ON conversations (org_id, archived_ms, id);
