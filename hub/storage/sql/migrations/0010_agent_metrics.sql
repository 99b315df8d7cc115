-- Agent metrics read an org's conversations closed since a day (and their
-- agents' replies): without this index, every conversation of the org.
CREATE INDEX conversations_closed ON conversations (org_id, closed_ms);
