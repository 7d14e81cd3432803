-- The relay (issue 34): a delivery that passed its input's rule but is not
-- a well-formed event is kept, for inspection, as an event with no
-- delivery and the reason it is malformed; NULL for every other event.
ALTER TABLE hub_events ADD COLUMN malformed TEXT;

-- Where a reader of another source stopped (a relay's backfill from
-- Gladly's Events API), by name.
CREATE TABLE hub_cursors (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
