-- A contact's timeline is read newest first by (score, id); with id in the
-- index too, both engines walk it in that order and stop after a page. The
-- index without id let SQLite prefer walking all of an org's activities by
-- score (seen on a million rows: every contact's page scanned the org).
DROP INDEX activities_timeline;
CREATE INDEX activities_timeline ON activities (org_id, to_addr, score DESC, id DESC) WHERE in_timeline = 1;
