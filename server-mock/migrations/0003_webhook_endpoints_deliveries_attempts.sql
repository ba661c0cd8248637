-- Webhooks (API.md §3.6): endpoints, one delivery per (event, endpoint), and the attempt
-- log of each delivery. Filled by `crate::webhooks` from the `outbox` table (0001).
--
-- Conventions as in 0001/0002: ids TEXT (26-char ULIDs), times TEXT
-- `%Y-%m-%dT%H:%M:%S%.3fZ` (UTC, ms, sort lexicographically), JSON values TEXT.

-- `secret` is the whole `whsec_…` string: deliveries are signed with it, so it is kept
-- in plaintext (unlike API keys) and never logged or returned after creation;
-- `secret_prefix` is what listings show. `events` is a JSON array of event types
-- (`*` = all). A soft delete sets `active = 0`; a hard delete removes the row with its
-- deliveries and attempts.
CREATE TABLE webhook_endpoints (
    id            TEXT PRIMARY KEY,
    tenant_id     TEXT NOT NULL REFERENCES tenants(id),
    url           TEXT NOT NULL,
    secret        TEXT NOT NULL,
    secret_prefix TEXT NOT NULL,
    events        TEXT NOT NULL,
    active        INTEGER NOT NULL DEFAULT 1,
    label         TEXT,
    created_at    TEXT NOT NULL,
    last_used_at  TEXT
);
CREATE INDEX webhook_endpoints_tenant ON webhook_endpoints (tenant_id, created_at);

-- One row per (event envelope id `evt_…`, endpoint); the row's own id is a bare ULID.
-- `payload` is the exact body text sent on every attempt. status: pending | delivered |
-- failed. While `pending`, `next_attempt_at` is when the dispatcher sends it next; a
-- pending row with `next_attempt_at` NULL is being sent right now (claimed) — at start-up
-- such rows are made due again, so a crash mid-send resends (at-least-once).
CREATE TABLE webhook_deliveries (
    id              TEXT PRIMARY KEY,
    tenant_id       TEXT NOT NULL REFERENCES tenants(id),
    endpoint_id     TEXT NOT NULL REFERENCES webhook_endpoints(id) ON DELETE CASCADE,
    event_id        TEXT NOT NULL,
    event_type      TEXT NOT NULL,
    payload         TEXT NOT NULL,
    status          TEXT NOT NULL,
    http_status     INTEGER,
    error           TEXT,
    attempts        INTEGER NOT NULL DEFAULT 0,
    created_at      TEXT NOT NULL,
    delivered_at    TEXT,
    last_attempt_at TEXT,
    next_attempt_at TEXT,
    UNIQUE (event_id, endpoint_id)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (status, next_attempt_at);
CREATE INDEX webhook_deliveries_endpoint ON webhook_deliveries (endpoint_id, created_at DESC, id DESC);

-- [EXT] The attempt log: attempt `n` (from 1) of a delivery. trigger: scheduled | manual.
CREATE TABLE webhook_attempts (
    delivery_id      TEXT NOT NULL REFERENCES webhook_deliveries(id) ON DELETE CASCADE,
    n                INTEGER NOT NULL,
    trigger          TEXT NOT NULL,
    http_status      INTEGER,
    error            TEXT,
    response_snippet TEXT,
    duration_ms      INTEGER NOT NULL,
    at               TEXT NOT NULL,
    PRIMARY KEY (delivery_id, n)
);
