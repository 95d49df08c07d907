-- PCI DSS 4.0 11.6.1: the scripts each watched payment page carried when last fetched (its
-- `<script src>` URLs and the structure of its inline scripts), so that an addition or a
-- removal is noticed across restarts and by every node.
CREATE TABLE page_scripts (
    site       TEXT    NOT NULL,
    page       TEXT    NOT NULL,
    scripts    TEXT    NOT NULL, -- JSON object: script key → what to show for it
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (site, page)
);
