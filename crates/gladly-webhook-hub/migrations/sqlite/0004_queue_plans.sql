-- Nothing changes on SQLite. On PostgreSQL this migration makes the index
-- of an event's deliveries a hash index (so it cannot be chosen to read a
-- subscription's queue in publish order) and vacuums the deliveries more
-- often. SQLite's B-tree of `event_seq` stays: updating a row in place
-- leaves no dead index entries, and its planner reads a subscription's
-- queue through `hub_deliveries_queue` with or without ANALYZE's
-- statistics (checked with EXPLAIN QUERY PLAN, see the bench's docs).
SELECT 1;
