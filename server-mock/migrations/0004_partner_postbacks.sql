-- Partner postbacks (API.md §3.6 "Partner postbacks"): a partner's server-to-server GET
-- callbacks fired on commission events, and the log of their sends.
--
-- Conventions as in 0001: ids are 26-char ULIDs, times TEXT `%Y-%m-%dT%H:%M:%S%.3fZ`,
-- JSON values TEXT holding JSON.

-- One postback of a partner. `url` is the template (≤ 2048 chars, with `{macros}`),
-- `events` a JSON array of 1..10 of commission.accrued|approved|reversed|paid.
CREATE TABLE partner_postbacks (
    id          TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL REFERENCES tenants(id),
    partner_id  TEXT NOT NULL,
    url         TEXT NOT NULL,
    events      TEXT NOT NULL,
    enabled     INTEGER NOT NULL DEFAULT 1,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);
CREATE INDEX partner_postbacks_partner ON partner_postbacks (tenant_id, partner_id, created_at, id);

-- One send of a postback for one event, which is also its one try (postbacks are never
-- retried). The fan-out inserts it `pending` in the job that handles the event; the sender
-- claims it (`sending`), sends it and records the result (`sent` on a 2xx, else
-- `failed`). `url` is the expanded URL (it may carry the partner's own ids, no secrets).
-- UNIQUE (postback_id, event_id): an event fans out to a postback at most once.
CREATE TABLE postback_attempts (
    id               TEXT PRIMARY KEY,
    tenant_id        TEXT NOT NULL,
    postback_id      TEXT NOT NULL,
    event_id         TEXT NOT NULL,
    event_type       TEXT NOT NULL,
    url              TEXT NOT NULL,
    status           TEXT NOT NULL,   -- 'pending' | 'sending' | 'sent' | 'failed'
    http_status      INTEGER,
    error            TEXT,
    response_snippet TEXT,
    duration_ms      INTEGER,
    created_at       TEXT NOT NULL,
    at               TEXT,            -- when the try was made (NULL while pending)
    UNIQUE (postback_id, event_id)
);
CREATE INDEX postback_attempts_postback ON postback_attempts (postback_id, created_at, id);
CREATE INDEX postback_attempts_pending ON postback_attempts (status, created_at) WHERE status IN ('pending', 'sending');
