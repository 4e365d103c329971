-- Every accepted webhook inserts one executions row per trigger, so each index and
-- constraint on the table is paid for thousands of times a second.
--
-- Dropped:
--
-- * The foreign keys to workflows and webhooks. Each ran a locking look-up of the
--   parent row for every inserted row. Workflows and webhooks are never deleted, and
--   the insert transaction has already read the webhook (under its advisory lock), so
--   the references hold without them.
-- * The unique index on wf_exec_id. The text is made of workflow_id and id, and id is
--   the primary key, so it is unique by construction; look-ups by wf_exec_id decode it
--   and use the primary key instead.
ALTER TABLE executions
    DROP CONSTRAINT executions_workflow_id_fkey,
    DROP CONSTRAINT executions_webhook_id_fkey,
    DROP CONSTRAINT executions_wf_exec_id_key;

-- Ordered by id instead of created_at. Ids are UUIDv7, whose leading 48 bits are the
-- creation time in milliseconds, so the primary key already orders executions by age:
-- retention deletes by id range and needs no index of its own, and the queue and
-- per-workflow listing keep their order with narrower keys.
DROP INDEX executions_created_at_idx;

DROP INDEX executions_queue_idx;
CREATE INDEX executions_queue_idx
    ON executions (id)
    WHERE status IN ('queued', 'leased');

-- Ascending, although executions are listed newest first (a backward scan serves that):
-- new ids then land at the right edge, where PostgreSQL appends without descending the
-- tree and splits pages unevenly so that they stay full.
DROP INDEX executions_workflow_created_at_idx;
CREATE INDEX executions_workflow_idx ON executions (workflow_id, id);
