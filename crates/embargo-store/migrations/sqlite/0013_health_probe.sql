-- One row `/healthz` writes, so that a full or failing disk shows there.
CREATE TABLE health_probe (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    n BIGINT NOT NULL
);
