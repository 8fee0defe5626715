-- Search: each term of each case (title words, affected packages and their
-- names), open or closed, as a keyed hash, so the inbox finds a case by
-- words without titles in clear at rest. Equal hashes show that two cases
-- share a word; the words themselves are not here.
CREATE TABLE search_terms (
    term TEXT NOT NULL,
    case_id TEXT NOT NULL,
    PRIMARY KEY (term, case_id)
);
CREATE INDEX search_terms_by_case ON search_terms (case_id);

-- Computed for every case at the next start.
DELETE FROM read_model;
