-- The report's rollups, kept by the archiver in the same transaction as the
-- activity rows, by the status transitions it actually writes: how many
-- activities of a configuration are in each status now, by the hour they
-- were created in (hour_ms: the hour's start, Unix ms), by template and by
-- locale ('' for none). One table per breakdown, so that the report reads
-- each as it is, with no grouping. Deleting activities at retention leaves
-- them as they are, so the report covers all history.

-- By hour, one row per hour with a column per status (hub.domain.statuses;
-- a new status needs a new column): a report reads one row per hour.
CREATE TABLE report_hourly (
    org_id TEXT NOT NULL,
    configuration_id TEXT NOT NULL,
    hour_ms BIGINT NOT NULL,
    queued BIGINT NOT NULL DEFAULT 0,
    sending BIGINT NOT NULL DEFAULT 0,
    sent BIGINT NOT NULL DEFAULT 0,
    delivered BIGINT NOT NULL DEFAULT 0,
    read BIGINT NOT NULL DEFAULT 0,
    undelivered BIGINT NOT NULL DEFAULT 0,
    failed BIGINT NOT NULL DEFAULT 0,
    rejected BIGINT NOT NULL DEFAULT 0,
    skipped_no_optin BIGINT NOT NULL DEFAULT 0,
    skipped_opted_out BIGINT NOT NULL DEFAULT 0,
    canceled BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (org_id, configuration_id, hour_ms)
);

CREATE TABLE report_templates (
    org_id TEXT NOT NULL,
    configuration_id TEXT NOT NULL,
    template_id TEXT NOT NULL,
    status TEXT NOT NULL,
    n BIGINT NOT NULL,
    PRIMARY KEY (org_id, configuration_id, template_id, status)
);

CREATE TABLE report_locales (
    org_id TEXT NOT NULL,
    configuration_id TEXT NOT NULL,
    locale TEXT NOT NULL,
    status TEXT NOT NULL,
    n BIGINT NOT NULL,
    PRIMARY KEY (org_id, configuration_id, locale, status)
);

-- Time to deliver (first delivered or read, from creation), bucketed as the
-- report shows it (bucket: the upper bound in seconds, or 'inf').
CREATE TABLE report_ttd (
    org_id TEXT NOT NULL,
    configuration_id TEXT NOT NULL,
    bucket TEXT NOT NULL,
    n BIGINT NOT NULL,
    sum_ms BIGINT NOT NULL,
    PRIMARY KEY (org_id, configuration_id, bucket)
);

-- A database upgraded from a version without rollups starts them from the
-- activities it holds.
INSERT INTO report_hourly (org_id, configuration_id, hour_ms, queued, sending, sent, delivered, read, undelivered, failed, rejected, skipped_no_optin, skipped_opted_out, canceled)
SELECT org_id, configuration_id, created_ms - created_ms % 3600000,
       SUM(CASE WHEN status = 'queued' THEN 1 ELSE 0 END),
       SUM(CASE WHEN status = 'sending' THEN 1 ELSE 0 END),
       SUM(CASE WHEN status = 'sent' THEN 1 ELSE 0 END),
       SUM(CASE WHEN status = 'delivered' THEN 1 ELSE 0 END),
       SUM(CASE WHEN status = 'read' THEN 1 ELSE 0 END),
       SUM(CASE WHEN status = 'undelivered' THEN 1 ELSE 0 END),
       SUM(CASE WHEN status = 'failed' THEN 1 ELSE 0 END),
       SUM(CASE WHEN status = 'rejected' THEN 1 ELSE 0 END),
       SUM(CASE WHEN status = 'skipped_no_optin' THEN 1 ELSE 0 END),
       SUM(CASE WHEN status = 'skipped_opted_out' THEN 1 ELSE 0 END),
       SUM(CASE WHEN status = 'canceled' THEN 1 ELSE 0 END)
FROM activities
GROUP BY org_id, configuration_id, created_ms - created_ms % 3600000;

INSERT INTO report_templates (org_id, configuration_id, template_id, status, n)
SELECT org_id, configuration_id, COALESCE(template_id, ''), status, COUNT(*)
FROM activities
GROUP BY org_id, configuration_id, COALESCE(template_id, ''), status;

INSERT INTO report_locales (org_id, configuration_id, locale, status, n)
SELECT org_id, configuration_id, COALESCE(locale, ''), status, COUNT(*)
FROM activities
GROUP BY org_id, configuration_id, COALESCE(locale, ''), status;

INSERT INTO report_ttd (org_id, configuration_id, bucket, n, sum_ms)
SELECT org_id, configuration_id, bucket, COUNT(*), SUM(ms)
FROM (
    SELECT org_id, configuration_id,
           CASE WHEN delivered_ms < created_ms THEN 0 ELSE delivered_ms - created_ms END AS ms,
           CASE WHEN delivered_ms - created_ms <= 1000 THEN '1'
                WHEN delivered_ms - created_ms <= 2000 THEN '2'
                WHEN delivered_ms - created_ms <= 5000 THEN '5'
                WHEN delivered_ms - created_ms <= 10000 THEN '10'
                WHEN delivered_ms - created_ms <= 30000 THEN '30'
                WHEN delivered_ms - created_ms <= 60000 THEN '60'
                WHEN delivered_ms - created_ms <= 300000 THEN '300'
                WHEN delivered_ms - created_ms <= 900000 THEN '900'
                WHEN delivered_ms - created_ms <= 3600000 THEN '3600'
                ELSE 'inf' END AS bucket
    FROM activities
    WHERE delivered_ms IS NOT NULL
) AS delivered
GROUP BY org_id, configuration_id, bucket;
