-- Git credentials for built-in private forks: one per person, case and
-- project, stored as the SHA-256 of the secret (shown once).
CREATE TABLE fork_credentials (
    case_id TEXT NOT NULL,
    project TEXT NOT NULL,
    person TEXT NOT NULL,
    secret_hash TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (case_id, project, person)
);

-- Private calendar feeds: one token per person, stored as its SHA-256.
CREATE TABLE calendar_tokens (
    token_hash TEXT PRIMARY KEY,
    person TEXT NOT NULL UNIQUE,
    created_at INTEGER NOT NULL
);
