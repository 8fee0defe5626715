-- Jobs run in lanes: `main` (mail, notices, webhooks, release work: each
-- quick) and `long` (CI runs, which may take minutes and must not hold the
-- others back). A worker claims due jobs of its lane with a lease: the
-- claim moves the job's next attempt to the lease's end and names the
-- worker, so no other worker takes it meanwhile, and a worker that dies
-- leaves it due again when the lease ends.
ALTER TABLE outbox ADD COLUMN lane TEXT NOT NULL DEFAULT 'main';
ALTER TABLE outbox ADD COLUMN leased_by TEXT;
CREATE INDEX outbox_lane_due ON outbox (lane, done_at, failed_at, next_attempt_at);
