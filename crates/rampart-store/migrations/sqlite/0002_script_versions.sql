-- Script versions fetched by the fetcher (content-addressed bodies), fetch attempts, and alert
-- dedup keys that let one subject alert again for a different reason (a script changes twice).

CREATE TABLE script_blobs (
    sha256 TEXT PRIMARY KEY,
    body   BLOB NOT NULL
);

CREATE TABLE script_versions (
    id              INTEGER PRIMARY KEY,
    site            TEXT    NOT NULL,
    url             TEXT    NOT NULL,
    sha256          TEXT    NOT NULL REFERENCES script_blobs (sha256),
    structural_hash TEXT    NOT NULL,
    bytes           INTEGER NOT NULL,
    fetched_at      INTEGER NOT NULL,
    analysis        TEXT    NOT NULL  -- JSON: capabilities, domains, parse errors
);
CREATE INDEX script_versions_url ON script_versions (site, url, id DESC);

CREATE TABLE script_fetches (
    id          INTEGER PRIMARY KEY,
    site        TEXT    NOT NULL,
    url         TEXT    NOT NULL,
    at          INTEGER NOT NULL,
    outcome     TEXT    NOT NULL, -- new_version | unchanged | error | refused
    status_code INTEGER,
    error       TEXT,
    sha256      TEXT
);
CREATE INDEX script_fetches_url ON script_fetches (site, url, id DESC);

-- Alerts: the dedup key joins (site, kind, subject) in the unique constraint.
CREATE TABLE alerts_v2 (
    id         INTEGER PRIMARY KEY,
    kind       TEXT    NOT NULL,
    site       TEXT    NOT NULL,
    subject    TEXT    NOT NULL,
    dedup      TEXT    NOT NULL DEFAULT '',
    severity   TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    details    TEXT    NOT NULL,
    UNIQUE (site, kind, subject, dedup)
);
INSERT INTO alerts_v2 (id, kind, site, subject, severity, created_at, details)
    SELECT id, kind, site, subject, severity, created_at, details FROM alerts;
DROP INDEX alerts_created;
-- deliveries reference alerts(id); ids are preserved, and SQLite rewrites the reference on rename.
DROP TABLE alerts;
ALTER TABLE alerts_v2 RENAME TO alerts;
CREATE INDEX alerts_created ON alerts (created_at DESC);
