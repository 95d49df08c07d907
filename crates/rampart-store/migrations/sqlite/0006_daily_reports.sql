-- Reports accepted per site and UTC day (YYYY-MM-DD), for the dashboard's reports-per-day chart.
CREATE TABLE daily_reports (
    site    TEXT    NOT NULL,
    day     TEXT    NOT NULL,
    reports INTEGER NOT NULL,
    PRIMARY KEY (site, day)
);
