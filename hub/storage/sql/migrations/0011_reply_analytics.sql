-- Reply analytics and SMS segments in the report.
--
-- An activity's SMS segments (what the provider bills per message), kept on
-- its row so that the rollups can move them with its status like its other
-- counts. Rows written before this version have 0.
ALTER TABLE activities ADD COLUMN segments INTEGER NOT NULL DEFAULT 0;

-- Per configuration and creation hour of the activities (report_hourly),
-- and per configuration and template or locale (report_engagement,
-- dimension 'template' or 'locale', value '' for none): SMS messages that
-- left the hub and their segments (kept by the archiver with the activity
-- rows); the activities a customer answered within the correlation window
-- (replied), those answered by an opt-out keyword (opted_out), the
-- conversations they opened, and the time from the activity to its first
-- answer: its sum (ms) and a histogram whose column names give each
-- bucket's upper bound in seconds. Answers count in the activity's hour,
-- template and locale. One row per hour and per template or locale, read as
-- it is, as the status rollups are.
ALTER TABLE report_hourly ADD COLUMN sms_messages BIGINT NOT NULL DEFAULT 0;
ALTER TABLE report_hourly ADD COLUMN sms_segments BIGINT NOT NULL DEFAULT 0;
ALTER TABLE report_hourly ADD COLUMN replied BIGINT NOT NULL DEFAULT 0;
ALTER TABLE report_hourly ADD COLUMN opted_out BIGINT NOT NULL DEFAULT 0;
ALTER TABLE report_hourly ADD COLUMN conversations BIGINT NOT NULL DEFAULT 0;
ALTER TABLE report_hourly ADD COLUMN reply_ms_sum BIGINT NOT NULL DEFAULT 0;
ALTER TABLE report_hourly ADD COLUMN reply_le_60 BIGINT NOT NULL DEFAULT 0;
ALTER TABLE report_hourly ADD COLUMN reply_le_300 BIGINT NOT NULL DEFAULT 0;
ALTER TABLE report_hourly ADD COLUMN reply_le_900 BIGINT NOT NULL DEFAULT 0;
ALTER TABLE report_hourly ADD COLUMN reply_le_1800 BIGINT NOT NULL DEFAULT 0;
ALTER TABLE report_hourly ADD COLUMN reply_le_3600 BIGINT NOT NULL DEFAULT 0;
ALTER TABLE report_hourly ADD COLUMN reply_le_7200 BIGINT NOT NULL DEFAULT 0;
ALTER TABLE report_hourly ADD COLUMN reply_le_21600 BIGINT NOT NULL DEFAULT 0;
ALTER TABLE report_hourly ADD COLUMN reply_le_86400 BIGINT NOT NULL DEFAULT 0;
ALTER TABLE report_hourly ADD COLUMN reply_le_259200 BIGINT NOT NULL DEFAULT 0;
ALTER TABLE report_hourly ADD COLUMN reply_le_inf BIGINT NOT NULL DEFAULT 0;

CREATE TABLE report_engagement (
    org_id TEXT NOT NULL,
    configuration_id TEXT NOT NULL,
    dimension TEXT NOT NULL,
    value TEXT NOT NULL,
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
    PRIMARY KEY (org_id, configuration_id, dimension, value)
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
-- holds that left the hub (their segments were not recorded: 0).
UPDATE report_hourly SET sms_messages = (
    SELECT COUNT(*) FROM activities a
    WHERE a.org_id = report_hourly.org_id AND a.configuration_id = report_hourly.configuration_id
      AND a.created_ms - a.created_ms % 3600000 = report_hourly.hour_ms AND a.channel_type = 'sms'
      AND a.status IN ('sending', 'sent', 'delivered', 'read', 'undelivered', 'failed'));

INSERT INTO report_engagement (org_id, configuration_id, dimension, value, sms_messages)
SELECT org_id, configuration_id, 'template', COALESCE(template_id, ''), COUNT(*)
FROM activities
WHERE channel_type = 'sms' AND status IN ('sending', 'sent', 'delivered', 'read', 'undelivered', 'failed')
GROUP BY org_id, configuration_id, COALESCE(template_id, '');

INSERT INTO report_engagement (org_id, configuration_id, dimension, value, sms_messages)
SELECT org_id, configuration_id, 'locale', COALESCE(locale, ''), COUNT(*)
FROM activities
WHERE channel_type = 'sms' AND status IN ('sending', 'sent', 'delivered', 'read', 'undelivered', 'failed')
GROUP BY org_id, configuration_id, COALESCE(locale, '');
