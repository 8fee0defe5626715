-- The last good scheduled backup: when, which file, how many events.
CREATE TABLE last_backup (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    at BIGINT NOT NULL,
    file TEXT NOT NULL,
    events BIGINT NOT NULL
);
