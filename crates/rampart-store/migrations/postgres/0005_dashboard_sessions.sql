-- PostgreSQL twin of migrations/sqlite/0005. Dashboard sign-ins, shared by every node and kept
-- across restarts. Only the SHA-256 of a session id is stored.
CREATE TABLE dashboard_sessions (
    id_sha256  TEXT   PRIMARY KEY,
    expires_at BIGINT NOT NULL
);
