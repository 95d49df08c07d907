-- PostgreSQL twin of migrations/sqlite/0003. PCI DSS 4.0 6.4.3: every script on a payment page
-- needs a written justification. One row per (site, script URL).
CREATE TABLE script_justifications (
    site          TEXT   NOT NULL,
    url           TEXT   NOT NULL,
    justification TEXT   NOT NULL,
    updated_at    BIGINT NOT NULL,
    PRIMARY KEY (site, url)
);
