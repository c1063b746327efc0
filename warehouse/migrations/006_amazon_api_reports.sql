-- Reports pulled from the Amazon Creators API Reporting API (issue 13). A report is known by
-- (account, file_name, md5): a known one is not downloaded again; the same name with a new md5
-- is a re-issue, downloaded and loaded over its period. Rows are written only for reports that
-- were loaded, found already loaded, or skipped by type; a refused report is retried next pull.
CREATE TABLE amazon_api_reports (
    account        VARCHAR NOT NULL,
    marketplace    VARCHAR NOT NULL,
    file_name      VARCHAR NOT NULL,          -- as listReports names it
    md5            VARCHAR NOT NULL,          -- as listReports announced it (and the download had)
    size           BIGINT NOT NULL,
    last_modified  TIMESTAMPTZ NOT NULL,
    member         VARCHAR NOT NULL,          -- the report inside: the file, or zip:member
    report_type    VARCHAR NOT NULL,          -- Fee-Earnings, Fee-Orders, ...
    outcome        VARCHAR NOT NULL CHECK (outcome IN ('loaded', 'same_content', 'skipped_type')),
    content_hash   VARCHAR NOT NULL,          -- sha256 of the plain report, as in source_files
    run_id         VARCHAR,                   -- the ingest run that loaded it, if one did
    seen_at        TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (account, file_name, md5, member)
);
