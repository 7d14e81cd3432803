-- A subscription's pending deliveries by due time: which subscriptions
-- have a delivery due (the claim of the windowed dispatcher), without
-- walking their pending deliveries that wait for a retry.
CREATE INDEX hub_deliveries_webhook_due ON hub_deliveries (webhook_id, next_attempt_at) WHERE state = 'pending';
