-- Encryption at rest: each case's data key, wrapped by the master key (which
-- is kept outside the database), and a check value that identifies the
-- master key without revealing it.
CREATE TABLE case_keys (
    case_id TEXT PRIMARY KEY,
    wrapped TEXT NOT NULL
);

CREATE TABLE key_check (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    check_value TEXT NOT NULL
);

-- The projection no longer keeps the report's project and title in clear.
UPDATE cases SET project = '', title = '';
