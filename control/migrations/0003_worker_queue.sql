-- Workers consume executions: a lease hands an execution to one worker until it
-- completes it or the lease runs out, and every commit of new executions wakes the
-- workers that wait for them.

ALTER TABLE executions
    ADD COLUMN lease_owner      text,
    ADD COLUMN lease_expires_at timestamptz,
    ADD COLUMN attempts         int NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    ADD COLUMN completed_at     timestamptz,
    ADD COLUMN failure_reason   text,
    ADD CONSTRAINT executions_status_check
        CHECK (status IN ('queued', 'leased', 'succeeded', 'failed')),
    ADD CONSTRAINT executions_lease_check
        CHECK (status <> 'leased' OR (lease_owner IS NOT NULL AND lease_expires_at IS NOT NULL));

-- The queue: only executions that may still be leased, oldest first. Completed ones
-- leave the index, so it stays as small as the backlog.
CREATE INDEX executions_queue_idx
    ON executions (created_at, id)
    WHERE status IN ('queued', 'leased');

-- One notification per inserting statement rather than per row: a 100 000-line
-- request wakes the workers once. PostgreSQL delivers it when the transaction
-- commits, and not at all when it rolls back.
CREATE FUNCTION notify_executions_queued() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('sluice_executions', '');
    RETURN NULL;
END
$$;

CREATE TRIGGER executions_queued_notify
    AFTER INSERT ON executions
    FOR EACH STATEMENT
    EXECUTE FUNCTION notify_executions_queued();

-- Deduplication of sender retries, per webhook and off by default: a delivery id the
-- sender repeats on every retry maps to the ingress request that first carried it, so
-- a repeat is answered with that request's executions instead of creating new ones.
ALTER TABLE webhooks ADD COLUMN dedup boolean NOT NULL DEFAULT false;

CREATE TABLE execution_dedup_keys (
    webhook_id uuid        NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    -- The sender's delivery id with the name of where it came from, e.g.
    -- `x-github-delivery:0b9d…`.
    dedup_key  text        NOT NULL CHECK (length(dedup_key) <= 512),
    request_id uuid        NOT NULL,
    -- When the key was first seen; past the deduplication window the key is taken
    -- over by the next request that carries it.
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (webhook_id, dedup_key)
);

CREATE INDEX execution_dedup_keys_created_at_idx ON execution_dedup_keys (created_at);
