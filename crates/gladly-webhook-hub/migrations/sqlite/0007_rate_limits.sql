-- Rate limits and back-pressure per subscription.
--
-- `rate_limit`: the most deliveries a second to the subscription (NULL: no
-- limit), enforced by whichever dispatcher holds its lease.
-- `rate_next_at`: the first moment the next run may send, written when a
-- run gives its lease up, so a run on another hub keeps the pace.
-- `paused_until`: a receiver's `429` or `503` with `Retry-After` (in the
-- models that honour it): no dispatcher claims the subscription before then.
ALTER TABLE hub_webhooks ADD COLUMN rate_limit INTEGER;
ALTER TABLE hub_webhooks ADD COLUMN rate_next_at INTEGER;
ALTER TABLE hub_webhooks ADD COLUMN paused_until INTEGER;
