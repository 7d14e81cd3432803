-- Gladly's REST API 1.0 webhooks beside our user's subscriptions.
--
-- `model` says which model a subscription belongs to (`subscription` or
-- `rest-api-v1`, as gladly_webhook_core::model::Model names them); a
-- hub serves one model and refuses a store holding the other's.
-- `secret` keeps what authenticates the subscription's deliveries, sealed
-- like a secret: the HMAC secret (subscription model), or the webhook's
-- `credentials` and `headers` as JSON (REST API 1.0). `header_keys` is
-- the JSON array of those headers' names, which the API shows.
-- `disabled_at_retry_limit` is set when the dispatcher deactivated the
-- subscription because its retries ran out, and cleared when it is
-- enabled again.
ALTER TABLE hub_webhooks ADD COLUMN model TEXT NOT NULL DEFAULT 'subscription';
ALTER TABLE hub_webhooks ADD COLUMN name TEXT;
ALTER TABLE hub_webhooks ADD COLUMN header_keys TEXT NOT NULL DEFAULT '[]';
ALTER TABLE hub_webhooks ADD COLUMN disabled_at_retry_limit BIGINT;
