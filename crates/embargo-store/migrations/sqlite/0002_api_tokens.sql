-- API tokens, stored as SHA-256 hashes only; the token itself is shown once.
CREATE TABLE api_tokens (
    token_hash TEXT PRIMARY KEY,
    person TEXT NOT NULL,
    created_at TEXT NOT NULL
);
