-- Issue 39 dropped two foreign keys on PostgreSQL, whose checks used cached
-- plans that went bad as a table grew. SQLite checks a foreign key through
-- the parent's primary key, always: its keys stay, and this migration
-- keeps the two stores' numbering together.
SELECT 1;
