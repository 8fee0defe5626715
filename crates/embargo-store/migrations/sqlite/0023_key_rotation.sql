-- Master key rotation: while one runs, `next_check` names the new key, which
-- seals everything written meanwhile; the old key (`check_value`) still
-- opens what is not moved yet. The lookup key outlives rotations: the first
-- rotation keeps it here, wrapped by the master key (before, it was derived
-- from the master key).
ALTER TABLE key_check ADD COLUMN next_check TEXT;
CREATE TABLE store_keys (
    name TEXT PRIMARY KEY,
    wrapped TEXT NOT NULL
);
