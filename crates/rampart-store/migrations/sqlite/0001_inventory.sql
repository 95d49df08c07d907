-- Inventory, alerts and delivery records. Times are Unix milliseconds (UTC).

CREATE TABLE sites (
    id              TEXT PRIMARY KEY,
    first_report_at INTEGER NOT NULL
);

-- One row per (site, kind, url): scripts and connection targets.
CREATE TABLE resources (
    id         INTEGER PRIMARY KEY,
    site       TEXT    NOT NULL,
    kind       TEXT    NOT NULL,
    url        TEXT    NOT NULL,
    host       TEXT    NOT NULL,
    domain     TEXT    NOT NULL,
    first_seen INTEGER NOT NULL,
    last_seen  INTEGER NOT NULL,
    reports    INTEGER NOT NULL,
    first_page TEXT    NOT NULL,
    pages      TEXT    NOT NULL, -- JSON array of the most recent distinct pages, newest first
    sample     TEXT,
    hash       TEXT,             -- latest csp-hash reported by browsers (sha256-…)
    UNIQUE (site, kind, url)
);

-- Per-site registrable domains, by kind: the subjects of new_*_domain alerts.
CREATE TABLE domains (
    site       TEXT    NOT NULL,
    kind       TEXT    NOT NULL,
    domain     TEXT    NOT NULL,
    first_seen INTEGER NOT NULL,
    last_seen  INTEGER NOT NULL,
    reports    INTEGER NOT NULL,
    PRIMARY KEY (site, kind, domain)
);

CREATE TABLE alerts (
    id         INTEGER PRIMARY KEY,
    kind       TEXT    NOT NULL,
    site       TEXT    NOT NULL,
    subject    TEXT    NOT NULL,
    severity   TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    details    TEXT    NOT NULL, -- JSON object
    UNIQUE (site, kind, subject)  -- dedup: one alert per subject
);
CREATE INDEX alerts_created ON alerts (created_at DESC);

CREATE TABLE deliveries (
    id          INTEGER PRIMARY KEY,
    alert_id    INTEGER NOT NULL REFERENCES alerts (id),
    channel     TEXT    NOT NULL,
    attempt     INTEGER NOT NULL,
    outcome     TEXT    NOT NULL, -- delivered | failed | rate_limited | gave_up
    status_code INTEGER,
    error       TEXT,
    at          INTEGER NOT NULL
);
CREATE INDEX deliveries_alert ON deliveries (alert_id);
