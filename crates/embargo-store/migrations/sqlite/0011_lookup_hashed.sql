-- Channel references (`inbound.reference`, `mail_threads.message_id`) are
-- stored as keyed hashes (HMAC-SHA-256 under a key derived from the master
-- key, prefixed `h1:`), never in clear. Rows written before are hashed once
-- at the first start with the key; this row records that it was done.
CREATE TABLE lookup_hashed (
    id INTEGER PRIMARY KEY CHECK (id = 1)
);
