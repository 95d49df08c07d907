-- PCI DSS 4.0 6.4.3: a method to confirm that each payment-page script is authorized, and to
-- assure its integrity. One row per (site, script URL): who authorized it, when, and the
-- version they looked at (its structure and bytes; NULL when no version had been fetched). A
-- later version of another structure no longer matches: the authorization has lapsed.
CREATE TABLE script_authorizations (
    site            TEXT    NOT NULL,
    url             TEXT    NOT NULL,
    authorized_by   TEXT    NOT NULL,
    authorized_at   INTEGER NOT NULL,
    structural_hash TEXT,
    sha256          TEXT,
    PRIMARY KEY (site, url)
);

-- Every authorization and revocation, kept: the audit trail an assessor asks for (who
-- authorized which version when, and who withdrew it).
CREATE TABLE authorization_events (
    id              INTEGER PRIMARY KEY,
    site            TEXT    NOT NULL,
    url             TEXT    NOT NULL,
    action          TEXT    NOT NULL, -- authorized | revoked
    actor           TEXT    NOT NULL,
    at              INTEGER NOT NULL,
    structural_hash TEXT,
    sha256          TEXT
);
CREATE INDEX authorization_events_url ON authorization_events (site, url, id DESC);
