-- Reply analytics and SMS segments in the report.
--
-- An activity's SMS segments (what the provider bills per message), kept on
-- its row so that the rollups can move them with its status like its other
-- counts. Rows written before this version have 0.
ALTER TABLE activities ADD COLUMN segments INTEGER NOT NULL DEFAULT 0;

-- Per configuration, creation hour of the activity (hour_ms), template and
-- locale ('' for none): SMS messages that left the hub and their segments
-- (kept by the archiver with the activity rows); the activities a customer
-- answered within the correlation window (replied), those answered by an
-- opt-out keyword (opted_out), the conversations they opened, and the time
-- from the activity to its first answer: its sum (ms) and a histogram whose
-- column names give each bucket's upper bound in seconds.
CREATE TABLE report_engagement (
    org_id TEXT NOT NULL,
    configuration_id TEXT NOT NULL,
    hour_ms BIGINT NOT NULL,
    template_id TEXT NOT NULL,
    locale TEXT NOT NULL,
    sms_messages BIGINT NOT NULL DEFAULT 0,
    sms_segments BIGINT NOT NULL DEFAULT 0,
    replied BIGINT NOT NULL DEFAULT 0,
    opted_out BIGINT NOT NULL DEFAULT 0,
    conversations BIGINT NOT NULL DEFAULT 0,
    reply_ms_sum BIGINT NOT NULL DEFAULT 0,
    reply_le_60 BIGINT NOT NULL DEFAULT 0,
    reply_le_300 BIGINT NOT NULL DEFAULT 0,
    reply_le_900 BIGINT NOT NULL DEFAULT 0,
    reply_le_1800 BIGINT NOT NULL DEFAULT 0,
    reply_le_3600 BIGINT NOT NULL DEFAULT 0,
    reply_le_7200 BIGINT NOT NULL DEFAULT 0,
    reply_le_21600 BIGINT NOT NULL DEFAULT 0,
    reply_le_86400 BIGINT NOT NULL DEFAULT 0,
    reply_le_259200 BIGINT NOT NULL DEFAULT 0,
    reply_le_inf BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (org_id, configuration_id, hour_ms, template_id, locale)
);

-- What has been counted of the answers to an activity: 'conv:<id>' for each
-- conversation it opened, 'opt_out' for the first opt-out keyword. A mark is
-- counted when it is written, so a replayed archive batch counts nothing
-- twice.
CREATE TABLE report_reply_marks (
    org_id TEXT NOT NULL,
    activity_id TEXT NOT NULL,
    mark TEXT NOT NULL,
    at_ms BIGINT NOT NULL,
    PRIMARY KEY (org_id, activity_id, mark)
);

-- A database upgraded from an earlier version counts the SMS messages it
-- holds (their segments were not recorded: 0).
INSERT INTO report_engagement (org_id, configuration_id, hour_ms, template_id, locale, sms_messages)
SELECT org_id, configuration_id, created_ms - created_ms % 3600000, COALESCE(template_id, ''),
       COALESCE(locale, ''), COUNT(*)
FROM activities
WHERE channel_type = 'sms' AND status IN ('sending', 'sent', 'delivered', 'read', 'undelivered', 'failed')
GROUP BY org_id, configuration_id, created_ms - created_ms % 3600000, COALESCE(template_id, ''),
         COALESCE(locale, '');
