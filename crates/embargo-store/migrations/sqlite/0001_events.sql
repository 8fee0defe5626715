-- The append-only, hash-chained event log and the case projection.
-- Written in SQL that PostgreSQL also accepts.
CREATE TABLE events (
    seq BIGINT PRIMARY KEY,
    case_id TEXT NOT NULL,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    kind TEXT NOT NULL,
    payload TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE INDEX events_by_case ON events (case_id, seq);

-- The newest event's number and hash, updated with every append, so that
-- removing events from the end of the log is detected too.
CREATE TABLE chain_head (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    seq BIGINT NOT NULL,
    hash TEXT NOT NULL
);

CREATE TABLE cases (
    id TEXT PRIMARY KEY,
    project TEXT NOT NULL,
    title TEXT NOT NULL,
    stage TEXT NOT NULL,
    handling TEXT NOT NULL,
    embargo TEXT NOT NULL,
    received_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    version BIGINT NOT NULL
);
