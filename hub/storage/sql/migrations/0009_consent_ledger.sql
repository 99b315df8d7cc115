-- Every consent change of a contact on a channel: opt-in or opt-out, its
-- source (keyword, api, send_request, admin), when, and the message or
-- activity that carried it. A row is identified by the archive stream entry
-- that carried it (Redis' time and sequence) and its place in that entry, so
-- a replayed entry writes nothing new. `phone_hash` is HMAC-SHA256 of the
-- number under the org's salt: reads go by it, and an erasure clears `phone`
-- and keeps the row (the proof of consent, without the number).
CREATE TABLE consent_ledger (
    org_id TEXT NOT NULL,
    entry_ms BIGINT NOT NULL,
    entry_seq BIGINT NOT NULL,
    idx INTEGER NOT NULL,
    phone TEXT,
    phone_hash TEXT NOT NULL,
    channel_id TEXT NOT NULL,
    action TEXT NOT NULL,
    source TEXT NOT NULL,
    at_ms BIGINT NOT NULL,
    message_id TEXT,
    provider_message_id TEXT,
    activity_id TEXT,
    actor TEXT,
    PRIMARY KEY (org_id, entry_ms, entry_seq, idx)
);
CREATE INDEX consent_ledger_contact ON consent_ledger (org_id, phone_hash, entry_ms DESC, entry_seq DESC, idx DESC);

-- One row per erasure request (DELETE /v1/contacts/{phone}): the hashed
-- number, when, who asked and what was erased (JSON counts).
CREATE TABLE contact_erasures (
    org_id TEXT NOT NULL,
    phone_hash TEXT NOT NULL,
    erased_ms BIGINT NOT NULL,
    requested_by TEXT NOT NULL,
    counts TEXT NOT NULL,
    PRIMARY KEY (org_id, phone_hash, erased_ms)
);

-- An erasure finds the contact's activities whether shown in the timeline or not.
CREATE INDEX activities_contact ON activities (org_id, to_addr);
