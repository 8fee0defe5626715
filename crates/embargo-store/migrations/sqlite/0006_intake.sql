-- Every inbound message or submission, kept raw whatever became of it: a new
-- case, a reply threaded onto a case, or quarantine with the reason. `raw` is
-- sealed with the master key (nonce, ciphertext, tag); nothing a reporter
-- sent is kept in clear. `reference` is the channel's own id (an email
-- Message-ID, a GHSA id): the same reference on the same channel is received
-- once.
CREATE TABLE inbound (
    id INTEGER PRIMARY KEY,
    received_at BIGINT NOT NULL,
    channel TEXT NOT NULL,
    source TEXT NOT NULL,
    reference TEXT,
    outcome TEXT NOT NULL,
    case_id TEXT,
    reason TEXT,
    size BIGINT NOT NULL,
    raw BLOB NOT NULL
);
CREATE UNIQUE INDEX inbound_reference ON inbound (channel, reference);
CREATE INDEX inbound_outcome ON inbound (outcome, received_at);

-- The reporter's private status links, by the SHA-256 of the token.
CREATE TABLE reporter_links (
    token_hash TEXT PRIMARY KEY,
    case_id TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX reporter_links_case ON reporter_links (case_id);

-- Files sent with a report, sealed with the case's data key (name and content).
CREATE TABLE attachments (
    id INTEGER PRIMARY KEY,
    case_id TEXT NOT NULL,
    name BLOB NOT NULL,
    content_type TEXT NOT NULL,
    size BIGINT NOT NULL,
    content BLOB NOT NULL
);
CREATE INDEX attachments_case ON attachments (case_id);

-- Email threading: Message-IDs that belong to a case (the reporter's own
-- first message, and every message embargo sent about the case), so that a
-- reply's In-Reply-To or References finds its case.
CREATE TABLE mail_threads (
    message_id TEXT PRIMARY KEY,
    case_id TEXT NOT NULL
);
