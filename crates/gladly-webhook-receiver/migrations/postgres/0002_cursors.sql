-- Where a reader of another source (a backfill from Gladly's Events API)
-- stopped: one value per name, kept with the inbox it fills.
CREATE TABLE gladly_inbox_cursors (
    name         TEXT    PRIMARY KEY,
    value        TEXT    NOT NULL,
    updated_at   BIGINT  NOT NULL
);
