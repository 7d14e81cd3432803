-- The inbox: one row per delivery kept, keyed by its dedup key (the event
-- id, or sha256:<hex of the body> for a payload without one). Times are
-- Unix milliseconds.
CREATE TABLE gladly_inbox (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    dedup_key    TEXT    NOT NULL UNIQUE,
    event_id     TEXT,
    event_type   TEXT    NOT NULL,
    body         BLOB    NOT NULL,
    received_at  INTEGER NOT NULL,
    state        TEXT    NOT NULL CHECK (state IN ('pending', 'running', 'done', 'dead')),
    attempts     INTEGER NOT NULL DEFAULT 0,
    next_run_at  INTEGER NOT NULL,
    lease_until  INTEGER,
    lease_token  INTEGER,
    last_error   TEXT,
    updated_at   INTEGER NOT NULL
);

-- What workers look for: runnable pending rows, and expired leases.
CREATE INDEX gladly_inbox_pending ON gladly_inbox (next_run_at) WHERE state = 'pending';
CREATE INDEX gladly_inbox_leases ON gladly_inbox (lease_until) WHERE state = 'running';
CREATE INDEX gladly_inbox_state ON gladly_inbox (state, updated_at);

-- Each run of a handler, and each requeue: the event's history.
CREATE TABLE gladly_inbox_history (
    seq          INTEGER NOT NULL REFERENCES gladly_inbox (seq) ON DELETE CASCADE,
    at           INTEGER NOT NULL,
    attempt      INTEGER NOT NULL,
    outcome      TEXT    NOT NULL,
    detail       TEXT
);
CREATE INDEX gladly_inbox_history_seq ON gladly_inbox_history (seq);
