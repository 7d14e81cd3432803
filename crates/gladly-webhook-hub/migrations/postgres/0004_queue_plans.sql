-- The deliveries of an event, by equality only: a hash index. As a B-tree
-- ordered by `event_seq` it was also a way to read a subscription's next
-- deliveries in publish order (filtering out every other subscription's),
-- and once ANALYZE had run with few pending rows PostgreSQL chose it over
-- the subscription's own range of `hub_deliveries_queue`: 11,000 buffers
-- and 38 ms a read instead of a few. A hash index gives no order, so that
-- plan cannot be made; what uses this index (an event's deliveries, the
-- purge, the foreign key) looks events up by equality.
DROP INDEX hub_deliveries_event;
CREATE INDEX hub_deliveries_event ON hub_deliveries USING hash (event_seq);
-- Every delivery changes state once (pending to finished), which leaves a
-- dead entry in the partial indexes of pending deliveries until the table
-- is vacuumed, and every read of a subscription's queue walks past them.
-- Autovacuum's default waits until a fifth of the table is dead, which for
-- an outbox kept 30 days is weeks of deliveries; here 1% (and at least
-- 1,000 rows) starts a vacuum.
ALTER TABLE hub_deliveries SET (autovacuum_vacuum_scale_factor = 0.01, autovacuum_vacuum_threshold = 1000);
