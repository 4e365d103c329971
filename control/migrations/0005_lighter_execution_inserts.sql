-- Every accepted webhook inserts one executions row per trigger, so each index and
-- constraint on the table is paid for thousands of times a second. Two are dropped:
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
