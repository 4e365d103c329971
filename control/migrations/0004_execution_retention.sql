-- Retention deletes the oldest executions a few thousand at a time; this index lets
-- each batch find them without scanning the table. created_at only grows, so new
-- entries land at the right edge of the index and cost the insert path little.
CREATE INDEX executions_created_at_idx ON executions (created_at);
