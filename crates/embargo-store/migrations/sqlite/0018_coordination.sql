-- Coordination that every server of a deployment shares.
--
-- Attempts per key in a fixed window (sign-ins and form submissions per
-- source address): the key is a keyed hash, not the address. One
-- statement counts and reads, so parallel attempts count exactly.
CREATE TABLE rate_counts (
    key TEXT PRIMARY KEY,
    window_start BIGINT NOT NULL,
    n BIGINT NOT NULL
);
CREATE INDEX rate_counts_window ON rate_counts (window_start);
-- One-at-a-time work (the scheduler's pass, each channel's check): who
-- holds it and until when. Taken by insert-if-absent or over an expired
-- or own lease, in one statement.
CREATE TABLE leases (
    name TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    until BIGINT NOT NULL
);
