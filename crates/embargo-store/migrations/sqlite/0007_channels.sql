-- The inventory of reporting channels (SPEC-11: every channel listed and
-- watched). `settings` holds what polling needs (a mailbox's host and
-- password, a repository and token), sealed with the master key.
CREATE TABLE channels (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    name TEXT NOT NULL UNIQUE,
    scope TEXT NOT NULL,
    settings BLOB,
    interval_seconds BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    last_check_at BIGINT,
    last_ok_at BIGINT,
    last_error TEXT,
    last_message_at BIGINT,
    canary_token TEXT,
    canary_sent_at BIGINT,
    canary_back_at BIGINT
);
