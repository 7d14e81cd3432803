-- A subscription's pending deliveries by due time: which subscriptions
-- have a delivery due (the claim of the windowed dispatcher) and when the
-- next one is due, without walking deliveries that wait for a retry.
CREATE INDEX hub_deliveries_webhook_due ON hub_deliveries (webhook_id, next_attempt_at) WHERE state = 'pending';
-- The index of every pending delivery by due time goes: once the planner's
-- statistics showed few pending rows, PostgreSQL read a subscription's
-- next deliveries through it, walking every pending delivery of every
-- subscription on each read (31 ms a read with 20 subscriptions and a
-- backlog, instead of a range of the subscription's own). Every query
-- that needs due times now starts from a subscription.
DROP INDEX hub_deliveries_due;
