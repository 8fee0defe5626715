-- Screening. A project's screening policy as an admin saved it in the
-- browser (JSON: what a report must hold, the "not a vulnerability" list),
-- in force at once in place of the file's [screening.projects.NAME].
CREATE TABLE project_screening (
    project TEXT PRIMARY KEY,
    settings TEXT NOT NULL,
    updated_at BIGINT NOT NULL,
    updated_by TEXT NOT NULL
);

-- Each case's reporter identities (keyed hashes of the address and of the
-- verified signing key) with where the case stands: a sender's history is
-- one index range, whatever the archive's size. Part of the read model.
CREATE TABLE reporter_cases (
    who TEXT NOT NULL,
    case_id TEXT NOT NULL,
    received BIGINT NOT NULL,
    stage TEXT NOT NULL,
    rejected TEXT NOT NULL,
    PRIMARY KEY (who, case_id)
);
CREATE INDEX reporter_cases_by_case ON reporter_cases (case_id);

-- When a held report was answered from the queue: the dashboard's
-- "screen" step (report to screening answer), kept with the other steps.
ALTER TABLE case_figures ADD COLUMN screened BIGINT;

-- The read model gains a table and a column: computed again on the next
-- start.
DELETE FROM read_model;
