-- One-use recovery codes for a lost authenticator, each as a keyed hash
-- (HMAC under the master key): the database alone cannot test a guess.
CREATE TABLE recovery_codes (
    person TEXT NOT NULL REFERENCES people (id),
    code_hash TEXT NOT NULL,
    used_at BIGINT,
    PRIMARY KEY (person, code_hash)
);
