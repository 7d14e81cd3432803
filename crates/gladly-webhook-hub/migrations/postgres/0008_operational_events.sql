-- Operational events: what the hub tells its operator about itself (a
-- subscription deactivated, a delivery exhausted, a backlog past its
-- threshold, a subscription re-enabled), delivered as Standard Webhooks to
-- the operator's endpoints through the same outbox.
--
-- An operational event is a row of `hub_events` marked `operational`: the
-- Events API and publications never see it. The operator's endpoints are
-- rows of `hub_webhooks` of model `operator`, which the subscription APIs
-- never show. `backlog_alerted_at` is set when a subscription's backlog
-- crossed its threshold (one event per crossing, whichever hub saw it) and
-- cleared when it is back under.
ALTER TABLE hub_events ADD COLUMN operational BOOLEAN NOT NULL DEFAULT FALSE;
CREATE INDEX hub_events_operational ON hub_events (seq) WHERE operational;
ALTER TABLE hub_webhooks ADD COLUMN backlog_alerted_at BIGINT;
