//! `clicks`: recorded clicks (router hits and `POST /clicks`) and their fraud flags
//! (API.md §3.3).

use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;
use utoipa::ToSchema;

use crate::db::ConnExt;

/// A click to record.
#[derive(Debug, Clone)]
pub struct NewClick<'a> {
    /// Click id (router: a new ULID; `POST /clicks`: the caller's).
    pub id: &'a str,
    /// Link id.
    pub link_id: &'a str,
    /// Link key.
    pub link_key: &'a str,
    /// Partner credited.
    pub partner_id: &'a str,
    /// Program promoted.
    pub program_id: &'a str,
    /// Landing URL.
    pub landing_url: &'a str,
    /// SHA-256 hex of the client address.
    pub ip_hash: Option<&'a str>,
    /// `User-Agent`.
    pub user_agent: Option<&'a str>,
    /// `Referer`.
    pub referer: Option<&'a str>,
    /// `velocity` | `manual` | `revoked`, or none.
    pub fraud_flag: Option<&'a str>,
    /// When the click happened (ISO).
    pub ts: &'a str,
}

/// Records click `k` in the tenant at `now`.
pub fn insert(
    c: &Connection,
    tenant_id: &str,
    k: &NewClick<'_>,
    now: &str,
) -> rusqlite::Result<()> {
    c.exec(
        "INSERT INTO clicks (id, tenant_id, link_id, link_key, partner_id, program_id, landing_url, ip_hash,
            user_agent, referer, fraud_flag, ts, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
        params![
            k.id,
            tenant_id,
            k.link_id,
            k.link_key,
            k.partner_id,
            k.program_id,
            k.landing_url,
            k.ip_hash,
            k.user_agent,
            k.referer,
            k.fraud_flag,
            k.ts,
            now
        ],
    )?;
    Ok(())
}

/// The tenant that owns click `id` (ids are global), if it exists.
pub fn tenant_of(c: &Connection, id: &str) -> rusqlite::Result<Option<String>> {
    c.row("SELECT tenant_id FROM clicks WHERE id = ?1", [id], |r| {
        r.get(0)
    })
    .optional()
}

/// The fraud flag of click `id`: `None` when there is no such click, `Some(None)` when
/// it is not flagged.
pub fn flag_of(
    c: &Connection,
    tenant_id: &str,
    id: &str,
) -> rusqlite::Result<Option<Option<String>>> {
    c.row(
        "SELECT fraud_flag FROM clicks WHERE tenant_id = ?1 AND id = ?2",
        params![tenant_id, id],
        |r| r.get(0),
    )
    .optional()
}

/// Sets (or with `None` clears) the fraud flag of click `id`.
pub fn set_flag(
    c: &Connection,
    tenant_id: &str,
    id: &str,
    flag: Option<&str>,
) -> rusqlite::Result<usize> {
    c.exec(
        "UPDATE clicks SET fraud_flag = ?3 WHERE tenant_id = ?1 AND id = ?2",
        params![tenant_id, id, flag],
    )
}

/// A flagged click in the fraud-review list.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct FlaggedClick {
    /// Click id.
    pub id: String,
    /// `velocity` | `manual` | `revoked`.
    pub fraud_flag: String,
    /// When the click happened.
    pub ts: String,
    /// SHA-256 hex of the client address, or null.
    #[schema(required = true)]
    pub ip_hash: Option<String>,
    /// `User-Agent`, or null.
    #[schema(required = true)]
    pub user_agent: Option<String>,
    /// `Referer`, or null.
    #[schema(required = true)]
    pub referer: Option<String>,
    /// Landing URL, or null.
    #[schema(required = true)]
    pub landing_url: Option<String>,
    /// Partner credited.
    pub partner_id: String,
    /// The partner's name, or null.
    #[schema(required = true)]
    pub partner_name: Option<String>,
    /// Link id.
    pub link_id: String,
    /// Link key.
    pub link_key: String,
}

/// Flagged clicks of the tenant (only `reason` when given), newest first, at most `limit`.
pub fn list_flagged(
    c: &Connection,
    tenant_id: &str,
    reason: Option<&str>,
    limit: i64,
) -> rusqlite::Result<Vec<FlaggedClick>> {
    let mut st = c.prepare_cached(
        "SELECT c.id, c.fraud_flag, c.ts, c.ip_hash, c.user_agent, c.referer, c.landing_url, c.partner_id,
                p.name, c.link_id, c.link_key
         FROM clicks c LEFT JOIN partners p ON p.id = c.partner_id
         WHERE c.tenant_id = ?1 AND c.fraud_flag IS NOT NULL AND (?2 IS NULL OR c.fraud_flag = ?2)
         ORDER BY c.ts DESC, c.id DESC LIMIT ?3",
    )?;
    let rows = st.query_map(params![tenant_id, reason, limit], |r| {
        Ok(FlaggedClick {
            id: r.get(0)?,
            fraud_flag: r.get(1)?,
            ts: r.get(2)?,
            ip_hash: r.get(3)?,
            user_agent: r.get(4)?,
            referer: r.get(5)?,
            landing_url: r.get(6)?,
            partner_id: r.get(7)?,
            partner_name: r.get(8)?,
            link_id: r.get(9)?,
            link_key: r.get(10)?,
        })
    })?;
    rows.collect()
}
