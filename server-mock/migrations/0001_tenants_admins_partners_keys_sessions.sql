-- 0001_core: tenants, identity (admins, partners, keys, sessions, magic links),
-- the dev mailbox, the webhook outbox, idempotency records, and the program tables
-- (`programs`, `partner_programs`) that the attribution routes fill.
--
-- Conventions: ids are TEXT (26-char ULIDs unless noted); timestamps are TEXT in
-- `%Y-%m-%dT%H:%M:%S%.3fZ` (UTC, ms) so that they sort lexicographically; JSON values
-- (metadata, scopes, allowed IPs, rules) are TEXT holding JSON.

CREATE TABLE tenants (
    id            TEXT PRIMARY KEY,
    slug          TEXT NOT NULL UNIQUE,
    display_name  TEXT NOT NULL,
    external_id   TEXT UNIQUE,
    created_at    TEXT NOT NULL
);

CREATE TABLE admins (
    id            TEXT PRIMARY KEY,
    tenant_id     TEXT NOT NULL REFERENCES tenants(id),
    email         TEXT NOT NULL,            -- lower-cased
    name          TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL,
    activated_at  TEXT,
    revoked_at    TEXT,
    UNIQUE (tenant_id, email)
);
CREATE INDEX admins_list ON admins (tenant_id, created_at, id);

CREATE TABLE partners (
    id                          TEXT PRIMARY KEY,
    tenant_id                   TEXT NOT NULL REFERENCES tenants(id),
    email                       TEXT NOT NULL,   -- lower-cased
    name                        TEXT NOT NULL,
    external_id                 TEXT,
    stripe_connect_account_id   TEXT,
    metadata                    TEXT NOT NULL DEFAULT '{}',
    created_at                  TEXT NOT NULL,
    updated_at                  TEXT NOT NULL,
    activated_at                TEXT,
    revoked_at                  TEXT,
    revoke_reason               TEXT,
    UNIQUE (tenant_id, email),
    UNIQUE (tenant_id, external_id)
);
-- keyset pagination: newest first, ties broken by id
CREATE INDEX partners_keyset ON partners (tenant_id, created_at DESC, id DESC);

-- API keys of every kind. `prefix` = first 8 chars of the plaintext key; `key_hash` =
-- SHA-256 hex of the whole key. `scopes` / `allowed_ips` are JSON arrays or NULL.
CREATE TABLE api_keys (
    id            TEXT PRIMARY KEY,
    tenant_id     TEXT NOT NULL REFERENCES tenants(id),
    kind          TEXT NOT NULL CHECK (kind IN ('admin', 'scoped', 'partner')),
    partner_id    TEXT REFERENCES partners(id),
    prefix        TEXT NOT NULL,
    key_hash      TEXT NOT NULL UNIQUE,
    label         TEXT,
    scopes        TEXT,
    allowed_ips   TEXT,
    created_at    TEXT NOT NULL,
    last_used_at  TEXT,
    revoked_at    TEXT
);
CREATE INDEX api_keys_prefix ON api_keys (prefix);
CREATE INDEX api_keys_partner ON api_keys (tenant_id, partner_id, created_at);

CREATE TABLE sessions (
    id            TEXT PRIMARY KEY,
    tenant_id     TEXT NOT NULL REFERENCES tenants(id),
    token_hash    TEXT NOT NULL UNIQUE,
    admin_id      TEXT REFERENCES admins(id),
    partner_id    TEXT REFERENCES partners(id),
    created_at    TEXT NOT NULL,
    expires_at    TEXT NOT NULL,
    revoked_at    TEXT,
    last_used_at  TEXT
);
CREATE INDEX sessions_partner ON sessions (partner_id);
CREATE INDEX sessions_admin ON sessions (admin_id);

CREATE TABLE magic_links (
    id            TEXT PRIMARY KEY,
    tenant_id     TEXT NOT NULL REFERENCES tenants(id),
    token_hash    TEXT NOT NULL UNIQUE,
    purpose       TEXT NOT NULL,   -- partner_invite | partner_signin | admin_invite | admin_signin
    admin_id      TEXT REFERENCES admins(id),
    partner_id    TEXT REFERENCES partners(id),
    created_at    TEXT NOT NULL,
    expires_at    TEXT NOT NULL,
    used_at       TEXT
);

-- The dev mailbox (the reference server has no SMTP). Holds plaintext magic tokens on
-- purpose: reading them is what `GET /dev/mailbox` is for.
CREATE TABLE mail (
    seq           INTEGER PRIMARY KEY AUTOINCREMENT,
    id            TEXT NOT NULL UNIQUE,
    tenant_id     TEXT NOT NULL REFERENCES tenants(id),
    to_addr       TEXT NOT NULL,
    subject       TEXT NOT NULL,
    body          TEXT NOT NULL,
    purpose       TEXT NOT NULL,
    token         TEXT,
    url           TEXT,
    created_at    TEXT NOT NULL
);
CREATE INDEX mail_tenant ON mail (tenant_id, seq);

-- Webhook events waiting for the sender (`events::emit`). `id` is `evt_<ULID>`.
CREATE TABLE outbox (
    seq           INTEGER PRIMARY KEY AUTOINCREMENT,
    id            TEXT NOT NULL UNIQUE,
    tenant_id     TEXT NOT NULL REFERENCES tenants(id),
    event_type    TEXT NOT NULL,
    data          TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    dispatched_at TEXT
);
CREATE INDEX outbox_pending ON outbox (dispatched_at, seq);

-- [EXT] Idempotency-Key records. state: 'in_flight' | 'done' | 'secret'.
CREATE TABLE idempotency_keys (
    tenant_id     TEXT NOT NULL,
    credential_id TEXT NOT NULL,
    idem_key      TEXT NOT NULL,
    request_hash  TEXT NOT NULL,
    state         TEXT NOT NULL,
    status        INTEGER,
    content_type  TEXT,
    body          BLOB,
    created_id    TEXT,
    created_at    TEXT NOT NULL,
    expires_at    TEXT NOT NULL,
    PRIMARY KEY (tenant_id, credential_id, idem_key)
);

-- Programs (API.md §3.2). Filled by the programs routes.
CREATE TABLE programs (
    id                          TEXT PRIMARY KEY,
    tenant_id                   TEXT NOT NULL REFERENCES tenants(id),
    name                        TEXT NOT NULL,
    commission_rule             TEXT NOT NULL,              -- JSON array of SubRule
    attribution_window_days     INTEGER NOT NULL DEFAULT 60,
    attribution_model           TEXT NOT NULL DEFAULT 'last_click',
    destination_url             TEXT NOT NULL,
    deep_link_allowed_domains   TEXT,
    holdback_days               INTEGER,
    starts_at                   TEXT,
    ends_at                     TEXT,
    created_at                  TEXT NOT NULL,
    updated_at                  TEXT NOT NULL
);
CREATE INDEX programs_tenant ON programs (tenant_id, created_at, id);

-- Program grants (`pc_<ULID>` ids). grant_source: 'all' (granted because the partner was
-- created without `programIds`, or by `grantToAllPartners`) | 'manual' (explicit ids).
CREATE TABLE partner_programs (
    id            TEXT PRIMARY KEY,
    tenant_id     TEXT NOT NULL REFERENCES tenants(id),
    partner_id    TEXT NOT NULL REFERENCES partners(id),
    program_id    TEXT NOT NULL REFERENCES programs(id),
    grant_source  TEXT NOT NULL,
    granted_at    TEXT NOT NULL,
    UNIQUE (partner_id, program_id)
);
CREATE INDEX partner_programs_program ON partner_programs (program_id);
