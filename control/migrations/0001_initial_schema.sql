-- Workflows, their published definitions, their webhooks and API keys, and the
-- executions webhook requests create. Nothing secret is stored: URL secrets are derived
-- from the signing secret and API keys are kept only as salted hashes.

CREATE TABLE workflows (
    id         uuid        PRIMARY KEY,
    title      text        NOT NULL CHECK (btrim(title) <> ''),
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX workflows_created_at_idx ON workflows (created_at DESC, id);

-- Each publish adds a version; the newest is the one that runs.
CREATE TABLE workflow_definitions (
    workflow_id  uuid        NOT NULL REFERENCES workflows (id) ON DELETE CASCADE,
    version      int         NOT NULL CHECK (version > 0),
    definition   jsonb       NOT NULL,
    published_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (workflow_id, version)
);

CREATE TABLE webhooks (
    id                uuid        PRIMARY KEY,
    workflow_id       uuid        NOT NULL UNIQUE REFERENCES workflows (id) ON DELETE CASCADE,
    status            text        NOT NULL DEFAULT 'offline'
                                  CHECK (status IN ('online', 'offline')),
    methods           text[]      NOT NULL DEFAULT '{POST}'
                                  CHECK (cardinality(methods) > 0
                                         AND methods <@ ARRAY['GET', 'POST']::text[]),
    allowlisted_cidrs text[]      NOT NULL DEFAULT '{}',
    include_headers   boolean     NOT NULL DEFAULT false,
    -- Reserved for rotating the URL secret: the derivation will mix it in once
    -- rotation exists, so that older URLs can be retired.
    secret_generation int         NOT NULL DEFAULT 0 CHECK (secret_generation >= 0),
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now()
);

-- At most one key per webhook; generating a new one replaces the row.
CREATE TABLE webhook_api_keys (
    webhook_id   uuid        PRIMARY KEY REFERENCES webhooks (id) ON DELETE CASCADE,
    hash         text        NOT NULL CHECK (hash ~ '^[0-9a-f]{64}$'),
    salt         text        NOT NULL CHECK (length(decode(salt, 'base64')) = 16),
    preview      text        NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_used_at timestamptz,
    revoked_at   timestamptz
);

CREATE TABLE executions (
    -- The execution part of `wf_exec_id`, time-ordered.
    id                 uuid        PRIMARY KEY,
    wf_exec_id         text        NOT NULL UNIQUE,
    workflow_id        uuid        NOT NULL REFERENCES workflows (id),
    webhook_id         uuid        NOT NULL REFERENCES webhooks (id),
    definition_version int         NOT NULL CHECK (definition_version > 0),
    -- NULL when the request carried no payload.
    trigger            jsonb,
    trigger_type       text        NOT NULL DEFAULT 'webhook',
    status             text        NOT NULL DEFAULT 'queued',
    -- The ingress's id of the HTTP request and the position of this execution in it:
    -- a retried request finds the executions it already created instead of adding more.
    request_id         uuid        NOT NULL,
    request_seq        int         NOT NULL CHECK (request_seq > 0),
    client_ip          inet,
    method             text        NOT NULL,
    media_type         text        NOT NULL DEFAULT '',
    received_at        timestamptz NOT NULL,
    created_at         timestamptz NOT NULL DEFAULT now(),
    UNIQUE (request_id, request_seq)
);

CREATE INDEX executions_workflow_created_at_idx
    ON executions (workflow_id, created_at DESC, id DESC);
