-- Issue 39: the two foreign keys of the hot tables go. PostgreSQL checked
-- each inserted delivery against hub_events, and each attempt against
-- hub_deliveries, with a lookup whose plan it caches: made while a table
-- was small (an ANALYZE of a new hub, as autovacuum runs it early), the
-- cached plan reads the whole table, and stays until the next ANALYZE,
-- however large the table grows meanwhile (3 subscriptions went from
-- 5,300 deliveries/s to 1,950). The hub inserts deliveries only in the
-- transaction that inserts their event, deletes an event only when no
-- delivery names it, and deletes a delivery's attempts with it (the purge).
ALTER TABLE hub_deliveries DROP CONSTRAINT IF EXISTS hub_deliveries_event_seq_fkey;
ALTER TABLE hub_attempts DROP CONSTRAINT IF EXISTS hub_attempts_delivery_id_fkey;
