-- Recovering a range (`POST /api/v1/webhooks/{id}/recover`) makes failed
-- and cancelled deliveries pending again, each with a schedule of its own
-- from the start: `schedule_from` is how many attempts were made before
-- the schedule in force began (0 until a delivery is recovered). Attempts
-- keep their numbers; the waits between them start again.
ALTER TABLE hub_deliveries ADD COLUMN schedule_from BIGINT NOT NULL DEFAULT 0;
