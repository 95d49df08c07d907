-- PostgreSQL twin of migrations/sqlite/0007. PCI DSS 4.0 6.4.3: who authorized each script,
-- when, and the version (structure and bytes) they looked at.
CREATE TABLE script_authorizations (
    site            TEXT   NOT NULL,
    url             TEXT   NOT NULL,
    authorized_by   TEXT   NOT NULL,
    authorized_at   BIGINT NOT NULL,
    structural_hash TEXT,
    sha256          TEXT,
    PRIMARY KEY (site, url)
);
