-- PostgreSQL twin of migrations/sqlite/0008: the scripts each watched payment page carried
-- when last fetched.
CREATE TABLE page_scripts (
    site       TEXT   NOT NULL,
    page       TEXT   NOT NULL,
    scripts    TEXT   NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (site, page)
);
