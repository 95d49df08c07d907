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
