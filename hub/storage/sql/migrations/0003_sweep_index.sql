-- When the archiver last wrote the row (Unix ms): once an activity in a
-- final status has not changed for HUB_HOT_SECONDS, the sweeper drops its
-- full record from Redis, walking an org's rows in this order.
ALTER TABLE activities ADD COLUMN archived_ms BIGINT NOT NULL DEFAULT 0;
CREATE INDEX activities_archived ON activities (org_id, archived_ms, id);
