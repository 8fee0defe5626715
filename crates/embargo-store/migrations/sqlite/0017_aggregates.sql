-- Aggregates of `case_figures`, kept by the writer in the transaction of
-- each append (it takes the old row's share away and adds the new one's),
-- so that the dashboard reads a few rows per day or month instead of every
-- report of its window.
--
-- Acknowledgements per project (keyed hash) and day (UTC, days since the
-- epoch) of the report: how many were answered by their deadline and how
-- many after it. Unanswered reports are counted from `case_figures`
-- (`case_figures_unacked`): whether one is late depends on the hour.
CREATE TABLE ack_days (
    day BIGINT NOT NULL,
    project TEXT NOT NULL,
    in_time BIGINT NOT NULL,
    late BIGINT NOT NULL,
    PRIMARY KEY (day, project)
);
-- How long each step took, per month of the report (year * 12 + month - 1)
-- and step: a histogram (JSON, bucket -> count) at the precision the
-- dashboard shows (`stats::bucket`).
CREATE TABLE step_months (
    month BIGINT NOT NULL,
    step TEXT NOT NULL,
    hist TEXT NOT NULL,
    PRIMARY KEY (month, step)
);
CREATE INDEX case_figures_unacked ON case_figures (received, ack_due, project)
    WHERE acknowledged IS NULL;
-- The longest exposures: open ones by age, disclosed ones by how long
-- disclosure took.
CREATE INDEX case_figures_open_exposure ON case_figures (received, case_id)
    WHERE valid = 1 AND published IS NULL;
CREATE INDEX case_figures_disclosed ON case_figures (published - received DESC, case_id)
    WHERE valid = 1 AND published IS NOT NULL;
-- The read model is computed again on the next start, which fills these.
DELETE FROM read_model;
