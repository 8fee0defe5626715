-- Failed sign-ins for handles that name no one, counted like a person's
-- (`people.failed_signins`, `throttled_until`, `locked`), so that an
-- unknown handle is slowed and locked exactly as a known one and the
-- answers do not tell which accounts exist. The handle is kept as a keyed
-- hash (see `MasterKey::lookup`).
CREATE TABLE signin_unknown (
    handle_key TEXT PRIMARY KEY,
    failed_signins BIGINT NOT NULL DEFAULT 0,
    throttled_until BIGINT NOT NULL DEFAULT 0,
    locked BIGINT NOT NULL DEFAULT 0
);
