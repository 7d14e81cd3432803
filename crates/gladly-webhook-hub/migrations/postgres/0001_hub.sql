-- The hub's store. Times are Unix milliseconds.

-- Subscriptions. `url_key` is the URL as normalized for the uniqueness
-- rule; `events` is a JSON array of event type names. A dispatcher holds
-- a subscription's lease while it delivers to it, so that deliveries to
-- one subscription go out one at a time, in publish order.
CREATE TABLE hub_webhooks (
    id           TEXT    PRIMARY KEY,
    url          TEXT    NOT NULL,
    url_key      TEXT    NOT NULL UNIQUE,
    events       TEXT    NOT NULL,
    secret       TEXT    NOT NULL,
    active       BOOLEAN NOT NULL,
    created_at   BIGINT  NOT NULL,
    modified_at  BIGINT  NOT NULL,
    lease_until  BIGINT,
    lease_token  BIGINT
);

-- Published events, as they are sent; `received_sha256` is the hex SHA-256
-- of the body as the publisher sent it (before `id` and `timestamp` were
-- filled in), by which a republication is recognised.
CREATE TABLE hub_events (
    seq          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_id     TEXT    NOT NULL UNIQUE,
    event_type   TEXT    NOT NULL,
    body         BYTEA   NOT NULL,
    received_sha256 TEXT NOT NULL,
    published_at BIGINT  NOT NULL
);

-- The outbox: one row per event and subscription.
CREATE TABLE hub_deliveries (
    id              TEXT    PRIMARY KEY,
    webhook_id      TEXT    NOT NULL,
    event_seq       BIGINT  NOT NULL REFERENCES hub_events (seq),
    state           TEXT    NOT NULL CHECK (state IN ('pending', 'delivered', 'failed', 'cancelled')),
    attempts        BIGINT  NOT NULL DEFAULT 0,
    next_attempt_at BIGINT  NOT NULL,
    created_at      BIGINT  NOT NULL,
    finished_at     BIGINT,
    reason          TEXT
);
CREATE INDEX hub_deliveries_queue ON hub_deliveries (webhook_id, event_seq) WHERE state = 'pending';
CREATE INDEX hub_deliveries_due ON hub_deliveries (next_attempt_at) WHERE state = 'pending';
CREATE INDEX hub_deliveries_webhook ON hub_deliveries (webhook_id, event_seq);
CREATE INDEX hub_deliveries_event ON hub_deliveries (event_seq);
CREATE INDEX hub_deliveries_finished ON hub_deliveries (finished_at) WHERE state <> 'pending';
CREATE INDEX hub_events_published ON hub_events (published_at);

-- Each attempt of a delivery.
CREATE TABLE hub_attempts (
    delivery_id  TEXT    NOT NULL REFERENCES hub_deliveries (id) ON DELETE CASCADE,
    number       BIGINT  NOT NULL,
    at           BIGINT  NOT NULL,
    status       BIGINT,
    error        TEXT,
    duration_ms  BIGINT  NOT NULL,
    PRIMARY KEY (delivery_id, number)
);

-- Subscriptions the hub deactivated, and why.
CREATE TABLE hub_deactivations (
    seq          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    webhook_id   TEXT    NOT NULL,
    url          TEXT    NOT NULL,
    at           BIGINT  NOT NULL,
    delivery_id  TEXT,
    event_id     TEXT,
    reason       TEXT    NOT NULL
);
