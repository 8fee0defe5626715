-- How many messages sit in quarantine, kept by the database itself on
-- every insert, change and removal of an inbound row, so that the SRT's
-- pages read one row instead of counting a quarantine a flood can fill.
CREATE TABLE quarantine_total (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    n BIGINT NOT NULL
);
INSERT INTO quarantine_total (id, n)
    SELECT 1, COUNT(*) FROM inbound WHERE outcome = 'quarantined';

CREATE TRIGGER quarantine_total_insert AFTER INSERT ON inbound
    WHEN NEW.outcome = 'quarantined'
BEGIN
    UPDATE quarantine_total SET n = n + 1 WHERE id = 1;
END;

CREATE TRIGGER quarantine_total_update AFTER UPDATE OF outcome ON inbound
    WHEN (OLD.outcome = 'quarantined') != (NEW.outcome = 'quarantined')
BEGIN
    UPDATE quarantine_total
        SET n = n + (CASE WHEN NEW.outcome = 'quarantined' THEN 1 ELSE -1 END)
        WHERE id = 1;
END;

CREATE TRIGGER quarantine_total_delete AFTER DELETE ON inbound
    WHEN OLD.outcome = 'quarantined'
BEGIN
    UPDATE quarantine_total SET n = n - 1 WHERE id = 1;
END;
