-- The `deferred` status (held by the recipient's quiet hours): a column of
-- its own in the hourly rollup, as every status has (hub.domain.statuses).
-- An activity is archived only once the provider has taken it, so a deferred
-- one reaches SQL as queued or later; the column stays at 0 unless that
-- changes, and keeps report_hourly's columns equal to the statuses.
ALTER TABLE report_hourly ADD COLUMN deferred BIGINT NOT NULL DEFAULT 0;
