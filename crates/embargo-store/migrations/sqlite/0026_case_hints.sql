-- Duplicate hints, computed when a case's title words or affected packages
-- change (not when a case is opened): each pair of open cases that may be
-- the same report, stored both ways, with the order they are shown in
-- (lower first). Case ids only: why they are alike is worked out again
-- from the two cases when one is shown.
CREATE TABLE case_hints (
    case_id TEXT NOT NULL,
    other_id TEXT NOT NULL,
    rank BIGINT NOT NULL,
    PRIMARY KEY (case_id, other_id)
);
CREATE INDEX case_hints_shown ON case_hints (case_id, rank, other_id);
CREATE INDEX case_hints_other ON case_hints (other_id);

-- The cases whose hints are to be worked out again, with the version that
-- asked; the writer adds a case in the transaction that changed its terms.
CREATE TABLE hints_due (
    case_id TEXT PRIMARY KEY,
    version BIGINT NOT NULL
);
-- The cases open before hints were stored get theirs once.
INSERT INTO hints_due (case_id, version)
    SELECT DISTINCT t.case_id, l.version FROM case_terms t
    JOIN case_list l ON l.case_id = t.case_id;
