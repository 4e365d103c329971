-- New executions are announced by the control plane that commits them, no longer by
-- a trigger in every inserting transaction: it wakes its own workers in process and
-- notifies other replicas on the same channel at most once per few milliseconds,
-- however many batches it commits meanwhile.
DROP TRIGGER executions_queued_notify ON executions;
DROP FUNCTION notify_executions_queued();
