-- The durable outbox: side effects (mail, later webhooks and adapters) are
-- written here first and done by a worker, with retries and backoff. `key`
-- is the job's idempotency key: the same key is enqueued once, however many
-- times the scheduler finds it due. `payload` is sealed with the master key.
CREATE TABLE outbox (
    id INTEGER PRIMARY KEY,
    key TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    case_id TEXT,
    payload BLOB NOT NULL,
    created_at BIGINT NOT NULL,
    next_attempt_at BIGINT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    done_at BIGINT,
    failed_at BIGINT,
    last_error TEXT
);
CREATE INDEX outbox_due ON outbox (done_at, failed_at, next_attempt_at);

-- Every attempt, kept: what was tried, when, and how it ended.
CREATE TABLE outbox_attempts (
    id INTEGER PRIMARY KEY,
    job_id BIGINT NOT NULL,
    at BIGINT NOT NULL,
    outcome TEXT NOT NULL,
    error TEXT
);
CREATE INDEX outbox_attempts_job ON outbox_attempts (job_id);
