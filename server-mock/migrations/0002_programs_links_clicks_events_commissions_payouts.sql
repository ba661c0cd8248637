-- Attribution half of the reference server: links, clicks, identities, events,
-- attributions, commissions, payouts, per-partner commission snapshots.
--
-- Conventions of this file:
--   * every time column is TEXT `%Y-%m-%dT%H:%M:%S%.3fZ` (UTC, ms), as in 0001, so it
--     sorts lexicographically and keyset paging compares strings; window arithmetic is
--     done in Rust on epoch milliseconds.
--   * money is TEXT holding an exact decimal string ("40.00"); it is never summed in SQL
--     (SQLite would go through binary floating point) but in Rust with rust_decimal.
--   * weights are TEXT with 4 decimals ("0.3333").

CREATE TABLE IF NOT EXISTS links (
    id              TEXT PRIMARY KEY,
    tenant_id       TEXT NOT NULL,
    link_key        TEXT NOT NULL,
    partner_id      TEXT NOT NULL,
    program_id      TEXT NOT NULL,
    destination_url TEXT,
    created_at      TEXT NOT NULL,
    UNIQUE (tenant_id, link_key)
);
CREATE INDEX IF NOT EXISTS links_partner ON links (tenant_id, partner_id, created_at DESC, id DESC);

CREATE TABLE IF NOT EXISTS clicks (
    id            TEXT PRIMARY KEY,
    tenant_id     TEXT NOT NULL,
    link_id       TEXT NOT NULL,
    link_key      TEXT NOT NULL,
    partner_id    TEXT NOT NULL,
    program_id    TEXT NOT NULL,
    landing_url   TEXT,
    ip_hash       TEXT,
    user_agent    TEXT,
    referer       TEXT,
    fraud_flag    TEXT,
    ts            TEXT NOT NULL,
    created_at    TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS clicks_partner_ts ON clicks (tenant_id, partner_id, ts);
CREATE INDEX IF NOT EXISTS clicks_flagged ON clicks (tenant_id, fraud_flag, ts DESC) WHERE fraud_flag IS NOT NULL;

CREATE TABLE IF NOT EXISTS identities (
    id            TEXT PRIMARY KEY,
    tenant_id     TEXT NOT NULL,
    click_id      TEXT NOT NULL,
    user_id       TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    -- one identity per (click, user); column order serves "clicks of a user" lookups
    UNIQUE (tenant_id, user_id, click_id)
);
CREATE INDEX IF NOT EXISTS identities_click ON identities (click_id);

CREATE TABLE IF NOT EXISTS events (
    id            TEXT PRIMARY KEY,
    tenant_id     TEXT NOT NULL,
    user_id       TEXT NOT NULL,
    type          TEXT NOT NULL,
    value         TEXT NOT NULL,
    currency      TEXT NOT NULL,
    metadata      TEXT,
    ts            TEXT NOT NULL,
    created_at    TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_user ON events (tenant_id, user_id, ts, id);

CREATE TABLE IF NOT EXISTS attributions (
    id            TEXT PRIMARY KEY,
    tenant_id     TEXT NOT NULL,
    event_id      TEXT NOT NULL,
    partner_id    TEXT NOT NULL,
    program_id    TEXT NOT NULL,
    click_id      TEXT NOT NULL,
    model         TEXT NOT NULL,
    weight        TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    UNIQUE (event_id, model, click_id)
);
CREATE INDEX IF NOT EXISTS attributions_partner ON attributions (tenant_id, partner_id, event_id);
CREATE INDEX IF NOT EXISTS attributions_click ON attributions (click_id);

CREATE TABLE IF NOT EXISTS commissions (
    id             TEXT PRIMARY KEY,
    tenant_id      TEXT NOT NULL,
    attribution_id TEXT NOT NULL,
    partner_id     TEXT NOT NULL,
    program_id     TEXT,
    amount         TEXT NOT NULL,
    currency       TEXT NOT NULL,
    status         TEXT NOT NULL,
    holdback_days  INTEGER,
    accrued_at     TEXT NOT NULL,
    mature_at      TEXT,
    paid_at        TEXT,
    payout_id      TEXT
);
-- Keyset paging (accruedAt desc, id desc) with each filter, fast at 1 000 000 rows.
CREATE INDEX IF NOT EXISTS commissions_keyset ON commissions (tenant_id, accrued_at DESC, id DESC);
CREATE INDEX IF NOT EXISTS commissions_status ON commissions (tenant_id, status, accrued_at DESC, id DESC);
CREATE INDEX IF NOT EXISTS commissions_partner ON commissions (tenant_id, partner_id, accrued_at DESC, id DESC);
CREATE INDEX IF NOT EXISTS commissions_program ON commissions (tenant_id, program_id, accrued_at DESC, id DESC);
CREATE INDEX IF NOT EXISTS commissions_attribution ON commissions (attribution_id);

CREATE TABLE IF NOT EXISTS payouts (
    id               TEXT PRIMARY KEY,
    tenant_id        TEXT NOT NULL,
    partner_id       TEXT NOT NULL,
    amount           TEXT NOT NULL,
    currency         TEXT NOT NULL,
    method           TEXT NOT NULL,
    status           TEXT NOT NULL,
    run_id           TEXT NOT NULL,
    commission_count INTEGER NOT NULL,
    created_at       TEXT NOT NULL,
    completed_at     TEXT
);
CREATE INDEX IF NOT EXISTS payouts_partner ON payouts (tenant_id, partner_id, created_at DESC, id DESC);

CREATE TABLE IF NOT EXISTS commission_snapshots (
    partner_id       TEXT PRIMARY KEY,
    tenant_id        TEXT NOT NULL,
    commission_type  TEXT NOT NULL,
    commission_value TEXT NOT NULL,
    recurring        INTEGER NOT NULL DEFAULT 0,
    commission_rules TEXT,
    holdback_days    INTEGER,
    source           TEXT NOT NULL DEFAULT 'amendment',
    snapshotted_at    TEXT NOT NULL
);
