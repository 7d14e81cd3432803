-- A relay destination that is not HTTP (issue 35: NATS JetStream) answers
-- with an acknowledgement, not a status: what it said, in a few words
-- (such as "stream GLADLY, sequence 42"), for a successful attempt; NULL
-- for every HTTP attempt.
ALTER TABLE hub_attempts ADD COLUMN ack TEXT;
