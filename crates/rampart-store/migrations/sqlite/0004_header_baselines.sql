-- PCI DSS 4.0 11.6.1: the security headers each page was last served with (seen by the proxy),
-- so that a change is noticed across restarts and by every node.
CREATE TABLE header_baselines (
    site       TEXT    NOT NULL,
    page       TEXT    NOT NULL,
    headers    TEXT    NOT NULL, -- JSON object: lowercase header name → value
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (site, page)
);
