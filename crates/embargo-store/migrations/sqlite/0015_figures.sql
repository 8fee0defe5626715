-- The dashboard's figures, kept by the writer with every append like the
-- rest of the read model: each case's times (no contents; the project is a
-- keyed hash), and each running clock of an open case by its deadline.

CREATE TABLE case_figures (
    case_id TEXT PRIMARY KEY,
    project TEXT NOT NULL,
    received BIGINT NOT NULL,
    ack_due BIGINT NOT NULL,
    acknowledged BIGINT,
    triaged BIGINT,
    fix_ready BIGINT,
    fix_released BIGINT,
    published BIGINT,
    agreed_until BIGINT,
    valid BIGINT NOT NULL
);
CREATE INDEX case_figures_received ON case_figures (received);
-- Agreed moments not yet reached by publication (calendar feeds).
CREATE INDEX case_figures_agreed ON case_figures (agreed_until)
    WHERE agreed_until IS NOT NULL AND published IS NULL;

CREATE TABLE case_clocks (
    case_id TEXT NOT NULL,
    clock TEXT NOT NULL,
    due BIGINT NOT NULL,
    PRIMARY KEY (case_id, clock)
);
CREATE INDEX case_clocks_due ON case_clocks (due);

-- Duplicate hints: each term (title word, affected package) of each case
-- that may be a duplicate's match, as a keyed hash, and how many cases have
-- it (a term most cases share says little and is not looked up). Equal
-- hashes show that two cases share a word; the words themselves are not
-- here.
CREATE TABLE case_terms (
    term TEXT NOT NULL,
    case_id TEXT NOT NULL,
    PRIMARY KEY (term, case_id)
);
CREATE INDEX case_terms_by_case ON case_terms (case_id);
CREATE TABLE term_counts (
    term TEXT PRIMARY KEY,
    n BIGINT NOT NULL
);

-- Computed for every case at the next start.
DELETE FROM read_model;
