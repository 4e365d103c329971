-- Rotation with a grace period, for URL secrets and API keys, and the audit log of
-- every admin change. Still nothing secret is stored: a URL secret is derived from the
-- signing secret and its generation, an API key is kept only as a salted hash.

-- The generation the previous URL was derived from, valid until the instant beside it.
ALTER TABLE webhooks
    ADD COLUMN previous_secret_generation int
        CHECK (previous_secret_generation >= 0),
    ADD COLUMN previous_secret_expires_at timestamptz,
    ADD CONSTRAINT webhooks_previous_secret_complete
        CHECK ((previous_secret_generation IS NULL) = (previous_secret_expires_at IS NULL));

-- The key a rotation replaced, valid until the instant beside it.
ALTER TABLE webhook_api_keys
    ADD COLUMN previous_hash text CHECK (previous_hash ~ '^[0-9a-f]{64}$'),
    ADD COLUMN previous_salt text CHECK (length(decode(previous_salt, 'base64')) = 16),
    ADD COLUMN previous_expires_at timestamptz,
    ADD CONSTRAINT webhook_api_keys_previous_complete
        CHECK ((previous_hash IS NULL) = (previous_expires_at IS NULL)
               AND (previous_hash IS NULL) = (previous_salt IS NULL));

-- One row per admin change, written in the transaction of the change itself. `before`
-- and `after` describe the changed object without any secret.
CREATE TABLE audit_events (
    id          bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    occurred_at timestamptz NOT NULL DEFAULT now(),
    actor       text        NOT NULL,
    actor_role  text,
    action      text        NOT NULL,
    workflow_id uuid,
    before      jsonb,
    after       jsonb
);

CREATE INDEX audit_events_workflow_idx ON audit_events (workflow_id, id DESC);
