-- The Events API reads events by their `timestamp`, when Gladly recorded
-- them, not by when they were published: `occurred_at` is that timestamp in
-- milliseconds (the hub fills in `timestamp` when a publisher gives none).
-- Events published before this column read their publication time. The
-- index serves the API's reads, in timestamp order with `seq` breaking
-- ties.
ALTER TABLE hub_events ADD COLUMN occurred_at BIGINT;
UPDATE hub_events SET occurred_at = published_at;
CREATE INDEX hub_events_occurred ON hub_events (occurred_at, seq);
