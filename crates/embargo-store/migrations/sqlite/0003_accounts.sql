-- People, invitations, sessions, projects and the access log.
-- Times are unix seconds. Secrets are stored only as hashes, except the TOTP
-- seed, which the server needs to check codes.
CREATE TABLE people (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    email TEXT NOT NULL,
    org_role TEXT NOT NULL,
    password_hash TEXT,
    totp_secret TEXT,
    totp_enrolled BIGINT NOT NULL DEFAULT 0,
    totp_last_step BIGINT NOT NULL DEFAULT 0,
    failed_signins BIGINT NOT NULL DEFAULT 0,
    throttled_until BIGINT NOT NULL DEFAULT 0,
    locked BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL
);

CREATE TABLE invitations (
    token_hash TEXT PRIMARY KEY,
    person TEXT NOT NULL REFERENCES people (id),
    created_by TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT
);

CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    person TEXT NOT NULL REFERENCES people (id),
    csrf_token TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX sessions_by_person ON sessions (person);

CREATE TABLE projects (
    name TEXT PRIMARY KEY,
    repositories TEXT NOT NULL,
    packages TEXT NOT NULL,
    series TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE project_maintainers (
    project TEXT NOT NULL REFERENCES projects (name),
    person TEXT NOT NULL REFERENCES people (id),
    PRIMARY KEY (project, person)
);

-- Sign-ins, failures and every view of a case: who, when, what.
CREATE TABLE access_log (
    at BIGINT NOT NULL,
    person TEXT NOT NULL,
    action TEXT NOT NULL,
    subject TEXT NOT NULL,
    detail TEXT NOT NULL
);
CREATE INDEX access_log_by_subject ON access_log (subject, at);
