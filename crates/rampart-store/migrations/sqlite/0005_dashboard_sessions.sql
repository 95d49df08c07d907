-- Dashboard sign-ins, shared by every node and kept across restarts. Only the SHA-256 of a
-- session id is stored: a copy of the database does not sign anyone in.
CREATE TABLE dashboard_sessions (
    id_sha256  TEXT    PRIMARY KEY,
    expires_at INTEGER NOT NULL
);
