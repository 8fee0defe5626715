-- The read model the writer keeps in the transaction of every append, so
-- that lists, visibility and the scheduler read what they need without
-- folding every case. Nothing a reporter wrote is here: projects and people
-- are keyed hashes (MasterKey::lookup), like channel references.

-- One row per case: what the inbox sorts and filters on.
CREATE TABLE case_list (
    case_id TEXT PRIMARY KEY,
    version BIGINT NOT NULL,
    -- The queue order: unacknowledged first, then by acknowledgement
    -- deadline (under the policy in force), then by arrival.
    acked BIGINT NOT NULL,
    ack_due BIGINT NOT NULL,
    received BIGINT NOT NULL,
    stage TEXT NOT NULL,
    tlp TEXT NOT NULL,
    severity TEXT NOT NULL,
    project TEXT NOT NULL,
    coordinator TEXT NOT NULL,
    published BIGINT
);
CREATE INDEX case_list_published ON case_list (published) WHERE published IS NOT NULL;

-- Who a case is open to (access::grants), each principal a keyed hash, with
-- the queue order copied so that one principal's cases are one index range.
CREATE TABLE case_grants (
    principal TEXT NOT NULL,
    acked BIGINT NOT NULL,
    ack_due BIGINT NOT NULL,
    received BIGINT NOT NULL,
    case_id TEXT NOT NULL,
    PRIMARY KEY (principal, acked, ack_due, received, case_id)
);
CREATE INDEX case_grants_by_case ON case_grants (case_id);

-- When the scheduler next has work on a case (the policy's next instant),
-- with the case version it was computed from.
CREATE TABLE timers (
    case_id TEXT PRIMARY KEY,
    due_at BIGINT NOT NULL,
    version BIGINT NOT NULL
);
CREATE INDEX timers_due ON timers (due_at);

-- The policy the read model was computed under; another one recomputes it
-- once, at start.
CREATE TABLE read_model (
    id BIGINT PRIMARY KEY,
    policy TEXT NOT NULL
);

-- How many cases are at each stage, kept with every append, for /metrics.
CREATE TABLE stage_totals (
    stage TEXT PRIMARY KEY,
    n BIGINT NOT NULL
);

-- Unanswered reports by deadline, for the breach count.
CREATE INDEX case_list_unanswered ON case_list (acked, stage, ack_due);

-- A case page reads its own messages and jobs: by case, not by scan.
CREATE INDEX inbound_by_case ON inbound (case_id);
CREATE INDEX outbox_by_case ON outbox (case_id);

-- How many jobs of each family were ever added (a key up to its first
-- ':', fan-out jobs aside), for /metrics' counters.
CREATE TABLE job_families (
    family TEXT PRIMARY KEY,
    n BIGINT NOT NULL
);
INSERT INTO job_families (family, n)
    SELECT substr(key, 1, instr(key, ':') - 1), COUNT(*) FROM outbox
    WHERE instr(key, '|') = 0 AND instr(key, ':') > 0
    GROUP BY substr(key, 1, instr(key, ':') - 1);
