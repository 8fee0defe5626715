-- What the reporter is told at each stage, as the admins wrote it. A stage
-- without a row uses the built-in text.
CREATE TABLE status_texts (
    stage TEXT PRIMARY KEY,
    body TEXT NOT NULL,
    updated_by TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);
